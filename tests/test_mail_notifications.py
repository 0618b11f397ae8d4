"""Notification mail: the transactional outbox, delivery over real SMTP, settings, quiet hours, coalescing,
the hourly cap, one-click unsubscribe, confirmation, retries and a sender that dies mid-send."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from flask import Flask

from forum.extensions import db
from forum.jobs.worker import work_due
from forum.models import Job, MailOutbox, MailPreference, Notification, Reply, User
from forum.notifications import services as notes
from forum.notifications.mail import kinds as K
from forum.notifications.mail import prefs as P
from forum.notifications.mail import render as R
from forum.notifications.mail import sender
from forum.notifications.services import TELL_OF_REPLY_JOB
from forum.stories import lifecycle, services
from tests import factories
from tests.mailsink import smtp_sink

LONDON = ZoneInfo("Europe/London")


def local(day_offset: int, hour: int, minute: int = 0) -> datetime:
    """A frozen clock: a London wall-clock time some days from now (always after anything queued now)."""
    day = datetime.now(LONDON).date() + timedelta(days=day_offset)
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=LONDON)


def confirmed(user: User) -> User:
    prefs = P.get_for_update(user.id)
    prefs.verified_email = user.email
    db.session.commit()
    return user


def fan_out_jobs() -> list[Job]:
    return list(db.session.scalars(sa.select(Job).where(Job.kind == TELL_OF_REPLY_JOB)))


def rows(user: User | None = None, kind: str | None = None) -> list[MailOutbox]:
    """Outbox rows (without the confirmation mails that every new member gets, unless asked for)."""
    query = sa.select(MailOutbox).order_by(MailOutbox.id)
    if kind != K.VERIFY:
        query = query.where(MailOutbox.kind != K.VERIFY)
    if user is not None:
        query = query.where(MailOutbox.user_id == user.id)
    if kind is not None:
        query = query.where(MailOutbox.kind == kind)
    return list(db.session.scalars(query))


@pytest.fixture
def smtp(app: Flask, monkeypatch: pytest.MonkeyPatch):
    with smtp_sink() as (sink, port):
        monkeypatch.setitem(app.config, "MAIL_SERVER", "127.0.0.1")
        monkeypatch.setitem(app.config, "MAIL_PORT", port)
        yield sink


@pytest.fixture
def parents(app: Flask) -> tuple[User, User]:
    a = confirmed(factories.make_user(pseudonym="AlexMum"))
    b = confirmed(factories.make_user(pseudonym="BeaDad"))
    return a, b


def text_of(message) -> str:  # noqa: ANN001
    return message.get_body(preferencelist=("plain",)).get_content()


def test_a_reply_reaches_the_story_author_over_smtp_with_excerpt_link_and_unsubscribe(smtp, parents, client):
    a, b = parents
    story = factories.make_story(a, title="Drop-off tears")
    reply = factories.make_reply(b, story, body="It took us three weeks, then one day she waved.\n\nHang on.")
    (row,) = rows(a, K.REPLIES)
    assert row.state == "queued" and row.payload["notifications"]

    result = sender.deliver_due(local(1, 12))
    assert result.sent >= 1
    (message,) = [m for m in smtp.wait_for(1) if m["To"] == a.email]
    assert message["Subject"] == "BeaDad replied to your story “Drop-off tears”"
    text = text_of(message)
    assert "It took us three weeks, then one day she waved. Hang on." in text
    link = re.search(r"Read the reply: (\S+)", text).group(1)
    assert link.endswith(f"/stories/{story.id}#reply-{reply.id}")
    html = message.get_body(preferencelist=("html",)).get_content()
    assert f"#reply-{reply.id}" in html and "three weeks" in html
    assert message["Message-ID"] == row.message_id
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe = message["List-Unsubscribe"].strip("<>")
    assert "/settings/mail" in text

    # RFC 8058: the mail provider POSTs without any cookie; that kind of mail is off, others are not.
    path = unsubscribe.split("://", 1)[1].split("/", 1)[1]
    assert client.post("/" + path, data={"List-Unsubscribe": "One-Click"}).status_code == 200
    prefs = db.session.get(MailPreference, a.id)
    db.session.refresh(prefs)
    assert P.mode(prefs, K.REPLIES) == K.OFF and P.mode(prefs, K.QUOTES) == K.NOW
    factories.make_reply(b, story, body="One more thought for you.")
    assert len(rows(a, K.REPLIES)) == 1


def test_the_unsubscribe_page_asks_before_a_get_changes_anything(client, parents):
    a, _ = parents
    token = R.unsubscribe_token(a.id, K.REPLIES)
    page = client.get(f"/mail/unsubscribe/{token}")
    assert page.status_code == 200 and "Turn it off" in page.text
    assert P.mode(P.get(a.id), K.REPLIES) == K.NOW
    assert client.get("/mail/unsubscribe/forged.token").status_code == 400
    assert client.post(f"/mail/unsubscribe/{token[:-2]}xx").status_code == 400


def test_the_reply_mail_is_decided_by_a_job_written_in_the_reply_transaction(app, parents, monkeypatch):
    """The parent replying never waits for the story author's notification or mail: the reply's fan-out job,
    committed with the reply (or rolled back with it), writes the author's notification and queues its
    message, once."""
    monkeypatch.setitem(app.config, "JOBS_INLINE", False)
    a, b = parents
    story = factories.make_story(a)
    before = len(rows())
    reply = Reply(story_id=story.id, author_id=b.id, body="Rolled back", body_html="", status="published")
    db.session.add(reply)
    notes.notify(a.id, notes.REPLY, actor=b, story=story, reply=reply)
    db.session.flush()
    db.session.rollback()
    assert len(rows()) == before and not fan_out_jobs()  # nothing left of the rolled-back reply

    reply = factories.make_reply(b, story, body="Thinking of you both.")
    (job,) = fan_out_jobs()
    assert job.payload == {"reply_id": reply.id, "tell": {"quoted": None}}
    told = sa.select(Notification).where(Notification.reply_id == reply.id)
    assert not list(db.session.scalars(told)) and len(rows()) == before  # none of it in the request
    job_id = job.id
    assert work_due(ids=[job_id]).done == 1
    (note,) = db.session.scalars(told)
    assert (note.user_id, note.kind, note.created_at) == (a.id, notes.REPLY, reply.created_at)
    (row,) = rows(a, K.REPLIES)
    assert row.payload["notifications"] == [note.id]
    assert work_due(ids=[job_id]).done == 0 and len(rows(a, K.REPLIES)) == 1  # once
    assert len(list(db.session.scalars(told))) == 1


def test_a_held_reply_approved_later_mails_the_story_author_then_and_once(parents):
    a, b = parents
    reply = factories.make_reply(b, factories.make_story(a), body="Held for a moderator at first.")
    lifecycle.set_status(reply, "pending")
    lifecycle.commit()
    # Approved from the queue: a new notification, its mail decided by the job the approval queues.
    lifecycle.set_status(reply, "published")
    lifecycle.commit()
    (note,) = db.session.scalars(
        sa.select(Notification)
        .where(Notification.reply_id == reply.id)
        .order_by(Notification.id.desc())
        .limit(1)
    )
    told = [row for row in rows(a, K.REPLIES) if note.id in row.payload["notifications"]]
    assert len(told) == 1


def test_a_reply_hidden_before_its_job_ran_mails_nobody(app, parents, monkeypatch):
    monkeypatch.setitem(app.config, "JOBS_INLINE", False)
    a, b = parents
    reply = factories.make_reply(b, factories.make_story(a), body="Soon hidden.")
    lifecycle.set_status(reply, "hidden")
    lifecycle.commit()
    work_due()
    assert not rows(a, K.REPLIES)


def test_several_replies_within_minutes_become_one_message(smtp, parents):
    a, b = parents
    c = confirmed(factories.make_user(pseudonym="CaraMum"))
    story = factories.make_story(a, title="Bedtime battles")
    for author, body in (
        (b, "First idea: a sticker chart."),
        (c, "Second: same time every night."),
        (b, "Third!"),
    ):
        factories.make_reply(author, story, body=body)
    (row,) = rows(a, K.REPLIES)
    assert len(row.payload["notifications"]) == 3
    sender.deliver_due(local(1, 12))
    (message,) = [m for m in smtp.wait_for(1) if m["To"] == a.email]
    assert message["Subject"] == "3 new replies to your story"
    text = text_of(message)
    assert "sticker chart" in text and "same time every night" in text and "Third!" in text


def test_quiet_hours_hold_a_message_until_morning_in_her_time_zone(smtp, parents):
    a, b = parents
    story = factories.make_story(a)
    factories.make_reply(b, story, body="Sending love tonight.")
    late = local(1, 22, 30)
    assert sender.deliver_due(late).deferred == 1
    (row,) = rows(a, K.REPLIES)
    assert row.state == "queued" and row.attempts == 0
    assert row.due_at == local(2, 8).astimezone(row.due_at.tzinfo)
    assert sender.deliver_due(local(2, 7, 59)).sent == 0
    assert not [m for m in smtp.messages if m["To"] == a.email]
    assert sender.deliver_due(local(2, 8, 1)).sent == 1
    assert len([m for m in smtp.wait_for(1) if m["To"] == a.email]) == 1


def test_quiet_hours_follow_the_members_own_zone():
    prefs = MailPreference(
        user_id=1, kinds={}, timezone="America/New_York", quiet_start=21 * 60, quiet_end=8 * 60
    )
    new_york = ZoneInfo("America/New_York")
    day = datetime(2026, 6, 1, tzinfo=new_york)
    at_nine_london = datetime(2026, 6, 1, 9, 0, tzinfo=LONDON)  # 04:00 in New York: quiet
    assert P.next_send_time(prefs, at_nine_london) == datetime(2026, 6, 1, 8, 0, tzinfo=new_york)
    noon = day.replace(hour=12)
    assert P.next_send_time(prefs, noon) == noon
    prefs.quiet_start = prefs.quiet_end = 0  # no quiet hours
    assert P.next_send_time(prefs, at_nine_london) == at_nine_london


def test_the_hourly_cap_defers_the_rest(app, smtp, parents, monkeypatch):
    monkeypatch.setitem(app.config, "MAIL_HOURLY_CAP", 2)
    a, b = parents
    for n in range(3):
        story = factories.make_story(
            a, title=f"Story {n}", body=f"Story number {n}: the nursery gate again today."
        )
        factories.make_reply(b, story, body=f"Reply number {n} from me")
    noon = local(1, 12)
    result = sender.deliver_due(noon)
    assert result.sent == 2
    waiting = [r for r in rows(a, K.REPLIES) if r.state == "queued"]
    assert len(waiting) == 1 and waiting[0].due_at > noon
    assert sender.deliver_due(noon + timedelta(minutes=61)).sent == 1


def test_hidden_replies_are_never_sent_and_anonymous_authors_stay_anonymous(smtp, parents):
    a, b = parents
    story = factories.make_story(b, title="Secret", anonymous=True)
    factories.make_reply(a, story, body="Thinking of you.")
    own = factories.make_reply(b, story, body="Thank you, it means a lot.")  # the anonymous author replies
    hidden_story = factories.make_story(
        a, title="Another", body="A different night, the same worry about sleep."
    )
    hidden = factories.make_reply(b, hidden_story, body="Something that will be hidden")
    lifecycle.set_status(hidden, "hidden")
    lifecycle.commit()
    sender.deliver_due(local(1, 12))
    to_a = [m for m in smtp.wait_for(1) if m["To"] == a.email]
    texts = " ".join(text_of(m) + m["Subject"] for m in to_a)
    assert "BeaDad" not in texts and "will be hidden" not in texts
    cancelled = [r for r in rows(a) if r.state == "cancelled"]
    assert cancelled  # the hidden reply's message had nothing left
    # B's own reply on her anonymous story notified A only because A follows it (replied): in the digest.
    notes = db.session.scalars(sa.select(Notification).where(Notification.reply_id == own.id)).all()
    assert [n.kind for n in notes] == ["follow_reply"]
    a_prefs = P.get_for_update(a.id)
    a_prefs.kinds = {K.FOLLOWED: K.NOW}
    db.session.commit()
    factories.make_reply(b, story, body="Another word from the anonymous author.")
    sender.deliver_due(local(1, 12, 10))
    latest = [m for m in smtp.wait_for(2) if m["To"] == a.email][-1]
    assert "Anonymous parent (who shared this story)" in latest["Subject"]
    assert "BeaDad" not in text_of(latest)


def test_content_noted_stories_are_named_by_their_note(smtp, parents):
    a, b = parents
    story = factories.make_story(a, title="Our loss", content_note="baby-loss")
    factories.make_reply(b, story, body="> Our loss was so sudden\n\nI'm so sorry.")
    sender.deliver_due(local(1, 12))
    (message,) = [m for m in smtp.wait_for(1) if m["To"] == a.email]
    text = text_of(message)
    assert "Our loss" not in message["Subject"] + text
    assert "content note “Baby loss”" in message["Subject"]
    assert "so sudden" not in text and "I'm so sorry." in text


def test_nothing_is_sent_until_the_address_is_confirmed_and_again_after_a_change(app, smtp, client):
    a = factories.make_user(pseudonym="NewMum")
    b = confirmed(factories.make_user(pseudonym="Helper"))
    (verify,) = rows(a, K.VERIFY)
    story = factories.make_story(a)
    factories.make_reply(b, story, body="Welcome to Village!")
    assert rows(a, K.REPLIES) == []  # not confirmed: no notification mail is even queued
    sender.deliver_due(local(1, 12))
    (message,) = [m for m in smtp.wait_for(1) if m["To"] == a.email]
    assert message["Subject"] == "Please confirm your email for Village"
    assert "List-Unsubscribe" not in message
    link = re.search(r"Confirm my email: (\S+)", text_of(message)).group(1)
    assert client.get("/" + link.split("/", 3)[3]).status_code == 200
    assert P.is_verified(a, P.get(a.id))
    factories.make_reply(b, story, body="Now you'll hear from us.")
    assert len(rows(a, K.REPLIES)) == 1

    a.email = "changed@example.test"
    db.session.commit()
    assert not P.is_verified(a, P.get(a.id))
    assert rows(a, K.VERIFY)[-1].payload == {"email": "changed@example.test"}
    assert client.get("/" + link.split("/", 3)[3]).status_code == 400  # the old address's link is dead


def test_settings_page_saves_kinds_zone_and_quiet_hours(app, parents):
    a, _ = parents
    c = factories.signed_in_client(app, a)
    page = c.get("/settings/mail")
    assert page.status_code == 200 and "Replies to my stories" in page.text
    answer = c.post(
        "/settings/mail",
        data={
            "kind_replies": "digest",
            "kind_followed": "off",
            "kind_quotes": "now",
            "kind_reminders": "now",
            "kind_moderation": "now",
            "digest": "weekly",
            "timezone": "Australia/Sydney",
            "quiet_start": "22:00",
            "quiet_end": "07:00",
        },
    )
    assert answer.status_code == 302
    prefs = db.session.get(MailPreference, a.id)
    db.session.refresh(prefs)
    assert (P.mode(prefs, K.REPLIES), prefs.digest, prefs.timezone) == (
        "digest",
        "weekly",
        "Australia/Sydney",
    )
    assert (prefs.quiet_start, prefs.quiet_end, prefs.follow_replied) == (22 * 60, 7 * 60, False)
    bad = c.post(
        "/settings/mail",
        data={
            "kind_replies": "now",
            "digest": "daily",
            "timezone": "Mars/Olympus",
            "quiet_start": "21:00",
            "quiet_end": "08:00",
            "kind_followed": "now",
            "kind_quotes": "now",
            "kind_reminders": "now",
            "kind_moderation": "now",
        },
    )
    assert bad.status_code == 200 and "Please pick a time zone" in bad.text


def test_a_failed_send_is_retried_with_backoff_and_recorded(app, parents, monkeypatch):
    a, b = parents
    story = factories.make_story(a)
    factories.make_reply(b, story, body="Hope today is kinder.")
    noon = local(1, 12)

    def refuse(message):  # noqa: ANN001
        raise ConnectionRefusedError("mail server down")

    result = sender.deliver_due(noon, transport=refuse)
    assert result.retrying >= 1
    (row,) = rows(a, K.REPLIES)
    assert row.state == "queued" and row.attempts == 1 and "mail server down" in row.last_error
    assert row.due_at == noon + timedelta(minutes=1)
    sender.deliver_due(noon + timedelta(minutes=2), transport=refuse)
    db.session.refresh(row)
    assert row.attempts == 2 and row.due_at == noon + timedelta(minutes=2) + timedelta(minutes=2)
    row.attempts = sender.MAX_ATTEMPTS - 1
    db.session.commit()
    sender.deliver_due(noon + timedelta(hours=1), transport=refuse)
    db.session.refresh(row)
    assert row.state == "failed"


def test_a_sender_dying_between_accept_and_mark_resends_the_same_message_id(app, smtp, parents, monkeypatch):
    a, b = parents
    story = factories.make_story(a)
    factories.make_reply(b, story, body="You are doing great.")
    noon = local(1, 12)

    def die(row):  # noqa: ANN001
        raise KeyboardInterrupt  # killed after the SMTP server accepted, before the row was marked sent

    monkeypatch.setattr(sender, "_after_send_hook", die)
    with pytest.raises(KeyboardInterrupt):
        while True:
            sender.deliver_due(noon)
    db.session.rollback()
    monkeypatch.setattr(sender, "_after_send_hook", lambda row: None)
    stuck = [r for r in rows() if r.state == "sending"]
    assert len(stuck) == 1
    assert sender.deliver_due(noon + timedelta(minutes=1)).sent == 0  # the lease still holds
    sender.deliver_due(noon + timedelta(minutes=10))
    delivered = [m["Message-ID"] for m in smtp.messages if m["Message-ID"] == stuck[0].message_id]
    assert len(delivered) == 2 and len(set(delivered)) == 1  # at least once, and recognisably the same
    assert all(r.state == "sent" for r in rows())


def test_sigkill_mid_run_never_duplicates_a_message(app, db_url, tmp_path: Path, parents, monkeypatch):
    """A real `flask mail deliver` process, SIGKILLed while the SMTP server holds its second message; the next
    run finishes the job: every message arrives once, or (in the accept-to-mark window) twice with the same
    Message-ID."""
    a, b = parents
    for n in range(3):
        story = factories.make_story(a, title=f"Night {n}", body=f"Night {n} of waking every hour, so tired.")
        factories.make_reply(b, story, body=f"Reply {n} with love")
    wanted = {r.message_id for r in rows() if r.state == "queued"}
    # Make them due now (the frozen clock is not available to a subprocess).
    db.session.execute(sa.update(MailOutbox).values(due_at=datetime.now(LONDON) - timedelta(minutes=1)))
    prefs = P.get_for_update(a.id)
    prefs.quiet_start = prefs.quiet_end = 0
    db.session.commit()
    with smtp_sink() as (sink, port):
        env = {
            **os.environ,
            "DATABASE_URL": db_url,
            "VILLAGE_INSTANCE_PATH": str(tmp_path),
            "SECRET_KEY": app.config["SECRET_KEY"],
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": str(port),
            "MAIL_LEASE_SECONDS": "2",
        }
        command = [sys.executable, "-m", "flask", "--app", "wsgi", "mail", "deliver"]
        root = Path(__file__).resolve().parent.parent
        first = subprocess.Popen(command, env=env, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            sink.wait_for(1, timeout=60)
            sink.stall.set()  # hold the next message inside DATA
            sink.received.clear()
            assert sink.received.wait(60)
            first.send_signal(signal.SIGKILL)
            first.wait(10)
        finally:
            if first.poll() is None:
                first.kill()
        sink.stall.clear()
        time.sleep(2.5)  # the dead sender's lease runs out
        second = subprocess.run(command, env=env, cwd=root, capture_output=True, timeout=120)
        assert second.returncode == 0, second.stderr.decode()[-2000:]
        received = [m["Message-ID"] for m in sink.wait_for(len(wanted))]
    db.session.expire_all()
    assert all(r.state == "sent" for r in rows())
    assert set(received) >= wanted
    for message_id in wanted:
        assert 1 <= received.count(message_id) <= 2


def test_reset_mail_link_is_not_split_by_quoted_printable(client, member):
    from forum.mail import build_message

    link = "http://localhost/reset/" + "x" * 120
    message = build_message("a@example.test", "Reset", f"Choose a new password here:\n\n{link}\n")
    assert link in message.as_string()
    assert "quoted-printable" not in message.as_string()


def test_reactions_never_mail_at_once_but_reach_the_digest(smtp, parents):
    a, b = parents
    story = factories.make_story(a, title="Sleepless")
    services.set_reaction(b, kind="hugs", on=True, story=story)
    assert rows(a, K.REPLIES) == [] and [r.kind for r in rows(a)] == []
    prefs = P.get_for_update(a.id)
    prefs.last_digest_at = local(0, 0) - timedelta(days=2)
    db.session.commit()
    sender.deliver_due(local(1, 12))
    (digest,) = [m for m in smtp.wait_for(1) if m["To"] == a.email]
    assert digest["Subject"] == "Your Village digest"
    assert "1 parent sent support on your story “Sleepless”" in text_of(digest)


def test_following_a_story_by_replying_and_the_in_site_card(app, parents):
    a, b = parents
    c = confirmed(factories.make_user(pseudonym="CaraMum"))
    story = factories.make_story(a, title="Potty training")
    factories.make_reply(c, story, body="We tried the naked weekend method.")
    later = factories.make_reply(b, story, body="Stickers worked for us.")
    (note,) = db.session.scalars(sa.select(Notification).where(Notification.user_id == c.id)).all()
    assert (note.kind, note.reply_id) == ("follow_reply", later.id)
    assert rows(c) == []  # followed stories come in the digest by default
    page = factories.signed_in_client(app, c).get("/notifications")
    assert "BeaDad</strong> replied in “Potty training”" in page.text
    assert f"#reply-{later.id}" in page.text and "/settings/mail" in page.text


def test_changing_the_address_needs_the_password_and_a_new_confirmation(app, parents, smtp):
    a, b = parents
    c = factories.signed_in_client(app, a)
    data = {"email": "new.alex@example.test", "password": "wrong password"}
    assert "That password isn&#39;t right" in c.post("/settings/mail/email", data=data).text
    taken = {"email": b.email, "password": factories.DEFAULT_PASSWORD}
    assert "An account already uses this email" in c.post("/settings/mail/email", data=taken).text
    data["password"] = factories.DEFAULT_PASSWORD
    assert c.post("/settings/mail/email", data=data).status_code == 302
    db.session.refresh(a)
    assert a.email == "new.alex@example.test" and not P.is_verified(a, P.get(a.id))
    story = factories.make_story(a)
    factories.make_reply(b, story, body="Hello at your new address!")
    assert rows(a, K.REPLIES) == []  # nothing until the new address is confirmed
    sender.deliver_due(local(1, 12))
    (message,) = [m for m in smtp.wait_for(1) if m["To"] == "new.alex@example.test"]
    assert message["Subject"] == "Please confirm your email for Village"
    link = re.search(r"Confirm my email: (\S+)", text_of(message)).group(1)
    assert c.get("/" + link.split("/", 3)[3]).status_code == 200
    assert P.is_verified(a, P.get(a.id))


def test_a_named_block_keeps_the_blocked_members_reply_out_of_mail_on_an_anonymous_story(smtp, parents):
    from forum.models import Block

    a, b = parents
    story = factories.make_story(a, title="Anonymous one", anonymous=True)
    db.session.add(Block(blocker_id=a.id, blocked_id=b.id))
    db.session.commit()
    factories.make_reply(b, story, body="A reply from someone she blocked.")
    sender.deliver_due(local(1, 12))
    assert not [m for m in smtp.wait_for(1, timeout=1) if m["To"] == a.email]
    assert [r.state for r in rows(a, K.REPLIES)] in ([], ["cancelled"])


def test_deleting_the_account_removes_her_address_follows_visits_and_mail(app, parents):
    from forum.auth.services import delete_account
    from forum.models import Follow, StoryVisit

    a, b = parents
    story = factories.make_story(b, title="Someone else's")
    factories.make_reply(a, story, body="Following this one now.")
    factories.signed_in_client(app, a).get(f"/stories/{story.id}")
    own = factories.make_story(a, title="Mine", body="My own story, soon gone with my account.")
    factories.make_reply(b, own, body="A reply that queues a message.")
    address = a.email
    assert rows(a) and db.session.get(MailPreference, a.id).verified_email == address
    delete_account(a, password=factories.DEFAULT_PASSWORD, keep_stories=True)
    for model in (MailPreference, MailOutbox, Follow, StoryVisit):
        assert (
            db.session.scalar(sa.select(sa.func.count()).select_from(model).where(model.user_id == a.id)) == 0
        )
    assert (
        db.session.scalar(
            sa.select(MailOutbox.id).where(MailOutbox.payload.cast(sa.String).contains(address))
        )
        is None
    )


def test_a_welfare_alert_reaches_an_on_duty_moderator_through_her_quiet_hours(app, smtp, parents):
    """Being on duty is the choice: a welfare report is not held until morning like other mail."""
    from forum.moderation import alerts

    a, b = parents
    moderator = confirmed(factories.make_user(pseudonym="NightMod", role="moderator"))
    story = factories.make_story(a, title="Late night")
    factories.make_flag(b, story, reason="at-risk")  # a welfare report alerts on-duty moderators at once
    assert alerts.queue_moderator_digest() == 1  # an ordinary message for the same moderator
    db.session.commit()
    night = local(1, 23, 30)  # inside the default quiet hours, 21:00-08:00
    result = sender.deliver_due(night)
    # The welfare alert goes now; the ordinary count waits for the morning.
    assert result.sent == 1 and result.deferred == 1
    (message,) = [m for m in smtp.wait_for(1) if m["To"] == moderator.email]
    assert "welfare report" in text_of(message) and "AlexMum" not in text_of(message)
