"""Notifications: replies, quotes, grouped reactions, update reminders, unread count and marking read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from flask import Flask

from forum.extensions import db
from forum.models import Notification, UpdateReminder, User
from forum.notifications import services as notes
from forum.stories import reminders, services
from tests import factories
from tests.test_stories import fresh_login_per_request  # noqa: F401


def kinds_for(user: User) -> list[str]:
    return list(
        db.session.scalars(
            sa.select(Notification.kind).where(Notification.user_id == user.id).order_by(Notification.id)
        )
    )


def test_reply_notifies_the_story_author_but_never_yourself(member: User, other_member: User) -> None:
    story = factories.make_story(member)
    services.add_reply(member, story, body="Replying to my own story.")
    assert kinds_for(member) == []
    services.add_reply(other_member, story, body="Been there, it gets easier.")
    assert kinds_for(member) == ["reply"]


def test_quoting_a_reply_notifies_its_author(app: Flask, member: User, other_member: User) -> None:
    story = factories.make_story(member)
    third = factories.make_user(pseudonym="ThirdParent")
    earlier = services.add_reply(other_member, story, body="What helped us was a goodbye song.")
    c = factories.signed_in_client(app, third)
    page = c.get(f"/stories/{story.id}?quote=reply-{earlier.id}").text
    assert "&gt; What helped us was a goodbye song." in page and f'value="reply-{earlier.id}"' in page
    c.post(
        f"/stories/{story.id}/replies",
        data={
            "body": "> What helped us was a goodbye song.\n\nWe tried that too!",
            "quoting": f"reply-{earlier.id}",
        },
    )
    assert kinds_for(other_member) == ["quote"]
    assert kinds_for(member) == ["reply", "reply"]


def test_reactions_are_grouped_per_item_and_kind(app: Flask, member: User) -> None:
    story = factories.make_story(member, title="Hard morning")
    parents = [factories.make_user() for _ in range(5)]
    for parent in parents:
        services.toggle_reaction(parent, kind="hugs", story=story)
    services.toggle_reaction(parents[0], kind="me-too", story=story)
    services.toggle_reaction(member, kind="hugs", story=story)  # your own: no notification
    rows = db.session.scalars(sa.select(Notification).where(Notification.user_id == member.id)).all()
    assert sorted((n.message, n.actor_count) for n in rows) == [("hugs", 5), ("me-too", 1)]
    page = factories.signed_in_client(app, member).get("/notifications").text
    assert "5 parents sent hugs" in page and "Hard morning" in page
    # Taking a reaction back before it was seen un-counts it.
    services.toggle_reaction(parents[1], kind="hugs", story=story)
    assert db.session.scalar(sa.select(Notification.actor_count).where(Notification.message == "hugs")) == 4


def test_unread_count_in_header_and_mark_read(app: Flask, member: User, other_member: User) -> None:
    story = factories.make_story(member)
    services.add_reply(other_member, story, body="First reply here.")
    services.add_reply(other_member, story, body="Second reply here.")
    c = factories.signed_in_client(app, member)
    assert '2<span class="visually-hidden"> unread</span>' in c.get("/stories/new").text
    first = db.session.scalar(sa.select(Notification.id).order_by(Notification.id))
    response = c.post(f"/notifications/{first}/read", data={"next": f"/stories/{story.id}"})
    assert response.status_code == 302 and response.location == f"/stories/{story.id}"
    assert '1<span class="visually-hidden"> unread</span>' in c.get("/stories/new").text
    c.post("/notifications/read-all")
    assert "unread" not in c.get("/stories/new").text.split("</header>")[0]


def test_mark_read_only_touches_your_own(app: Flask, member: User, other_member: User) -> None:
    story = factories.make_story(member)
    services.add_reply(other_member, story, body="A reply for the author.")
    note = db.session.scalar(sa.select(Notification))
    factories.signed_in_client(app, other_member).post(
        f"/notifications/{note.id}/read", data={"next": "//evil.example"}
    )
    db.session.expire_all()
    assert db.session.get(Notification, note.id).read_at is None


def test_message_notices_are_shown(app: Flask, member: User) -> None:
    notes.notify_message(member, "A moderator removed one of your replies: it named a nursery.")
    db.session.commit()
    assert "it named a nursery" in factories.signed_in_client(app, member).get("/notifications").text


UTC = UTC


@pytest.mark.parametrize(
    "when, sent",
    [
        (datetime(2026, 1, 15, 22, 0, tzinfo=UTC), 0),  # 22:00 London: quiet
        (datetime(2026, 1, 15, 7, 59, tzinfo=UTC), 0),  # 07:59 London: quiet
        (datetime(2026, 1, 15, 8, 0, tzinfo=UTC), 1),
        (datetime(2026, 7, 15, 7, 30, tzinfo=UTC), 1),  # 08:30 BST
        (datetime(2026, 7, 15, 20, 30, tzinfo=UTC), 0),  # 21:30 BST
    ],
)
def test_update_reminders_respect_quiet_hours(member: User, when: datetime, sent: int) -> None:
    story = factories.make_story(member, remind_after_weeks=1)
    reminder = db.session.scalar(sa.select(UpdateReminder))
    assert reminder.due_at - story.created_at == timedelta(weeks=1)
    reminder.due_at = when - timedelta(hours=1)
    db.session.commit()
    assert reminders.send_due_reminders(now=when) == sent
    assert kinds_for(member) == (["update_reminder"] if sent else [])
    assert reminders.send_due_reminders(now=when) == 0  # never twice


def test_reminder_not_sent_when_not_yet_due_or_update_added(member: User) -> None:
    story = factories.make_story(member, remind_after_weeks=3)
    noon = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
    db.session.scalar(sa.select(UpdateReminder)).due_at = noon + timedelta(days=1)
    db.session.commit()
    assert reminders.send_due_reminders(now=noon) == 0
    services.add_update(member, story, body="Three weeks on he waves me off.", outcome="better")
    assert reminders.send_due_reminders(now=noon + timedelta(days=2)) == 0


def test_reminders_are_delivered_on_page_load_and_by_the_cli(
    app: Flask, runner, member: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    factories.make_story(member, remind_after_weeks=1)
    db.session.scalar(sa.select(UpdateReminder)).due_at = datetime.now(UTC) - timedelta(minutes=1)
    db.session.commit()
    monkeypatch.setattr(reminders, "in_quiet_hours", lambda now: False)
    page = factories.signed_in_client(app, member).get("/notifications").text
    assert "how did" in page and "turn out" in page
    result = runner.invoke(args=["stories", "send-reminders"])
    assert result.exit_code == 0 and "Sent 0 update reminder(s)." in result.output


def test_the_notifications_list_counts_only_when_it_has_more_than_a_page(app: Flask, member: User) -> None:
    from forum.notifications.routes import PER_PAGE
    from tests.test_query_counts import counted

    client = factories.signed_in_client(app, member)

    def page(url: str = "/notifications") -> tuple[str, int]:
        db.session.expire_all()
        with counted() as statements:
            html = client.get(url).text
        # (the sign-in statement counts the unread ones inside itself: not this)
        return html, sum(
            s.lstrip().startswith("SELECT count(*)") and "notifications" in s for s in statements
        )

    for i in range(3):
        notes.notify_message(member, f"Notice number {i}.")
    db.session.commit()
    html, counts = page()
    assert "Notice number 2." in html and "Page 1 of" not in html and counts == 0
    for i in range(3, PER_PAGE + 2):
        notes.notify_message(member, f"Notice number {i}.")
    db.session.commit()
    html, counts = page()
    assert "Page 1 of 2" in html and counts == 1
    html, _ = page("/notifications?page=2")
    assert "Page 2 of 2" in html and "Notice number 0." in html
