"""Anonymity holds on every surface (issue 12): only the audited reveal ties an anonymous post to its author.

One member, "Zephyrine" (a name that appears nowhere else, so `not in` checks mean something), writes named
posts and an anonymous story with her own reply and reaction in it. Every surface is then read as a visitor,
as other members (including ones who blocked her either way) and as a moderator who has not used the reveal:
her pseudonym, her account's id in any link or form, her join date and any count of her named history never
appear beside her anonymous content, while the anonymous content itself is there (so no check passes because
a page is empty).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from forum.extensions import db
from forum.models import AuditEntry, Notification, Story, User
from forum.moderation import services as mod
from forum.moderation.targets import target_of
from forum.stories import services
from tests.factories import login, make_user

NAME = "Zephyrine"
JOINED = datetime(2021, 2, 3, 4, 5, tzinfo=UTC)  # shown as "3 February 2021" / "2021-02-03" if it leaks
JOIN_MARKS = ("2021-02-03", "3 February 2021")
SECRET_TITLE = "Lighthouse nights"
SECRET_BODY = (
    "Since the baby came the lighthouse of my days has gone dark, and I cry in the car before nursery pick-up"
)
OWN_REPLY = "Thank you for every lighthouse message, it helps me get through the night."
NAMED_REMOVAL_REASON = "Marmalade named-history reason"


def signed_in(app: Flask, user: User) -> FlaskClient:
    client = app.test_client()
    login(client, user)
    return client


def assert_anonymous(text: str, zid: int, where: str) -> None:
    """Nothing in this text names Zephyrine, links to her account or shows her join date."""
    assert NAME not in text, where
    assert NAME.lower() not in text.lower(), where
    for pattern in (f"/members/{zid}/", f"user_id={zid}", f'"author_id": {zid}', f'"user_id": {zid}'):
        assert pattern not in text, (where, pattern)
    for mark in JOIN_MARKS:
        assert mark not in text, (where, mark)


@pytest.fixture
def world(app: Flask, member: User, other_member: User, moderator: User) -> dict:
    """Zephyrine's named and anonymous posts, others' replies and reactions, and a removed named reply."""
    her = make_user(pseudonym=NAME)
    her.created_at = JOINED
    db.session.commit()
    named = services.publish_story(her, title="Tea and biscuits", body="A named story about a long wet week.")
    named_reply = services.add_reply(her, named, body="A named reply of hers that a moderator removes.")
    mod.act_on_item(moderator, target_of(named_reply), "remove", reason="other", message=NAMED_REMOVAL_REASON)
    secret = services.publish_story(
        her, title=SECRET_TITLE, body=SECRET_BODY, anonymous=True, tags="postnatal"
    )
    theirs = services.add_reply(other_member, secret, body="You are not alone, the lighthouse comes back on.")
    own = services.add_reply(her, secret, body=OWN_REPLY)
    services.set_reaction(her, kind="me-too", on=True, story=secret)
    services.set_reaction(her, kind="hugs", on=True, reply=theirs)
    services.set_reaction(member, kind="hugs", on=True, story=secret)
    services.add_reply(her, secret, body=f"> {theirs.body}\n\nQuoting you back with thanks.", quoting=theirs)
    return {"her": her, "named": named, "secret": secret, "theirs": theirs, "own": own}


def _cards(html: str, story_id: int) -> str:
    """The cards in a list page that are about this story (her named posts may be listed beside them)."""
    found = [
        card
        for card in re.findall(r"<article\b.*?</article>", html, re.S)
        if f'href="/stories/{story_id}"' in card or f'href="/stories/{story_id}#' in card
    ]
    return "\n".join(found)


def _surfaces(client: FlaskClient, secret: Story) -> dict[str, str]:
    """What this client sees of the anonymous story on each surface (in lists, only its own entries)."""
    listed = [s for s in client.get("/api/stories").get_json()["stories"] if s["id"] == secret.id]
    return {
        "story": client.get(f"/stories/{secret.id}").get_data(as_text=True),
        "home": _cards(client.get("/").get_data(as_text=True), secret.id),
        "tag": _cards(client.get("/tags/postnatal").get_data(as_text=True), secret.id),
        "search": _cards(client.get("/search?q=lighthouse").get_data(as_text=True), secret.id),
        "api list": json.dumps(listed),
        "api item": client.get(f"/api/stories/{secret.id}").get_data(as_text=True),
    }


def test_members_and_visitors_never_see_who_wrote_it(app, world, member, other_member):
    her, secret = world["her"], world["secret"]
    for who, client in (
        ("visitor", app.test_client()),
        ("member", signed_in(app, member)),
        ("replier", signed_in(app, other_member)),
    ):
        seen = _surfaces(client, secret)
        for name, text in seen.items():
            assert_anonymous(text, her.id, f"{who}: {name}")
            assert SECRET_TITLE in text, f"{who}: {name}"  # the story is there, only the name is not
        story = seen["story"]
        assert OWN_REPLY in story and "Anonymous parent (who shared this story)" in story
        # Her own "me too" is listed as the Anonymous parent's; others' reactions keep their names.
        assert "Anonymous parent" in story and "said “me too”" in story
        api = client.get(f"/api/stories/{secret.id}").get_json()
        assert api["author"] == "Anonymous parent" and api["reactions"]["me-too"] == 1
        assert {r["author"] for r in api["replies"]} >= {"Anonymous parent (who shared this story)"}
    # Her named story still carries her name (the checks above are about the anonymous one only).
    assert NAME in app.test_client().get(f"/stories/{world['named'].id}").get_data(as_text=True)


def test_reaction_lists_and_json_name_the_anonymous_parent(app, world, other_member):
    her, secret, theirs = world["her"], world["secret"], world["theirs"]
    data = (
        signed_in(app, other_member)
        .post(
            f"/replies/{theirs.id}/reactions",
            data={"kind": "hugs", "on": "1"},
            headers={"Accept": "application/json"},
        )
        .get_json()
    )
    assert data["people"]["hugs"] == ["Anonymous parent", other_member.pseudonym]
    assert_anonymous(str(data), her.id, "reaction json")
    page = app.test_client().get(f"/stories/{secret.id}").get_data(as_text=True)
    assert "2 parents sent hugs" in page


def test_notifications_to_others_never_name_her(app, world, other_member):
    her = world["her"]
    page = signed_in(app, other_member).get("/notifications").get_data(as_text=True)
    assert "quoted your reply" in page and "Anonymous parent" in page and "sent hugs" in page
    assert_anonymous(page, her.id, "notifications")


def test_blocks_of_either_kind_leave_no_trace(app, world, member, other_member):
    her, secret, named = world["her"], world["secret"], world["named"]
    blocker = signed_in(app, member)
    before = _surfaces(blocker, secret)
    named_reply = services.add_reply(her, named, body="Another named reply of hers, to block her from.")
    blocker.post(f"/care/block/reply/{named_reply.id}")
    after = _surfaces(blocker, secret)
    for name in before:
        assert (SECRET_TITLE in before[name]) == (SECRET_TITLE in after[name]), name
    assert blocker.get(f"/stories/{secret.id}").status_code == 200
    # From the anonymous story: the identity goes, her named posts stay.
    other = signed_in(app, other_member)
    assert other.get(f"/api/stories/{secret.id}/similar").status_code == 200
    other.post(f"/care/block/story/{secret.id}")
    assert other.get(f"/stories/{secret.id}").status_code == 404
    assert other.get(f"/api/stories/{secret.id}/similar").status_code == 404
    assert "Tea and biscuits" in other.get("/").get_data(as_text=True)
    settings = other.get("/settings").get_data(as_text=True)
    assert SECRET_TITLE in settings
    assert_anonymous(settings, her.id, "settings after blocking the identity")
    assert_anonymous(other.get(f"/stories/{secret.id}").get_data(as_text=True), her.id, "blocked page")


def test_similar_stories_never_name_her(app, world, member):
    app.config["SIMILAR_EMBED_ON_WRITE"] = True
    app.extensions.pop("similar_index", None)
    try:
        her = world["her"]
        from forum.similar import store

        store.embed_story(world["secret"])
        near = services.publish_story(
            member,
            title="Dark days",
            body="Since the baby came my days have gone dark and I cry in the car before nursery pick-up.",
        )
        client = signed_in(app, member)
        raw = client.post("/api/similar", json={"text": SECRET_BODY, "k": 5}).get_data(as_text=True)
        assert f'"id": {world["secret"].id}' in raw.replace('"id":', '"id": ').replace("  ", " ")
        assert_anonymous(raw, her.id, "api similar")
        api = client.get(f"/api/stories/{near.id}/similar").get_data(as_text=True)
        assert_anonymous(api, her.id, "api story similar")
        page = app.test_client().get(f"/stories/{near.id}").get_data(as_text=True)
        assert SECRET_TITLE in page
        assert_anonymous(page, her.id, "similar panel")
    finally:
        app.config["SIMILAR_EMBED_ON_WRITE"] = False
        app.extensions.pop("similar_index", None)


def test_another_members_export_does_not_contain_her(app, world, other_member):
    her = world["her"]
    for kind in ("json", "html"):
        text = signed_in(app, other_member).get(f"/settings/export.{kind}").get_data(as_text=True)
        assert "You are not alone, the lighthouse comes back on." in text, kind
        assert_anonymous(text, her.id, f"export {kind}")


def _rows_about(html: str, item: str) -> str:
    """The audit log's rows about one item ("story #3"); rows about her named posts rightly name her."""
    rows = [row for row in re.findall(r"<tr>.*?</tr>", html, re.S) if f"<td>{item}</td>" in row]
    assert rows, item
    return "\n".join(rows)


