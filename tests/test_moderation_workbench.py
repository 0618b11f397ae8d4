"""The review queue as a workbench (issue 17): claims, decisions and their effect on counters, feeds, what
visitors see and what members are told; silence, trust levels, alerts, the edit diff and form errors."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from forum.extensions import db
from forum.models import AuditEntry, Flag, MailOutbox, Notification, Status, Story, User, utcnow
from forum.moderation import alerts, claims, decisions, trust
from forum.moderation import services as mod
from forum.moderation.targets import target_of
from forum.stories import lifecycle, services
from tests.factories import make_user, signed_in_client

BODY = "Dropped her at nursery and she screamed the whole time, I sat in the car shaking."


def _older(user: User, days: int = 10) -> User:
    user.created_at = utcnow() - timedelta(days=days)
    db.session.commit()
    return user


@pytest.fixture
def story(member):
    _older(member)
    return services.publish_story(member, title="Hard morning", body=BODY, tags="dropoff")


def _report(story, n=3, reason="unkind"):
    for _ in range(n):
        mod.report(_older(make_user()), target_of(story), reason=reason)


def _notices(user):
    return list(db.session.scalars(sa.select(Notification.message).where(Notification.user_id == user.id)))


def _decide(app, moderator, kind, item_id, **data):
    client = signed_in_client(app, moderator)
    return client.post(f"/moderation/{kind}/{item_id}/decide", data=data, follow_redirects=True)


def test_agree_and_suspend_removes_tells_reason_and_end_and_visitors_lose_it(
    app, client, story, member, moderator
):
    _report(story, n=1)
    page = _decide(app, moderator, "story", story.id, decision="agree-suspend", reason="unkind", days="3")
    assert "Done: remove and suspend (3 days)." in page.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Story, story.id).status == Status.REMOVED.value
    author = db.session.get(User, member.id)
    assert author.suspended_until > utcnow() + timedelta(days=2, hours=23)
    told = " ".join(_notices(author))
    assert "suspended for 3 days" in told and "It was unkind or bullying" in told
    assert author.suspended_until.strftime("%-d %B %Y at %H:%M UTC") in told
    assert client.get(f"/stories/{story.id}").status_code == 404
    assert "Hard morning" not in client.get("/").get_data(as_text=True)
    actions = set(db.session.scalars(sa.select(AuditEntry.action)))
    assert {"suspend", "remove"} <= actions
    assert (
        db.session.scalar(sa.select(sa.func.count()).select_from(Flag).where(Flag.resolved_at.is_(None))) == 0
    )


def test_removing_a_reply_lowers_the_reply_count_and_restoring_raises_it(app, story, other_member, moderator):
    reply = services.add_reply(_older(other_member), story, body="You are doing so well, truly, hang on.")
    db.session.expire_all()
    assert db.session.get(Story, story.id).reply_count == 1
    _decide(app, moderator, "reply", reply.id, decision="remove", reason="unkind")
    db.session.expire_all()
    assert db.session.get(Story, story.id).reply_count == 0
    _decide(app, moderator, "reply", reply.id, decision="restore")
    db.session.expire_all()
    assert db.session.get(Story, story.id).reply_count == 1
    assert any("restored your reply" in m for m in _notices(other_member))


def test_days_zero_or_huge_is_a_form_error_not_a_400(app, story, member, moderator):
    _report(story, n=1)
    for days in ("0", "99999999999999999999", "abc"):
        page = _decide(
            app, moderator, "story", story.id, decision="agree-suspend", reason="unkind", days=days
        )
        assert page.status_code == 200
        assert "Days:" in page.get_data(as_text=True)
    client = signed_in_client(app, moderator)
    response = client.post(
        f"/moderation/members/{member.id}/act",
        data={"action": "suspend", "reason": "Rude", "days": "0"},
        follow_redirects=True,
    )
    assert response.status_code == 200 and "Choose 1 to 365 days." in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, member.id).suspended_until is None


def test_a_claimed_item_refuses_another_moderator_until_taken_over(app, story, moderator):
    second = make_user(pseudonym="OtherMod", role="moderator")
    _report(story, n=1)
    claims.claim(moderator, target_of(story))
    page = _decide(app, second, "story", story.id, decision="hide")
    assert "KindMod is working on this" in page.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Story, story.id).status == Status.PUBLISHED.value
    queue_page = signed_in_client(app, second).get("/moderation").get_data(as_text=True)
    assert "Take it over" in queue_page and "claimed by KindMod" in queue_page
    signed_in_client(app, second).post(f"/moderation/story/{story.id}/act", data={"action": "takeover"})
    assert db.session.scalar(sa.select(AuditEntry.reason).where(AuditEntry.action == "claim-takeover")) == (
        "took over from KindMod"
    )
    _decide(app, second, "story", story.id, decision="hide")
    db.session.expire_all()
    assert db.session.get(Story, story.id).status == Status.HIDDEN.value


def test_a_claim_expires(app, story, moderator):
    second = make_user(pseudonym="OtherMod", role="moderator")
    row = claims.claim(moderator, target_of(story))
    row.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    claims.ensure_free(second, target_of(story))  # no error


def test_delete_spammer_needs_confirmation_then_removes_every_post_and_the_account(app, client, moderator):
    spammer = _older(make_user(pseudonym="Spammer"))
    first = services.publish_story(
        spammer, title="Cheap pills", body="Buy cheap pills today from my shop now"
    )
    second = services.publish_story(spammer, title="More pills", body="Even cheaper pills from my other shop")
    _older(make_user())
    other = services.publish_story(_older(make_user()), title="A real story", body=BODY, tags="dropoff")
    services.add_reply(spammer, other, body="Visit my shop for the cheapest pills in the country")
    _report(first, n=1, reason="spam")
    asked = _decide(app, moderator, "story", first.id, decision="delete-spammer")
    text = asked.get_data(as_text=True)
    assert "Please confirm" in text and "2 of their stories and 1 replies" in text
    db.session.expire_all()
    assert db.session.get(User, spammer.id).deleted_at is None
    done = _decide(app, moderator, "story", first.id, decision="delete-spammer", confirmed="1")
    assert "Deleted the account" in done.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, spammer.id).deleted_at is not None
    for story_id in (first.id, second.id):
        assert db.session.get(Story, story_id).status == Status.DELETED.value
        assert "pills" not in client.get(f"/stories/{story_id}").get_data(as_text=True)
    assert db.session.get(Story, other.id).reply_count == 0
    assert "pills" not in client.get(f"/stories/{other.id}").get_data(as_text=True)
    assert db.session.scalar(sa.select(AuditEntry.id).where(AuditEntry.action == "delete-spammer"))


def test_welfare_items_ask_before_anything_but_send_support(app, story, moderator):
    _report(story, n=1, reason="at-risk")
    asked = _decide(app, moderator, "story", story.id, decision="hide")
    assert "Please confirm: Hide" in asked.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Story, story.id).status == Status.PUBLISHED.value
    assert decisions.needs_confirmation("support", welfare=True) is False


def test_silenced_member_can_read_but_not_write(app, story, member, other_member, moderator):
    from forum.errors import NotAllowed

    client = signed_in_client(app, moderator)
    client.post(
        f"/moderation/members/{other_member.id}/act",
        data={"action": "silence", "reason": "Cooling off", "days": "2"},
    )
    db.session.expire_all()
    silenced = db.session.get(User, other_member.id)
    assert silenced.silenced_until > utcnow()
    assert any("read-only for 2 days" in m and "Cooling off" in m for m in _notices(silenced))
    with pytest.raises(NotAllowed, match="read-only until"):
        services.add_reply(silenced, story, body="I would like to say something here please.")
    assert signed_in_client(app, silenced).get(f"/stories/{story.id}").status_code == 200


def test_ban_reason_is_told_and_shown_at_sign_in(app, client, member, moderator):
    signed_in_client(app, moderator).post(
        f"/moderation/members/{member.id}/act", data={"action": "ban", "reason": "Repeated harassment"}
    )
    assert any("Repeated harassment" in m for m in _notices(member))
    page = client.post("/login", data={"identifier": member.pseudonym, "password": "correct horse battery"})
    assert "Repeated harassment" in page.get_data(as_text=True)


def test_title_edit_and_approval_are_told_to_the_author(app, story, member, moderator):
    mod.edit_title_and_tags(moderator, story, title="A hard morning", tags="dropoff", reason="Clearer title")
    assert any("changed the title" in m and "Clearer title" in m for m in _notices(member))
    reply = services.add_reply(_older(make_user()), story, body="Same here, it gets easier, I promise you.")
    lifecycle.set_status(reply, Status.PENDING.value)  # held as if by a watched word
    lifecycle.commit()
    db.session.expire_all()
    assert db.session.get(Story, story.id).reply_count == 0
    mod.act_on_item(moderator, target_of(reply), "approve")
    db.session.expire_all()
    assert db.session.get(Story, story.id).reply_count == 1
    assert any("approved your reply" in m for m in _notices(reply.author))


def test_edit_after_report_shows_an_escaped_diff(app, story, member, moderator):
    _report(story, n=1)
    services.edit_story(member, story, title="Hard morning", body=BODY + "\n\n<script>alert(1)</script>")
    page = signed_in_client(app, moderator).get("/moderation").get_data(as_text=True)
    assert "edited after report" in page
    assert "+ &lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>alert(1)" not in page


def test_tabs_filters_and_the_nothing_waiting_state(app, story, moderator):
    client = signed_in_client(app, moderator)
    assert "Nothing is waiting." in client.get("/moderation").get_data(as_text=True)
    _report(story, n=1, reason="spam")
    assert "Hard morning" in client.get("/moderation?reason=spam").get_data(as_text=True)
    assert "Hard morning" not in client.get("/moderation?reason=unkind").get_data(as_text=True)
    assert "Hard morning" not in client.get("/moderation?welfare=1").get_data(as_text=True)
    assert "Hard morning" not in client.get("/moderation?mine=1").get_data(as_text=True)
    claims.claim(moderator, target_of(story))
    assert "Hard morning" in client.get("/moderation?mine=1&sort=oldest").get_data(as_text=True)
    _decide(app, moderator, "story", story.id, decision="dismiss")
    assert "Hard morning" not in client.get("/moderation").get_data(as_text=True)
    reviewed = client.get("/moderation?tab=reviewed").get_data(as_text=True)
    assert "Hard morning" in reviewed and "dismissed" in reviewed


def test_badge_counts_waiting_items_for_moderators_only(app, story, member, moderator):
    _report(story, n=2)
    page = signed_in_client(app, moderator).get("/").get_data(as_text=True)
    assert 'class="badge mod-badge">1<' in page
    assert "mod-badge" not in signed_in_client(app, member).get("/").get_data(as_text=True)


def test_welfare_report_alerts_on_duty_moderators_by_outbox(app, story, moderator):
    off = make_user(pseudonym="OffDuty", role="moderator")
    alerts.set_on_duty(off, False)
    _report(story, n=1, reason="at-risk")
    rows = list(db.session.scalars(sa.select(MailOutbox).where(MailOutbox.kind == "moderation")))
    assert [r.user_id for r in rows] == [moderator.id]
    note = db.session.get(Notification, rows[0].payload["notifications"][0])
    assert "welfare report" in note.message and "SunnyMum" not in note.message


def test_bulk_applies_one_decision_to_every_ticked_item(app, story, member, moderator):
    another = services.publish_story(member, title="Second one", body=BODY + " Again.")
    _report(story, n=1)
    _report(another, n=1)
    signed_in_client(app, moderator).post(
        "/moderation/bulk",
        data={"decision": "hide", "items": [f"story-{story.id}", f"story-{another.id}"], "days": "7"},
    )
    db.session.expire_all()
    assert {db.session.get(Story, i).status for i in (story.id, another.id)} == {Status.HIDDEN.value}


def test_trust_levels_weigh_reports_and_hold_new_accounts_links(app, story, moderator):
    newcomer = make_user()
    assert trust.level(newcomer) == trust.NEW
    held = services.publish_story(newcomer, title="Look", body="Great tips at https://example.com for sleep")
    assert held.status == Status.PENDING.value
    veteran = _older(make_user(), days=60)
    for i in range(trust.TRUSTED_POSTS):
        services.add_reply(veteran, story, body=f"Reply number {i} with kind words for you today.")
    assert trust.level(veteran) == trust.TRUSTED
    # Two trusted members' reports hide a post (1.5 each), where two ordinary members' do not.
    mod.report(veteran, target_of(story), reason="unkind")
    other_veteran = _older(make_user(), days=60)
    for i in range(trust.TRUSTED_POSTS):
        services.add_reply(other_veteran, story, body=f"Another reply {i}, sending a hug your way.")
    mod.report(other_veteran, target_of(story), reason="unkind")
    db.session.expire_all()
    assert db.session.get(Story, story.id).status == Status.HIDDEN.value


def test_trust_level_shown_for_named_content_only(app, moderator):
    named_author = _older(make_user(pseudonym="NamedMum"))
    named = services.publish_story(named_author, title="Named one", body=BODY)
    anon = services.publish_story(named_author, title="Anon one", body=BODY + " Quietly.", anonymous=True)
    _report(named, n=1)
    _report(anon, n=1)
    page = signed_in_client(app, moderator).get("/moderation").get_data(as_text=True)
    assert page.count('class="trust trust-') == 1


def test_upheld_reports_lose_trust(app, moderator):
    author = _older(make_user(), days=60)
    posts = [services.publish_story(author, title=f"Post {i}", body=f"{BODY} {i}") for i in range(3)]
    assert trust.level(author) == trust.MEMBER
    for post in posts:
        _report(post, n=1)
        mod.act_on_item(moderator, target_of(post), "remove", reason="unkind")
    assert trust.level(author) == trust.NEW


def test_digest_command_tells_on_duty_moderators_how_many_wait(app, runner, story, moderator):
    assert "Told 0 moderators." in runner.invoke(args=["moderation", "digest"]).output
    _report(story, n=1)
    assert "Told 1 moderator." in runner.invoke(args=["moderation", "digest"]).output
    assert any("1 item is waiting" in m for m in _notices(moderator))


def test_item_page_shows_the_diff_assignment_and_decisions(app, story, member, moderator):
    second = make_user(pseudonym="OtherMod", role="moderator")
    _report(story, n=1)
    services.edit_story(member, story, title="Hard morning", body=BODY + " It got better by lunch.")
    client = signed_in_client(app, moderator)
    client.post(f"/moderation/story/{story.id}/assign", data={"moderator_id": str(second.id)})
    page = client.get(f"/moderation/story/{story.id}").get_data(as_text=True)
    assert "Edited after report" in page and "It got better by lunch." in page
    assert "Assigned to OtherMod." in page and "Decide in one tap" in page
    assert "Hard morning" in signed_in_client(app, second).get("/moderation?mine=1").get_data(as_text=True)
    assert db.session.scalar(sa.select(AuditEntry.reason).where(AuditEntry.action == "assign")) == (
        "assigned to OtherMod"
    )


def test_item_page_tools_on_a_welfare_item_confirm_before_hiding(app, story, moderator):
    _report(story, n=1, reason="at-risk")
    client = signed_in_client(app, moderator)
    asked = client.post(f"/moderation/story/{story.id}/act", data={"action": "hide"})
    assert "Please confirm: Hide" in asked.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Story, story.id).status == Status.PUBLISHED.value
    client.post(
        f"/moderation/story/{story.id}/decide", data={"decision": "hide", "confirmed": "1", "days": "7"}
    )
    db.session.expire_all()
    assert db.session.get(Story, story.id).status == Status.HIDDEN.value
