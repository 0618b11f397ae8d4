"""Moderation through HTTP: reports, the queue, actions and their effect on every surface, permissions,
appeals, audit."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from forum.extensions import db
from forum.models import Appeal, AuditEntry, Flag, Notification, Reaction, Status, Story, User, utcnow
from forum.moderation import services as mod
from forum.moderation.targets import target_of
from forum.stories import services
from tests.factories import make_user, signed_in_client

BODY = "Dropped her at nursery and she screamed the whole time, I sat in the car shaking."


@pytest.fixture
def story(member):
    return services.publish_story(member, title="Hard morning", body=BODY, tags="dropoff")


def report(app, reporter, kind, item_id, reason="unkind", note=""):
    return signed_in_client(app, reporter).post(
        f"/report/{kind}/{item_id}", data={"reason": reason, "note": note}
    )


def test_member_reports_once_and_sees_thanks(app, story, other_member):
    client = signed_in_client(app, other_member)
    assert client.get(f"/report/story/{story.id}").status_code == 200
    first = client.post(f"/report/story/{story.id}", data={"reason": "spam"}, follow_redirects=True)
    assert "A moderator will look at this soon" in first.get_data(as_text=True)
    again = client.post(f"/report/story/{story.id}", data={"reason": "spam"})
    assert "already reported" in again.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Flag)) == 1


def test_other_reason_needs_a_note_and_keeps_it(app, story, other_member):
    response = report(app, other_member, "story", story.id, reason="other", note="")
    assert "tell us a little" in response.get_data(as_text=True)


def test_cannot_report_own_post(app, story, member):
    response = report(app, member, "story", story.id)
    assert "can&#39;t report your own post" in response.get_data(as_text=True)


def test_three_reports_auto_hide_but_welfare_never_counts(app, story):
    for _i in range(3):
        report(app, make_user(), "story", story.id, reason="at-risk")
    db.session.expire_all()
    assert db.session.get(Story, story.id).status == Status.PUBLISHED.value
    for _i in range(3):
        report(app, make_user(), "story", story.id, reason="unkind")
    db.session.expire_all()
    assert db.session.get(Story, story.id).status == Status.HIDDEN.value
    assert db.session.scalar(sa.select(AuditEntry.action).where(AuditEntry.action == "auto-hide"))


def test_queue_puts_welfare_first_then_priority(app, moderator, member):
    calm = services.publish_story(
        member, title="Off topic one", body="A story about something else entirely here."
    )
    worrying = services.publish_story(
        member, title="Worrying one", body="Another story, with something worrying in it."
    )
    busy = services.publish_story(
        member, title="Much reported", body="A story that many people found unkind today."
    )
    report(app, make_user(), "story", calm.id, reason="off-topic")
    report(app, make_user(), "story", worrying.id, reason="at-risk")
    for _ in range(2):
        report(app, make_user(), "story", busy.id, reason="unkind")
    html = signed_in_client(app, moderator).get("/moderation").get_data(as_text=True)
    assert html.index("Worrying one") < html.index("Much reported") < html.index("Off topic one")
    assert "Send support" in html


def test_flagger_track_record_raises_priority():
    from forum.moderation.queue import (
        reporter_weights,  # noqa: F401 - exercised through the helper below
        score,
    )

    class F:
        def __init__(self, reporter_id):
            self.reporter_id, self.reason = reporter_id, "unkind"

    assert score([F(1)], {1: 1.8}, False) > score([F(2)], {2: 0.6}, False)


@pytest.mark.parametrize(("action", "status"), [("hide", "hidden"), ("remove", "removed")])
def test_hidden_and_removed_never_appear_anywhere(app, client, moderator, story, action, status):
    signed_in_client(app, moderator).post(
        f"/moderation/story/{story.id}/act", data={"action": action, "reason": "unkind"}
    )
    db.session.expire_all()
    assert db.session.get(Story, story.id).status == status
    for url in ("/", "/tags/dropoff", "/search?q=nursery", "/api/stories"):
        assert "Hard morning" not in client.get(url).get_data(as_text=True), url
    assert client.get(f"/stories/{story.id}").status_code == 404
    assert client.get(f"/api/stories/{story.id}").status_code == 404


def test_remove_tells_author_why_without_moderator_name(app, moderator, member, story):
    signed_in_client(app, moderator).post(
        f"/moderation/story/{story.id}/act",
        data={"action": "remove", "reason": "child-details", "message": "Please leave out the name."},
    )
    note = db.session.scalar(sa.select(Notification).where(Notification.user_id == member.id))
    assert "identifying details" in note.message and "leave out the name" in note.message
    assert moderator.pseudonym not in note.message


def test_remove_needs_a_reason(app, moderator, story):
    response = signed_in_client(app, moderator).post(
        f"/moderation/story/{story.id}/act", data={"action": "remove"}, follow_redirects=True
    )
    assert "choose a reason" in response.get_data(as_text=True)
    assert db.session.get(Story, story.id).status == Status.PUBLISHED.value


def test_dismiss_resolves_flags_and_restores_auto_hidden(app, moderator, story):
    for _ in range(3):
        report(app, make_user(), "story", story.id)
    signed_in_client(app, moderator).post(f"/moderation/story/{story.id}/act", data={"action": "dismiss"})
    db.session.expire_all()
    assert db.session.get(Story, story.id).status == Status.PUBLISHED.value
    assert (
        db.session.scalar(sa.select(sa.func.count()).select_from(Flag).where(Flag.resolution == "dismissed"))
        == 3
    )


def test_lock_stops_replies(app, moderator, story, other_member):
    signed_in_client(app, moderator).post(f"/moderation/story/{story.id}/act", data={"action": "lock"})
    response = signed_in_client(app, other_member).post(
        f"/stories/{story.id}/replies", data={"body": "Can I still reply here?"}
    )
    assert response.status_code == 403
    assert "closed to new replies" in signed_in_client(app, other_member).get(
        f"/stories/{story.id}"
    ).get_data(as_text=True)


def test_bulk_dismiss(app, moderator, member):
    stories = [services.publish_story(member, title=f"Bulk {i}", body=f"{BODY} number {i}") for i in range(3)]
    for s in stories:
        report(app, make_user(), "story", s.id)
    signed_in_client(app, moderator).post(
        "/moderation/bulk", data={"action": "dismiss", "items": [f"story-{s.id}" for s in stories]}
    )
    assert (
        db.session.scalar(sa.select(sa.func.count()).select_from(Flag).where(Flag.resolved_at.is_(None))) == 0
    )


def test_suspended_member_cannot_post_reply_react_or_report(app, moderator, member, other_member, story):
    signed_in_client(app, moderator).post(
        f"/moderation/members/{other_member.id}/act",
        data={"action": "suspend", "reason": "Unkind replies", "days": 3},
    )
    db.session.expire_all()
    client = signed_in_client(app, other_member)
    assert "suspended until" in client.post("/stories/new", data={"body": BODY}).get_data(as_text=True)
    assert (
        client.post(
            f"/stories/{story.id}/replies", data={"body": "A reply from a suspended member."}
        ).status_code
        == 403
    )
    refused = client.post(f"/stories/{story.id}/reactions", data={"kind": "hugs", "on": "1"})
    assert refused.status_code == 403 and "suspended until" in refused.get_data(as_text=True)
    json_refused = client.post(
        f"/stories/{story.id}/reactions", data={"kind": "hugs"}, headers={"Accept": "application/json"}
    )
    assert json_refused.status_code == 403
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Reaction)) == 0
    assert "suspended until" in report(app, other_member, "story", story.id).get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Flag)) == 0
    assert client.get("/").status_code == 200  # reading still works


def test_warn_and_ban(app, moderator, other_member):
    client = signed_in_client(app, moderator)
    client.post(
        f"/moderation/members/{other_member.id}/act", data={"action": "warn", "reason": "Please be kinder."}
    )
    assert "Please be kinder" in db.session.scalar(sa.select(Notification.message))
    client.post(
        f"/moderation/members/{other_member.id}/act", data={"action": "ban", "reason": "Repeated abuse."}
    )
    db.session.expire_all()
    assert db.session.get(User, other_member.id).banned_at is not None


def test_moderator_cannot_act_on_admin(app, moderator, admin):
    signed_in_client(app, moderator).post(
        f"/moderation/members/{admin.id}/act", data={"action": "ban", "reason": "x"}
    )
    db.session.expire_all()
    assert db.session.get(User, admin.id).banned_at is None


def test_appeal_once_goes_to_another_moderator(app, moderator, member, story):
    signed_in_client(app, moderator).post(
        f"/moderation/story/{story.id}/act", data={"action": "remove", "reason": "spam"}
    )
    author = signed_in_client(app, member)
    assert (
        author.post(
            f"/appeal/story/{story.id}", data={"message": "It wasn't spam, it was my story."}
        ).status_code
        == 302
    )
    again = author.post(f"/appeal/story/{story.id}", data={"message": "Please look again at my story."})
    assert "already appealed" in again.get_data(as_text=True)
    appeal = db.session.scalar(sa.select(Appeal))
    other_mod = make_user(pseudonym="SecondMod", role="moderator")
    refused = signed_in_client(app, moderator).post(
        f"/moderation/appeals/{appeal.id}", data={"decision": "restore"}, follow_redirects=True
    )
    assert "Another moderator should decide" in refused.get_data(as_text=True)
    signed_in_client(app, other_mod).post(f"/moderation/appeals/{appeal.id}", data={"decision": "restore"})
    db.session.expire_all()
    assert db.session.get(Story, story.id).status == Status.PUBLISHED.value


def test_reveal_anonymous_author_is_audited(app, moderator, member):
    secret = services.publish_story(member, title="Anon", body=BODY, anonymous=True)
    client = signed_in_client(app, moderator)
    page = client.get(f"/stories/{secret.id}").get_data(as_text=True)
    assert member.pseudonym not in page and "Who wrote this?" in page
    revealed = client.post(f"/moderation/stories/{secret.id}/reveal", follow_redirects=True).get_data(
        as_text=True
    )
    assert f"written by {member.pseudonym}" in revealed
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "reveal-author"))
    assert entry.actor_id == moderator.id and entry.target_id == secret.id
    assert "reveal-author" in client.get("/moderation/audit?action=reveal-author").get_data(as_text=True)


def test_every_action_is_audited(app, moderator, story):
    client = signed_in_client(app, moderator)
    for action in ("hide", "restore", "lock", "unlock"):
        client.post(f"/moderation/story/{story.id}/act", data={"action": action})
    actions = set(db.session.scalars(sa.select(AuditEntry.action)))
    assert {"hide", "restore", "lock", "unlock"} <= actions


def test_audit_log_has_no_way_to_edit_or_delete(app):
    rules = [r for r in app.url_map.iter_rules() if "audit" in r.rule]
    assert rules and all(r.methods <= {"GET", "HEAD", "OPTIONS"} for r in rules)


MOD_GETS = [
    "/moderation",
    "/moderation/words",
    "/moderation/audit",
    "/moderation/settings",
    "/moderation/team",
]
MOD_POSTS = ["/moderation/bulk", "/moderation/words", "/moderation/settings", "/moderation/team"]


@pytest.mark.parametrize("url", MOD_GETS)
def test_members_and_visitors_cannot_open_moderation_pages(app, client, member, url):
    assert client.get(url).status_code == 302  # visitors are sent to sign in
    assert signed_in_client(app, member).get(url).status_code == 403


@pytest.mark.parametrize("url", MOD_POSTS)
def test_forged_posts_by_members_are_refused(app, member, url):
    assert (
        signed_in_client(app, member)
        .post(
            url, data={"action": "dismiss", "phrase": "x", "role": "moderator", "pseudonym": member.pseudonym}
        )
        .status_code
        == 403
    )


@pytest.mark.parametrize(
    "path",
    [
        "/moderation/story/{id}",
        "/moderation/story/{id}/act",
        "/moderation/members/{uid}/act",
        "/moderation/stories/{id}/reveal",
        "/moderation/members/{uid}/notes",
    ],
)
def test_item_actions_refused_for_members(app, member, other_member, story, path):
    url = path.format(id=story.id, uid=other_member.id)
    client = signed_in_client(app, other_member)
    response = (
        client.get(url)
        if url.endswith(str(story.id))
        else client.post(url, data={"action": "hide", "reason": "x"})
    )
    assert response.status_code in (403, 405)
    db.session.expire_all()
    assert db.session.get(Story, story.id).status == Status.PUBLISHED.value


def test_only_admins_manage_the_team(app, admin, moderator, member):
    assert signed_in_client(app, moderator).get("/moderation/team").status_code == 403
    signed_in_client(app, admin).post(
        "/moderation/team", data={"pseudonym": member.pseudonym, "role": "moderator"}
    )
    db.session.expire_all()
    assert db.session.get(User, member.id).is_moderator
    assert db.session.scalar(sa.select(AuditEntry.action).where(AuditEntry.action == "promote"))


def test_moderator_notes_show_in_queue(app, moderator, member, story):
    client = signed_in_client(app, moderator)
    client.post(f"/moderation/members/{member.id}/notes", data={"body": "Second warning this month."})
    report(app, make_user(), "story", story.id)
    assert "Second warning this month." in client.get("/moderation").get_data(as_text=True)


def test_claims_expire(app, moderator, story):
    other = make_user(pseudonym="OtherMod", role="moderator")
    mod.claim(moderator, target_of(story))
    with pytest.raises(Exception, match="already looking"):
        mod.claim(other, target_of(story))
    claim = mod.claim(moderator, target_of(story))
    claim.expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    assert mod.claim(other, target_of(story)).moderator_id == other.id


def test_send_support_resources(app, moderator, member, story):
    report(app, make_user(), "story", story.id, reason="at-risk")
    signed_in_client(app, moderator).post(f"/moderation/story/{story.id}/act", data={"action": "support"})
    message = db.session.scalar(sa.select(Notification.message).where(Notification.user_id == member.id))
    assert "Samaritans" in message and "988" in message


def test_reporter_learns_the_decision(app, moderator, other_member, story):
    report(app, other_member, "story", story.id)
    signed_in_client(app, moderator).post(f"/moderation/story/{story.id}/act", data={"action": "dismiss"})
    message = db.session.scalar(
        sa.select(Notification.message).where(Notification.user_id == other_member.id)
    )
    assert "no action was needed" in message


def test_queue_and_item_page_never_name_an_anonymous_author(app, moderator, member):
    secret = services.publish_story(member, title="Anon worry", body=BODY, anonymous=True)
    report(app, make_user(), "story", secret.id, reason="at-risk")
    client = signed_in_client(app, moderator)
    for url in ("/moderation", f"/moderation/story/{secret.id}"):
        html = client.get(url).get_data(as_text=True)
        assert member.pseudonym not in html and "Anonymous parent" in html, url


def test_member_is_told_when_suspension_ends(app, moderator, other_member):
    signed_in_client(app, moderator).post(
        f"/moderation/members/{other_member.id}/act",
        data={"action": "suspend", "reason": "Cooling off", "days": 1},
    )
    member = db.session.get(User, other_member.id)
    member.suspended_until = utcnow() - timedelta(minutes=1)
    db.session.commit()
    client = signed_in_client(app, other_member)
    client.get("/")
    client.get("/")
    db.session.expire_all()
    ended = [
        n
        for n in db.session.scalars(sa.select(Notification.message).where(Notification.user_id == member.id))
        if "suspension has ended" in n
    ]
    assert len(ended) == 1 and db.session.get(User, member.id).suspended_until is None


def test_watched_words_are_added_and_removed_through_audited_services(app, moderator, member):
    from forum.errors import NotAllowed, ValidationFailed
    from forum.models import WatchedWord
    from forum.moderation import words

    word = words.add_watched_word(moderator, "  Sell   NOW ", "hold")
    assert word.phrase == "sell now"
    with pytest.raises(ValidationFailed):
        words.add_watched_word(moderator, "sell now", "flag")
    with pytest.raises(ValidationFailed):
        words.add_watched_word(moderator, "other", "explode")
    with pytest.raises(NotAllowed):
        words.add_watched_word(member, "anything", "hold")
    page = signed_in_client(app, moderator).post(
        "/moderation/words", data={"phrase": "sell now", "action": "block"}
    )
    assert "already on the list" in page.get_data(as_text=True)
    words.remove_watched_word(moderator, word)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(WatchedWord)) == 0
    reasons = list(
        db.session.scalars(sa.select(AuditEntry.reason).where(AuditEntry.action == "watched-word"))
    )
    assert reasons == ["added 'sell now' (hold)", "removed 'sell now'"]


def test_audit_log_filters_by_action_and_people(app, moderator, member, story):
    mod.act_on_item(moderator, target_of(story), "hide", reason="check")
    client = signed_in_client(app, moderator)
    by_action = client.get("/moderation/audit?action=hide").get_data(as_text=True)
    assert "hide" in by_action
    nobody = client.get("/moderation/audit?moderator=nobody-here").get_data(as_text=True)
    assert "check" not in nobody
