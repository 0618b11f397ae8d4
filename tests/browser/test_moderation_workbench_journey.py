"""Issue 17's journey at phone size: three members report a post that its author then edits, a moderator gets
the badge and (for a welfare report) an email, opens the queue, sees the edit diff, cannot act on an item
another moderator holds until she takes it over, removes-and-suspends in one tap with a reason, and the member
is told the reason and the end time; a delete-spammer removes every post and the account; the audit log has
each step."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from forum.extensions import db
from forum.models import AuditEntry, MailPreference, Status, Story, User, utcnow
from tests.browser.conftest import no_horizontal_scroll
from tests.mailsink import smtp_sink

pytestmark = pytest.mark.browser


def _signed_in_as(live_app: Flask, live_server: str, new_page: Any, user_id: int) -> Any:
    from forum.auth.sessions import start_session

    with live_app.app_context():
        token = start_session(db.session.get(User, user_id), "browser test")
        db.session.commit()
        cookie = live_app.session_interface.get_signing_serializer(live_app).dumps(  # type: ignore[attr-defined]
            {"_user_id": token, "_fresh": True}
        )
    page = new_page()
    page.context.add_cookies(
        [{"name": live_app.config["SESSION_COOKIE_NAME"], "value": cookie, "url": live_server}]
    )
    return page


def test_a_volunteer_clears_the_reports(
    live_app: Flask, live_server: str, sign_in_page: Any, new_page: Any
) -> None:
    from datetime import timedelta

    from forum.moderation import claims
    from forum.moderation import services as mod
    from forum.moderation.targets import target_of
    from forum.notifications.mail import sender
    from forum.stories import services
    from tests import factories

    moderator = sign_in_page("Mod", role="moderator")
    with live_app.app_context():
        mod_user = db.session.scalar(sa.select(User).where(User.pseudonym_key == "mod"))
        db.session.add(
            MailPreference(
                user_id=mod_user.id,
                kinds={},
                timezone="",
                quiet_start=0,
                quiet_end=0,  # no quiet hours: a welfare alert goes out whenever it comes
                digest="off",
                follow_replied=False,
                verified_email=mod_user.email,
            )
        )
        second_mod = factories.make_user(pseudonym="Mod2", role="moderator")
        author = factories.make_user(pseudonym="Writer")
        author.created_at = utcnow() - timedelta(days=40)
        spammer = factories.make_user(pseudonym="PillSeller")
        spammer.created_at = utcnow() - timedelta(days=40)
        db.session.commit()
        story = services.publish_story(
            author, title="My neighbour", body="My neighbour is an idiot and everyone should know."
        )
        spam = [
            services.publish_story(
                spammer, title=f"Pills {i}", body=f"Buy cheap pills from my shop, offer {i}"
            )
            for i in range(2)
        ]
        worry = services.publish_story(author, title="Can't go on", body="I don't think I can keep going.")
        story_id, spam_ids, author_id, spammer_id = story.id, [s.id for s in spam], author.id, spammer.id
        ids = (second_mod.id,)

    reader = sign_in_page("Reader")
    reader.goto(f"{live_server}/stories/{story_id}")
    reader.click("a.report-link")
    reader.check("text=Unkind or bullying")
    reader.click("button:has-text('Send report')")
    reader.wait_for_selector("text=A moderator will look at this soon")
    with live_app.app_context():
        for name in ("ReaderTwo", "ReaderThree"):
            mod.report(
                factories.make_user(pseudonym=name),
                target_of(db.session.get(Story, story_id)),
                reason="unkind",
            )
        mod.report(
            factories.make_user(pseudonym="Worried"),
            target_of(db.session.get(Story, worry.id)),
            reason="at-risk",
        )
        mod.report(
            factories.make_user(pseudonym="Noticer"),
            target_of(db.session.get(Story, spam_ids[0])),
            reason="spam",
        )
        services.edit_story(
            db.session.get(User, author_id),
            db.session.get(Story, story_id),
            title="My neighbour",
            body="My neighbour and I disagree about the hedge.",
        )

    # The welfare report reached the on-duty moderator by email, through the outbox.
    with smtp_sink() as (sink, port):
        live_app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, SITE_URL=live_server)
        with live_app.app_context():
            sender.deliver_due(utcnow())
        sink.wait_for(99, timeout=2)
        (alert,) = [
            m for m in sink.messages if m["To"] == "mod@example.test" and "Confirm" not in m["Subject"]
        ]
        body = alert.get_body(preferencelist=("plain",)).get_content()
        assert "welfare report" in body and "Writer" not in body

    moderator.goto(f"{live_server}/")
    assert moderator.inner_text(".mod-badge").startswith("3")
    moderator.click("a.mod-link")
    assert no_horizontal_scroll(moderator)
    entry = f"#q-story-{story_id}"
    moderator.wait_for_selector(f"{entry} >> text=edited after report")
    moderator.click(f"{entry} details.edit-diff summary")
    assert "is an idiot" in moderator.inner_text(f"{entry} .diff-del")
    assert "disagree about the hedge" in moderator.inner_text(f"{entry} .diff-add")

    # Another moderator holds it: no decisions until it is taken over (recorded).
    with live_app.app_context():
        claims.claim(db.session.get(User, ids[0]), target_of(db.session.get(Story, story_id)))
    moderator.reload()
    moderator.wait_for_selector(f"{entry} >> text=Mod2 is working on this")
    assert moderator.locator(f"{entry} button[value=agree-suspend]").count() == 0
    moderator.click(f"{entry} button[value=takeover]")
    moderator.wait_for_selector("text=Yours for 15 minutes")

    moderator.select_option(f"#reason-story-{story_id}", "unkind")
    moderator.fill(f"#days-story-{story_id}", "7")
    moderator.click(f"{entry} button[value=agree-suspend]")
    moderator.wait_for_selector("text=Done: remove and suspend (7 days).")

    writer = _signed_in_as(live_app, live_server, new_page, author_id)
    writer.goto(f"{live_server}/notifications")
    with live_app.app_context():
        until = db.session.get(User, author_id).suspended_until.strftime("%-d %B %Y at %H:%M UTC")
        assert db.session.get(Story, story_id).status == Status.REMOVED.value
    notice = writer.locator("text=suspended for 7 days").first.inner_text()
    assert "It was unkind or bullying" in notice and until in notice

    spam_entry = f"#q-story-{spam_ids[0]}"
    moderator.click(f"{spam_entry} button[value=delete-spammer]")
    moderator.wait_for_selector("text=PillSeller's account will be deleted with all 2 of their stories")
    moderator.click("button:has-text('Yes, delete spammer')")
    moderator.wait_for_selector("text=Deleted the account and all its posts")
    with live_app.app_context():
        assert db.session.get(User, spammer_id).deleted_at is not None
        assert {db.session.get(Story, i).status for i in spam_ids} == {Status.DELETED.value}
        actions = set(db.session.scalars(sa.select(AuditEntry.action)))
    assert {"auto-hide", "claim-takeover", "suspend", "remove", "delete-spammer"} <= actions
    moderator.goto(f"{live_server}/moderation/audit")
    for action in ("claim-takeover", "suspend", "delete-spammer"):
        assert action in moderator.content()