def _section(html: str, start: str, end: str = "</article>") -> str:
    at = html.index(start)
    return html[at : html.index(end, at)]


def test_moderators_see_only_the_anonymous_identity_without_the_reveal(app, world, moderator, member):
    her, secret, own = world["her"], world["secret"], world["own"]
    # A welfare report on the anonymous story and an ordinary one on her named story, both in the queue.
    signed_in(app, member).post(f"/report/story/{secret.id}", data={"reason": "at-risk"})
    signed_in(app, member).post(f"/report/story/{world['named'].id}", data={"reason": "spam"})
    signed_in(app, member).post(f"/report/reply/{own.id}", data={"reason": "off-topic"})
    mod_client = signed_in(app, moderator)
    queue = mod_client.get("/moderation").get_data(as_text=True)
    anonymous_entry = _section(queue, f'id="q-story-{secret.id}"')
    reply_entry = _section(queue, f'id="q-reply-{own.id}"')
    named_entry = _section(queue, f'id="q-story-{world["named"].id}"')
    assert NAME in named_entry and "joined" in named_entry and "1 past action" in named_entry
    for entry in (anonymous_entry, reply_entry):
        assert SECRET_TITLE in entry and "By Anonymous parent" in entry
        assert "joined" not in entry
        assert_anonymous(entry, her.id, "queue entry")
        # Counts are this anonymous story's alone: 2 reports on its posts, no past actions (her named
        # removal is not counted here).
        assert "2 reports on this anonymous story" in entry and "0 past actions" in entry
    item = mod_client.get(f"/moderation/story/{secret.id}").get_data(as_text=True)
    assert SECRET_TITLE in item and "The author: Anonymous parent" in item
    assert_anonymous(item, her.id, "item page")
    assert NAMED_REMOVAL_REASON not in item and "joined" not in item.lower()
    assert f"/moderation/members/{her.id}/" not in item
    story_page = mod_client.get(f"/stories/{secret.id}").get_data(as_text=True)
    assert "Who wrote this?" in story_page
    assert_anonymous(story_page, her.id, "story page as moderator")


