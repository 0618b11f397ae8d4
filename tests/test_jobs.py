"""Background jobs (forum.jobs): queued in the write's transaction, run by workers that claim each job alone,
retried with backoff, kept for an admin when they keep failing. Most tests turn JOBS_INLINE off to see the
queue itself; on PostgreSQL the claim race runs against the real FOR UPDATE SKIP LOCKED."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from forum.extensions import db
from forum.following import services as following
from forum.jobs import queue, worker
from forum.jobs import services as job_services
from forum.models import Job, Notification, SiteSetting, User, utcnow
from forum.stories import services
from tests.factories import make_reply, make_story, make_user, signed_in_client


@pytest.fixture
def queued(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """Jobs wait in the table for a worker, as in production."""
    monkeypatch.setitem(app.config, "JOBS_INLINE", False)


@pytest.fixture
def test_kind() -> Iterator[dict[str, Any]]:
    """A job kind for these tests: it writes a site setting, and fails while `fail` is above zero."""
    state: dict[str, Any] = {"fail": 0, "runs": 0}

    def handler(payload: dict[str, Any]) -> None:
        state["runs"] += 1
        if state["fail"] > 0:
            state["fail"] -= 1
            raise RuntimeError("the mail server said no")
        db.session.merge(SiteSetting(key=payload["key"], value="done"))

    queue.register("test.write", handler)
    yield state
    queue._handlers.pop("test.write", None)


def _jobs() -> list[tuple[str, str]]:
    return sorted(db.session.execute(sa.select(Job.kind, Job.state)).tuples().all())


def _follower_told(user: User) -> int:
    query = sa.select(sa.func.count()).where(
        Notification.user_id == user.id, Notification.kind == "follow_reply"
    )
    return int(db.session.scalar(query) or 0)


def test_a_reply_hands_its_follow_ups_to_the_queue_and_the_worker_does_them(
    app: Flask, queued: None, member: User, other_member: User
) -> None:
    follower = make_user()
    story = make_story(member)
    worker.work_due()
    following.follow_story(follower, story, True)
    reply = make_reply(other_member, story, body="Same here, and it did get easier after a few weeks.")
    # Committed with the reply: its followers, the care check and the moderators' flags wait for a worker.
    assert _jobs() == [
        ("care.check", "queued"),
        ("mail.fan_out_reply", "queued"),
        ("moderation.flags", "queued"),
    ]
    assert _follower_told(follower) == 0
    # The story's author is told by the same job (the parent replying waits for none of it).
    told_author = sa.select(Notification.kind).where(Notification.user_id == member.id)
    assert db.session.scalar(told_author) is None
    result = worker.work_due()
    assert (result.done, result.retrying, result.failed) == (3, 0, 0)
    assert _follower_told(follower) == 1
    assert list(db.session.scalars(told_author)) == ["reply"]
    assert _jobs() == []
    # The fan-out queued again (a reply approved twice, say) tells nobody twice.
    queue.enqueue("mail.fan_out_reply", {"reply_id": reply.id, "tell": {"quoted": None}})
    db.session.commit()
    assert worker.work_due().done == 1
    assert _follower_told(follower) == 1
    assert list(db.session.scalars(told_author)) == ["reply"]


def test_a_story_queues_its_embedding_and_an_edit_queues_it_again(
    app: Flask, queued: None, member: User
) -> None:
    story = make_story(
        member, title="Nights", body="He wakes at three every night and will not settle again."
    )
    assert ("similar.embed", "queued") in _jobs()
    worker.work_due()
    services.edit_story(member, story, title="Nights", body="He wakes at four now, which is a small mercy.")
    assert _jobs() == [("similar.embed", "queued")]
    worker.work_due()
    assert _jobs() == []


def test_a_write_that_is_refused_or_rolled_back_leaves_no_job(
    app: Flask, queued: None, member: User, test_kind: dict[str, Any]
) -> None:
    queue.enqueue("test.write", {"key": "never"})
    db.session.rollback()
    story = make_story(member)
    worker.work_due()
    with pytest.raises(Exception):  # noqa: B017 - whichever refusal: an empty reply is refused
        services.add_reply(member, story, body="")
    db.session.rollback()
    assert _jobs() == []
    assert worker.work_due().done == 0


def test_a_failing_job_is_retried_with_backoff_and_kept_after_its_last_attempt(
    app: Flask, queued: None, admin: User, test_kind: dict[str, Any]
) -> None:
    test_kind["fail"] = 100
    queue.enqueue("test.write", {"key": "k"})
    db.session.commit()
    assert worker.work_due().retrying == 1
    job = db.session.scalars(sa.select(Job)).one()
    assert (job.state, job.attempts, job.last_error) == ("queued", 1, "RuntimeError: the mail server said no")
    assert job.run_at > utcnow() + timedelta(seconds=20)  # not again at once
    assert worker.work_due().done == 0  # not due yet
    later = utcnow()
    for attempt in range(2, worker.MAX_ATTEMPTS + 1):
        later += worker.backoff(attempt) + timedelta(hours=1)
        worker.work_due(now=later)
    db.session.expire_all()
    job = db.session.scalars(sa.select(Job)).one()
    assert (job.state, job.attempts) == ("failed", worker.MAX_ATTEMPTS)
    assert worker.work_due(now=later + timedelta(days=1)).done == 0  # a failed job waits for a person
    # An admin sees it on the team page and sends it round again.
    client = signed_in_client(app, admin)
    page = client.get("/moderation/team").get_data(as_text=True)
    assert "test.write" in page and "the mail server said no" in page
    test_kind["fail"] = 0
    answer = client.post("/moderation/team/jobs/retry", data={"job_id": str(job.id)})
    assert answer.status_code == 302
    assert worker.work_due().done == 1
    assert db.session.get(SiteSetting, "k").value == "done"  # type: ignore[union-attr]
    assert _jobs() == []


def test_a_worker_whose_lease_ran_out_does_not_finish_the_job_another_worker_took(
    app: Flask, queued: None, test_kind: dict[str, Any]
) -> None:
    queue.enqueue("test.write", {"key": "slow"})
    db.session.commit()
    first = worker.claim()
    assert first is not None and worker.claim() is None  # held: nobody else gets it
    lease = app.config["JOBS_LEASE_SECONDS"]
    second = worker.claim(now=utcnow() + timedelta(seconds=lease + 1))  # the first worker looks dead
    assert second is not None and second.id == first.id and second.token != first.token
    result = worker.Result()
    worker.run_claimed(first, result)  # the first one wakes up and finishes its run: not counted
    assert result.lost == 1
    assert db.session.get(SiteSetting, "slow") is None  # its writes were rolled back with it
    worker.run_claimed(second, result)
    assert result.done == 1
    assert _jobs() == []


def test_two_workers_claiming_at_once_never_take_the_same_job(
    app: Flask, queued: None, test_kind: dict[str, Any]
) -> None:
    for n in range(30):
        queue.enqueue("test.write", {"key": f"race-{n}"})
    db.session.commit()
    taken: list[list[int]] = [[], []]
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def work(mine: list[int]) -> None:
        try:
            with app.app_context():  # its own session and connection, as another process has
                start.wait()
                while (job := worker.claim()) is not None:
                    mine.append(job.id)
                db.session.remove()
        except BaseException as error:  # noqa: BLE001 - reported by the main thread
            errors.append(error)

    threads = [threading.Thread(target=work, args=(mine,)) for mine in taken]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert sorted(taken[0] + taken[1]) == sorted(db.session.scalars(sa.select(Job.id)))
    assert not set(taken[0]) & set(taken[1])


def test_inline_jobs_run_right_after_the_commit(app: Flask, member: User, other_member: User) -> None:
    """JOBS_INLINE (the tests' default, or a site without a worker): the same jobs, run at once."""
    follower = make_user()
    story = make_story(member)
    following.follow_story(follower, story, True)
    make_reply(other_member, story)
    assert _follower_told(follower) == 1
    assert _jobs() == []


def test_jobs_commands(app: Flask, queued: None, runner: Any, test_kind: dict[str, Any]) -> None:
    test_kind["fail"] = 100
    queue.enqueue("test.write", {"key": "cli"})
    db.session.commit()
    assert "retrying=1" in runner.invoke(args=["jobs", "work"]).output
    db.session.execute(sa.update(Job).values(state="failed"))
    db.session.commit()
    status = runner.invoke(args=["jobs", "status"]).output
    assert "failed=1" in status and "test.write" in status
    assert "1 job(s) queued again" in runner.invoke(args=["jobs", "retry", "--all"]).output
    assert job_services.counts()["queued"] == 1


def test_the_landing_after_posting_leads_with_similar_stories_before_the_embedding_job_ran(
    app: Flask, member: User, other_member: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "SIMILAR_EMBED_ON_WRITE", True)
    app.extensions.pop("similar_index", None)
    services.publish_story(
        other_member, title="Clinging at the door", body="My son clings and sobs at nursery drop-off."
    )
    monkeypatch.setitem(app.config, "JOBS_INLINE", False)
    author = signed_in_client(app, member)
    posted = author.post(
        "/stories/new", data={"title": "Left him crying", "body": "He screamed at nursery drop-off."}
    )
    assert _jobs().count(("similar.embed", "queued")) == 1  # her vector waits for a worker
    landing = author.get(posted.location).get_data(as_text=True).replace("&#39;", "'")
    assert "You're not alone." in landing and "Clinging at the door" in landing
    app.extensions.pop("similar_index", None)
