"""Posting a reply sends only the statements the write needs: what is nearly always "nothing" (a reply with
this submission key, her draft of it) is read with her sign-in, and its story's author hears of it from the
reply's job, queued with its follow-ups in one statement."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask

from forum.extensions import db
from forum.jobs import worker
from forum.models import Draft, Notification, Reply, Story, User
from tests import factories
from tests.test_query_counts import counted
from tests.test_stories import fresh_login_per_request  # noqa: F401


def _replies(story_id: int) -> list[Reply]:
    return list(db.session.scalars(sa.select(Reply).where(Reply.story_id == story_id).order_by(Reply.id)))


def test_a_reply_with_no_draft_and_a_new_key_sends_no_statement_for_them(
    app: Flask, member: User, other_member: User, monkeypatch
) -> None:
    monkeypatch.setitem(app.config, "JOBS_INLINE", False)  # the jobs run by a worker, as in production
    story = factories.make_story(member)
    elsewhere = factories.make_story(member, title="Another one")
    c = factories.signed_in_client(app, other_member)
    c.post(f"/drafts/reply-{elsewhere.id}", json={"body": "A reply to the other story, not sent yet"})
    url = f"/stories/{story.id}/replies"
    with counted() as statements:
        answer = c.post(url, data={"body": "Hugs, it gets easier.", "submission_key": "k-1"})
    assert answer.status_code == 302
    sent = [s.split()[0:3] for s in statements]
    assert ["DELETE", "FROM", "drafts"] not in sent
    assert not any("submission_key =" in s and s.startswith("SELECT replies") for s in statements)
    assert not any(s.startswith("INSERT INTO notifications") for s in statements)
    assert sum(s.startswith("INSERT INTO jobs") for s in statements) == 1
    assert sum(s.startswith("INSERT INTO replies") for s in statements) == 1
    # Her sign-in, the story, the check before the write, and the write's own three (the reply, the story's
    # counter, its jobs).
    assert len(statements) == 6, [s[:90] for s in statements]
    # The story is read without its vector (3 KB, stored out of line on PostgreSQL): a reply has no use for it.
    assert not any("stories.embedding" in s for s in statements)
    # Her draft of another reply is kept; the story's author is told by the job.
    worker.work_due()
    assert (
        db.session.scalar(sa.select(Draft.key).where(Draft.user_id == other_member.id))
        == f"reply-{elsewhere.id}"
    )
    told = sa.select(Notification.kind).where(
        Notification.user_id == member.id, Notification.reply_id.is_not(None)
    )
    assert list(db.session.scalars(told)) == ["reply"]


def test_a_reply_sent_twice_with_one_key_is_posted_once(app: Flask, member: User, other_member: User) -> None:
    story = factories.make_story(member)
    c = factories.signed_in_client(app, other_member)
    data = {"body": "Sent on a shaky connection.", "submission_key": "k-twice"}
    first = c.post(f"/stories/{story.id}/replies", data=data)
    second = c.post(f"/stories/{story.id}/replies", data=data)
    assert first.status_code == second.status_code == 302 and first.location == second.location
    assert [r.body for r in _replies(story.id)] == ["Sent on a shaky connection."]
    worker.work_due()
    told = sa.select(sa.func.count()).where(Notification.user_id == member.id, Notification.kind == "reply")
    assert db.session.scalar(told) == 1


def test_another_members_submission_key_is_refused_with_her_text_kept(
    app: Flask, member: User, other_member: User
) -> None:
    story = factories.make_story(member)
    factories.signed_in_client(app, member).post(
        f"/stories/{story.id}/replies", data={"body": "My own reply first.", "submission_key": "k-taken"}
    )
    c = factories.signed_in_client(app, other_member)
    answer = c.post(
        f"/stories/{story.id}/replies", data={"body": "Mine, not hers.", "submission_key": "k-taken"}
    )
    assert answer.status_code in (400, 403, 409, 422) and "Mine, not hers." in answer.text
    assert "That form was already used" in answer.text
    assert [r.body for r in _replies(story.id)] == ["My own reply first."]


def test_a_reply_over_the_size_limit_gets_its_error_page(
    app: Flask, member: User, other_member: User
) -> None:
    """Her sign-in reads the form's submission key: a body past the request limit must still be answered with
    the limit's page (status 413), not fail while she is being signed in for it."""
    story = factories.make_story(member)
    c = factories.signed_in_client(app, other_member)
    huge = "é" * (app.config["MAX_FORM_MEMORY_SIZE"] // 2 + 10)
    answer = c.post(f"/stories/{story.id}/replies", data={"body": huge, "submission_key": "k-huge"})
    assert answer.status_code == 413 and "<html" in answer.text.lower()
    assert _replies(story.id) == []


SPAM = (
    "Struggling mums, I found a miracle supplement that fixed my sleep and my mood, "
    "message me for a discount code today."
)


def test_the_same_reply_a_third_time_is_refused_with_its_text_kept(
    app: Flask, member: User, other_member: User
) -> None:
    """The check before the write: her own third identical reply of the day, however it is dressed, is
    refused."""
    story = factories.make_story(member)
    c = factories.signed_in_client(app, other_member)
    text = "It gets easier, I promise: my daughter cried every morning for a month and now runs in."
    dressed = [text, f"**{text.upper()}**", text.replace("cried", "ｃｒｉｅｄ") + "!!"]
    answers = [
        c.post(f"/stories/{story.id}/replies", data={"body": body, "submission_key": f"same-{i}"})
        for i, body in enumerate(dressed)
    ]
    assert [a.status_code for a in answers[:2]] == [302, 302]
    assert "already posted this text several times" in answers[2].text and "ｃｒｉｅｄ" in answers[2].text
    assert len(_replies(story.id)) == 2


def test_a_reply_spam_wave_from_other_accounts_is_held(app: Flask, member: User, other_member: User) -> None:
    story = factories.make_story(member)
    third = factories.make_user(pseudonym="ThirdAccount")
    for person, body in zip(
        (member, other_member, third), (SPAM, SPAM.upper(), SPAM + " Thanks!"), strict=True
    ):
        factories.signed_in_client(app, person).post(f"/stories/{story.id}/replies", data={"body": body})
    statuses = dict(db.session.execute(sa.select(Reply.author_id, Reply.status)).all())
    assert statuses[member.id] == statuses[other_member.id] == "published"
    assert statuses[third.id] == "pending"


def test_the_story_page_reads_its_vector_with_the_story(
    app: Flask, member: User, other_member: User, embed_on_write: None
) -> None:
    """Its similar stories are found by the story's vector: read with the story, not in a statement of its own."""
    story = factories.make_story(
        member, title="Screaming at the gate", body="He screamed don't leave me today."
    )
    assert db.session.scalar(sa.select(Story.embedding).where(Story.id == story.id)) is not None
    db.session.expunge_all()
    c = factories.signed_in_client(app, other_member)
    with counted() as statements:
        assert c.get(f"/stories/{story.id}").status_code == 200
    story_reads = [s for s in statements if s.startswith("SELECT stories.id") and "WHERE stories.id =" in s]
    assert len(story_reads) == 1 and "stories.embedding" in story_reads[0], [s[:90] for s in statements]
    assert not any(s.startswith("SELECT stories.embedding") for s in statements)  # no lazy load of it