def test_support_and_author_actions_on_anonymous_content_name_nobody_in_the_audit_log(
    app, world, moderator, member
):
    her, secret = world["her"], world["secret"]
    signed_in(app, member).post(f"/report/story/{secret.id}", data={"reason": "at-risk"})
    mod_client = signed_in(app, moderator)
    assert (
        mod_client.post(f"/moderation/story/{secret.id}/act", data={"action": "support"}).status_code == 302
    )
    warned = mod_client.post(
        f"/moderation/story/{secret.id}/author",
        data={"action": "warn", "reason": "Please keep replies kind."},
    )
    assert warned.status_code == 302
    db.session.expire_all()
    # Both reached her account, without anyone learning whose account that is.
    messages = db.session.scalars(sa.select(Notification.message).where(Notification.user_id == her.id)).all()
    assert any("Please keep replies kind." in m for m in messages)
    assert any("check in" in m for m in messages)
    rows = db.session.scalars(
        sa.select(AuditEntry).where(AuditEntry.target_type == "story", AuditEntry.target_id == secret.id)
    ).all()
    assert {r.action for r in rows} >= {"send-support", "warn"}
    assert all(r.subject_id is None for r in rows)
    log = _rows_about(mod_client.get("/moderation/audit").get_data(as_text=True), f"story #{secret.id}")
    assert "send-support" in log and "warn" in log
    assert_anonymous(log, her.id, "audit log")
    # Filtering the log by her pseudonym finds her named history, never the anonymous story.
    by_name = mod_client.get(f"/moderation/audit?member={NAME}").get_data(as_text=True)
    assert NAMED_REMOVAL_REASON in by_name and f"story #{secret.id}" not in by_name


def test_appeals_on_anonymous_content_read_anonymous_parent(app, world, moderator, admin):
    her, secret = world["her"], world["secret"]
    mod.act_on_item(moderator, target_of(secret), "remove", reason="other", message="Removed for review.")
    response = signed_in(app, her).post(
        f"/appeal/story/{secret.id}", data={"message": "Please look again, this is my own story."}
    )
    assert response.status_code == 302
    queue = signed_in(app, admin).get("/moderation").get_data(as_text=True)
    appeals = _section(queue, 'aria-labelledby="appeals-title"', "</section>")
    assert "Anonymous parent appeals the removal of a story" in appeals
    assert "Please look again" in appeals
    assert_anonymous(appeals, her.id, "appeals")


def test_only_the_audited_reveal_names_her(app, world, moderator):
    her, secret = world["her"], world["secret"]
    mod_client = signed_in(app, moderator)
    revealed = mod_client.post(f"/moderation/stories/{secret.id}/reveal", follow_redirects=True)
    assert NAME in revealed.get_data(as_text=True)
    row = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "reveal-author"))
    assert row is not None and row.actor_id == moderator.id and row.target_id == secret.id
    # The log records the look (who looked, at which story) without repeating the name to every moderator.
    log = _rows_about(mod_client.get("/moderation/audit").get_data(as_text=True), f"story #{secret.id}")
    assert "reveal-author" in log and moderator.pseudonym in log
    assert_anonymous(log, her.id, "audit log after a reveal")


def _entries(feed: str, story_id: int) -> str:
    """The Atom entries about this story (her named story may be in the same feed, under her name)."""
    found = [e for e in re.findall(r"<entry>.*?</entry>", feed, re.S) if f"/stories/{story_id}" in e]
    assert found, story_id
    return "\n".join(found)


def test_atom_feeds_following_and_me_never_name_her(app, world, other_member, member):
    her, secret = world["her"], world["secret"]
    visitor = app.test_client()
    for url in ("/feeds/stories.atom", "/feeds/tags/postnatal.atom"):
        entries = _entries(visitor.get(url).get_data(as_text=True), secret.id)
        assert SECRET_TITLE in entries and "Anonymous parent" in entries
        assert_anonymous(entries, her.id, url)
    replies = visitor.get(f"/stories/{secret.id}/replies.atom").get_data(as_text=True)
    assert "Anonymous parent (who shared this story)" in replies and "Quoting you back" in replies
    assert_anonymous(replies, her.id, "replies feed")
    # The replier follows the story by replying; her later anonymous reply reaches /following and /me.
    services.add_reply(her, secret, body="One more lighthouse reply from the author, later on.")
    follower = signed_in(app, other_member)
    signed_in(app, member).post("/tags/postnatal/follow", data={"on": "1"})
    for who, client in (("replier", follower), ("tag follower", signed_in(app, member))):
        for url in ("/following", "/me", "/notifications"):
            text = client.get(url).get_data(as_text=True)
            assert_anonymous(text, her.id, f"{who}: {url}")
    assert SECRET_TITLE in signed_in(app, member).get("/following").get_data(as_text=True)


def test_after_she_deletes_her_account_her_anonymous_posts_stay_anonymous(app, world, member):
    """Deleting with "keep" detaches her named posts as "a former member" but leaves the anonymous story as it
    was, so the two never change together (issue 12, finding 4); with "remove everything" it is gone."""
    from forum.auth.services import erase_account

    her, secret = world["her"], world["secret"]
    before = _surfaces(signed_in(app, member), secret)
    erase_account(her, keep_stories=True)
    after = _surfaces(signed_in(app, member), secret)
    for name in ("story", "api item"):
        assert "Anonymous parent" in after[name] and "former member" not in after[name].lower(), name
        assert OWN_REPLY in after[name] or name == "api item"
    assert before["api list"] == after["api list"]
    assert "a former member" in app.test_client().get(f"/stories/{world['named'].id}").get_data(as_text=True)


def test_remove_everything_leaves_no_trace_of_the_anonymous_story(app, world, member):
    from forum.auth.services import erase_account

    secret = world["secret"]
    erase_account(world["her"], keep_stories=False)
    client = signed_in(app, member)
    assert client.get(f"/stories/{secret.id}").get_data(as_text=True).count(SECRET_BODY[:40]) == 0
    assert client.get(f"/api/stories/{secret.id}").status_code == 404
    assert SECRET_TITLE not in client.get("/search?q=lighthouse").get_data(as_text=True)
    assert OWN_REPLY not in client.get("/search?q=lighthouse").get_data(as_text=True)


def test_followers_hear_of_her_anonymous_replies_whatever_they_blocked(app, world, member, other_member):
    """A follower who blocked her named self is told of her "Anonymous parent" replies like every follower;
    one who blocked the anonymous story itself hears nothing more of it."""
    her, secret, named = world["her"], world["secret"], world["named"]
    services.add_reply(member, secret, body="Following this one, sending love.")  # replying follows
    named_reply = services.add_reply(her, named, body="A named reply of hers to block her from.")
    signed_in(app, member).post(f"/care/block/reply/{named_reply.id}")
    signed_in(app, other_member).post(f"/care/block/story/{secret.id}")
    later = services.add_reply(her, secret, body="A later lighthouse reply from the anonymous author.")
    told = set(db.session.scalars(sa.select(Notification.user_id).where(Notification.reply_id == later.id)))
    assert member.id in told and other_member.id not in told
    page = signed_in(app, member).get("/notifications").get_data(as_text=True)
    assert "Anonymous parent" in page
    assert_anonymous(page, her.id, "follower notifications")


def test_the_mail_digest_applies_blocks_by_identity(app, world, member, other_member):
    """New stories in followed tags reach the digest like the site shows them: her anonymous story still
    reaches a member who blocked her named self, and not one who blocked the anonymous story."""
    from datetime import timedelta

    from forum.models import utcnow
    from forum.notifications.mail.digest import _tag_stories

    her, secret, named = world["her"], world["secret"], world["named"]
    named_reply = services.add_reply(her, named, body="A named reply of hers to block her from.")
    for client in (signed_in(app, member), signed_in(app, other_member)):
        client.post("/tags/postnatal/follow", data={"on": "1"})
    signed_in(app, member).post(f"/care/block/reply/{named_reply.id}")
    signed_in(app, other_member).post(f"/care/block/story/{secret.id}")
    since, until = utcnow() - timedelta(days=1), utcnow() + timedelta(minutes=1)
    assert secret.id in {s.id for s in db.session.scalars(_tag_stories(member, since, until))}
    assert secret.id not in {s.id for s in db.session.scalars(_tag_stories(other_member, since, until))}


def test_quoting_her_anonymous_posts_attributes_them_to_the_anonymous_parent(app, world, member):
    her, secret, own = world["her"], world["secret"], world["own"]
    client = signed_in(app, member)
    for ref in ("story", f"reply-{own.id}"):
        page = client.get(f"/stories/{secret.id}?quote={ref}").get_data(as_text=True)
        assert "Anonymous parent" in page and "lighthouse" in page, ref
        assert_anonymous(page, her.id, f"quote {ref}")
    posted = services.add_reply(member, secret, body=f"> {OWN_REPLY}\n\nThis made me cry too.", quoting=own)
    assert_anonymous(posted.body_html, her.id, "quoting reply")


def test_deleting_the_account_behind_an_anonymous_post_needs_the_audited_reveal(
    app, world, moderator, member
):
    """Delete spammer from an anonymous post would make her named posts vanish (and its message counted
    them), so it goes through the reveal first."""
    her, secret = world["her"], world["secret"]
    signed_in(app, member).post(f"/report/story/{secret.id}", data={"reason": "spam"})
    mod_client = signed_in(app, moderator)

    def decide() -> str:
        return mod_client.post(
            f"/moderation/story/{secret.id}/decide",
            data={"decision": "delete-spammer", "confirmed": "1"},
            follow_redirects=True,
        ).get_data(as_text=True)

    refused = decide()
    assert "Deleting the account behind an anonymous post shows who wrote it" in refused
    assert_anonymous(refused, her.id, "delete-spammer refusal")
    db.session.expire_all()
    assert db.session.get(User, her.id).deleted_at is None
    assert "Tea and biscuits" in app.test_client().get("/").get_data(as_text=True)
    mod_client.post(f"/moderation/stories/{secret.id}/reveal")
    assert "Deleted the account" in decide()
    db.session.expire_all()
    assert db.session.get(User, her.id).deleted_at is not None


def test_restricting_an_anonymous_author_answers_the_same_whoever_she_is(app, moderator, admin):
    """A refusal only when the anonymous author is staff would say she is staff: from an anonymous post a
    moderator may warn anyone, and suspends only after the audited reveal (admins may act directly)."""
    staff_author = make_user(pseudonym="QuietModerator", role="moderator")
    plain_author = make_user(pseudonym="QuietMember")
    answers = {}
    for author in (staff_author, plain_author):
        story = services.publish_story(
            author, title="Anon", body=f"{SECRET_BODY} ({author.id})", anonymous=True
        )
        client = signed_in(app, moderator)

        def act(action: str, client=client, story=story) -> str:
            return client.post(
                f"/moderation/story/{story.id}/author",
                data={"action": action, "reason": "Please be kinder.", "days": "2"},
                follow_redirects=True,
            ).get_data(as_text=True)

        answers[author.pseudonym] = (
            "Done: warn." in act("warn"),
            "Only an admin can restrict the author of an anonymous post" in act("suspend"),
        )
        assert author.pseudonym not in act("ban")
    assert answers["QuietModerator"] == answers["QuietMember"] == (True, True)
    db.session.expire_all()
    assert db.session.get(User, plain_author.id).suspended_until is None
    story = db.session.scalar(sa.select(Story).where(Story.author_id == plain_author.id))
    done = signed_in(app, admin).post(
        f"/moderation/story/{story.id}/author",
        data={"action": "suspend", "reason": "Please be kinder.", "days": "2"},
        follow_redirects=True,
    )
    assert "Done: suspend." in done.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, plain_author.id).suspended_until is not None


def test_anonymity_is_fixed_when_a_story_is_posted(app):
    """Switching on edit would give false cover to a named story and unmask an anonymous one's replies."""
    from forum.errors import ValidationFailed
    from forum.stories import services as story_services
    from tests.factories import make_story, make_user, signed_in_client

    author = make_user(pseudonym="Zephyrine")
    named = make_story(author, title="Named morning")
    hidden = make_story(author, title="Quiet morning", anonymous=True)
    client = signed_in_client(app, author)
    page = client.get(f"/stories/{hidden.id}/edit").get_data(as_text=True)
    assert 'name="anonymous"' not in page and "fixed when it is posted" in page
    client.post(
        f"/stories/{named.id}/edit",
        data={"title": "Named morning", "body": named.body, "tags": "", "anonymous": "y"},
    )
    client.post(
        f"/stories/{hidden.id}/edit", data={"title": "Quiet morning", "body": hidden.body, "tags": ""}
    )
    db.session.expire_all()
    assert named.anonymous is False and hidden.anonymous is True
    with pytest.raises(ValidationFailed):
        story_services.edit_story(author, hidden, body=hidden.body, title="Quiet morning", anonymous=False)
