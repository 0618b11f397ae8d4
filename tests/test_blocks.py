"""Blocking hides both ways and stops replies; muted tags and content-note choices shape what members see."""

from __future__ import annotations

import pytest

from forum.extensions import db
from forum.models import Block
from forum.stories import services
from tests.factories import signed_in_client
from tests.test_migrations import empty_database_url as _scratch_database  # noqa: F401 (the fixture)

BODY = "A hard morning at the nursery gate, lots of tears and a long walk back to the car."


@pytest.fixture
def pair(app, member, other_member):
    mine = services.publish_story(member, title="Mine", body=BODY + " mine", tags="nursery")
    theirs = services.publish_story(other_member, title="Theirs", body=BODY + " theirs", tags="nursery")
    reply = services.add_reply(other_member, mine, body="A reply from the other member here.")
    signed_in_client(app, member).post(f"/care/block/reply/{reply.id}")
    return mine, theirs, reply


def test_blocking_hides_both_ways(app, member, other_member, pair):
    mine, theirs, _reply = pair
    me, them = signed_in_client(app, member), signed_in_client(app, other_member)
    for url in ("/", "/tags/nursery", "/search?q=nursery", "/api/stories"):
        assert "Theirs" not in me.get(url).get_data(as_text=True), url
        assert "Mine" not in them.get(url).get_data(as_text=True), url
    assert me.get(f"/stories/{theirs.id}").status_code == 404
    assert them.get(f"/stories/{mine.id}").status_code == 404
    assert "A reply from the other member" not in me.get(f"/stories/{mine.id}").get_data(as_text=True)
    assert "Theirs" in app.test_client().get("/").get_data(as_text=True)  # visitors still see everything


def test_blocked_members_cannot_reply_or_react_to_each_other(app, member, other_member, pair):
    mine, theirs, _reply = pair
    me = signed_in_client(app, member)
    assert me.post(
        f"/stories/{theirs.id}/replies", data={"body": "Trying to reply across a block."}
    ).status_code in (403, 404)
    with pytest.raises(Exception, match="can't reply"):
        services.add_reply(other_member, mine, body="Replying to someone who blocked me.")


def test_block_from_anonymous_story_never_reveals_author(app, member, other_member):
    secret = services.publish_story(other_member, title="Anon", body=BODY, anonymous=True)
    me = signed_in_client(app, member)
    me.post(f"/care/block/story/{secret.id}")
    settings = me.get("/settings").get_data(as_text=True)
    assert other_member.pseudonym not in settings and "who shared the anonymous story “Anon”" in settings
    block = db.session.query(Block).one()
    assert block.blocked_id is None and block.blocked_story_id == secret.id  # the identity, not the member
    me.post(f"/settings/blocks/{block.id}/delete")
    assert db.session.query(Block).count() == 0


def test_cannot_block_yourself(app, member):
    story = services.publish_story(member, title="Mine", body=BODY)
    signed_in_client(app, member).post(f"/care/block/story/{story.id}")
    assert db.session.query(Block).count() == 0


def test_muted_tags_leave_feeds_and_similar(app, member, other_member):
    services.publish_story(other_member, title="Sleep story", body=BODY + " sleep", tags="sleep")
    services.publish_story(other_member, title="Food story", body=BODY + " food", tags="food")
    me = signed_in_client(app, member)
    me.post("/settings/seeing", data={"muted_tags": "#Sleep, nothing"})
    html = me.get("/").get_data(as_text=True)
    assert "Sleep story" not in html and "Food story" in html
    assert 'value="sleep nothing"' in me.get("/settings").get_data(as_text=True)


def test_content_note_modes(app, member, other_member):
    services.publish_story(
        other_member,
        title="Loss",
        body="A very painful story to read about our loss.",
        content_note="baby-loss",
    )
    me = signed_in_client(app, member)
    assert "Content note" in me.get("/").get_data(as_text=True)
    me.post("/settings/seeing", data={"note-baby-loss": "show"})
    shown = me.get("/").get_data(as_text=True)
    assert "A very painful story" in shown
    me.post("/settings/seeing", data={"note-baby-loss": "hide"})
    assert "Loss" not in me.get("/").get_data(as_text=True)


def test_blocked_members_reactions_are_not_listed(app, member, other_member):
    story = services.publish_story(member, title="Mine", body=BODY)
    services.toggle_reaction(other_member, kind="hugs", story=story)
    me = signed_in_client(app, member)
    assert other_member.pseudonym in me.get(f"/stories/{story.id}").get_data(as_text=True)
    reply_holder = services.add_reply(
        other_member, story, body="A reply so there is something to block from."
    )
    me.post(f"/care/block/reply/{reply_holder.id}")
    assert other_member.pseudonym not in me.get(f"/stories/{story.id}").get_data(as_text=True)


# What blocking means for anonymous posts (issue 12, finding 1): a block on a member touches her named posts
# only, and a block made from an anonymous post touches that post's anonymous identity only. Nothing either
# side sees may differ in a way that ties an anonymous post to a named member.

ANON_BODY = "Nobody knows how dark the nights have been since the baby came, and I can't say it out loud."


@pytest.fixture
def her(app, other_member):
    """other_member's named story and reply, and her anonymous story with her own "Anonymous parent" reply."""
    named = services.publish_story(other_member, title="Named story", body=BODY + " named", tags="nursery")
    anonymous = services.publish_story(other_member, title="Quiet nights", body=ANON_BODY, anonymous=True)
    own_reply = services.add_reply(other_member, anonymous, body="Thank you all, it helps to read this.")
    return named, anonymous, own_reply


def _anonymous_surfaces(client, story):
    """Everything a member can see of one anonymous story: page, feeds, search, API list and item."""
    page = client.get(f"/stories/{story.id}")
    return {
        "page": (page.status_code, "Quiet nights" in page.text, "it helps to read this" in page.text),
        "home": "Quiet nights" in client.get("/").text,
        "search": "Quiet nights" in client.get("/search?q=dark+nights").text,
        "api": any(s["id"] == story.id for s in client.get("/api/stories").get_json()["stories"]),
        "api_item": client.get(f"/api/stories/{story.id}").status_code,
    }


def test_block_on_a_named_member_never_changes_her_anonymous_posts(app, member, other_member, her):
    named, anonymous, _own = her
    me = signed_in_client(app, member)
    before = _anonymous_surfaces(me, anonymous)
    assert before["page"] == (200, True, True) and before["home"] and before["search"] and before["api"]
    reply = services.add_reply(other_member, named, body="A named reply to block her from.")
    me.post(f"/care/block/reply/{reply.id}")
    assert db.session.query(Block).one().blocked_id == other_member.id
    assert "Named story" not in me.get("/").text  # the named block works
    assert _anonymous_surfaces(me, anonymous) == before  # and her anonymous story is untouched
    # Replying and reacting to the anonymous story are not refused either.
    assert (
        me.post(f"/stories/{anonymous.id}/replies", data={"body": "Sending you strength."}).status_code == 302
    )
    assert me.post(f"/stories/{anonymous.id}/reactions", data={"kind": "hugs", "on": "1"}).status_code == 302
    # The blocker's reply there is a named post, so the author doesn't see it (the named block, both ways);
    # the blocker sees the story, her "Anonymous parent" reply and no name.
    assert (
        "Sending you strength."
        not in signed_in_client(app, other_member).get(f"/stories/{anonymous.id}").text
    )
    page = me.get(f"/stories/{anonymous.id}").text
    assert "Sending you strength." in page and "it helps to read this" in page
    assert "Anonymous parent" in page and other_member.pseudonym not in page


def test_block_from_an_anonymous_post_never_touches_her_named_posts(app, member, other_member, her):
    named, anonymous, own_reply = her
    other_anonymous = services.publish_story(
        other_member, title="Another quiet one", body=ANON_BODY + " again", anonymous=True
    )
    me = signed_in_client(app, member)
    services.add_reply(other_member, named, body="Her named reply stays in view.")
    me.post(f"/care/block/reply/{own_reply.id}")  # from her "Anonymous parent" reply: blocks the identity
    block = db.session.query(Block).one()
    assert block.blocked_id is None and block.blocked_story_id == anonymous.id
    # Her named story, her named reply and her other anonymous story are all exactly as before.
    for url in ("/", "/tags/nursery", "/search?q=nursery", "/api/stories"):
        assert "Named story" in me.get(url).text, url
    assert "Her named reply stays in view." in me.get(f"/stories/{named.id}").text
    assert me.get(f"/stories/{other_anonymous.id}").status_code == 200
    assert (
        me.post(f"/stories/{named.id}/replies", data={"body": "Replying to her named story."}).status_code
        == 302
    )
    # The blocked identity is gone everywhere, with a message that names nobody.
    after = _anonymous_surfaces(me, anonymous)
    assert after["page"][0] == 404 and not after["home"] and not after["search"] and not after["api"]
    assert after["api_item"] == 404
    assert other_member.pseudonym not in me.get(f"/stories/{anonymous.id}").text
    # And she, signed in, still sees the blocker's named posts everywhere.
    mine = services.publish_story(member, title="Blocker story", body=BODY + " blocker", tags="nursery")
    them = signed_in_client(app, other_member)
    assert "Blocker story" in them.get("/").text and them.get(f"/stories/{mine.id}").status_code == 200
    assert them.post(f"/stories/{mine.id}/replies", data={"body": "Her named reply here."}).status_code == 302


def test_anonymous_identity_block_hides_the_blocker_inside_that_story_only(app, member, other_member, her):
    _named, anonymous, own_reply = her
    services.add_reply(member, anonymous, body="The blocker's earlier reply here.")
    services.toggle_reaction(member, kind="hugs", story=anonymous)
    signed_in_client(app, member).post(f"/care/block/story/{anonymous.id}")
    page = signed_in_client(app, other_member).get(f"/stories/{anonymous.id}").text
    assert "The blocker's earlier reply here." not in page and member.pseudonym not in page
    with pytest.raises(Exception, match="blocked"):
        services.add_reply(member, anonymous, body="Replying after blocking the story.")


def test_blocking_an_anonymous_identity_works_without_a_current_author(app, member, other_member, her):
    _named, anonymous, _own = her
    anonymous.author_id = None  # as after an account deletion that kept the story
    db.session.commit()
    me = signed_in_client(app, member)
    assert "Block this person" in me.get(f"/stories/{anonymous.id}").text
    me.post(f"/care/block/story/{anonymous.id}")
    assert db.session.query(Block).one().blocked_story_id == anonymous.id


def test_migration_turns_old_anonymous_blocks_into_identity_blocks(tmp_path, request):
    """Migration 0003: a block once made from an anonymous story (on the member) becomes a block on each of
    her anonymous stories, so the blocker still doesn't see those and sees her named posts again; audit rows
    about anonymous posts lose the member."""
    import sqlalchemy as sa
    from flask_migrate import downgrade, upgrade

    from tests.conftest import make_app

    app = make_app(tmp_path, request.getfixturevalue("_scratch_database"))  # SQLite or scratch PostgreSQL
    with app.app_context():
        upgrade(revision="0002")
        with db.engine.begin() as connection:
            run = connection.execute
            for uid, name in ((1, "blocker"), (2, "writer"), (3, "named")):
                run(
                    sa.text(
                        "INSERT INTO users (id, pseudonym, pseudonym_key, email, password_hash, role, "
                        "created_at, credentials_version) VALUES (:id, :n, :n, :e, 'x', 'member', :t, 0)"
                    ),
                    {"id": uid, "n": name, "e": f"{name}@example.test", "t": "2026-01-01 00:00:00"},
                )
            for sid, author, anonymous in ((10, 2, True), (11, 2, True), (12, 2, False)):
                run(
                    sa.text(
                        "INSERT INTO stories (id, author_id, anonymous, body, body_html, status, locked, "
                        "created_at, last_activity_at, reply_count, reaction_count, update_count) "
                        "VALUES (:id, :a, :anon, 'b', '', 'published', false, :t, :t, 0, 0, 0)"
                    ),
                    {"id": sid, "a": author, "anon": anonymous, "t": "2026-01-01 00:00:00"},
                )
            insert_block = sa.text(
                "INSERT INTO blocks (blocker_id, blocked_id, via_anonymous, created_at) "
                "VALUES (:a, :b, :v, '2026-01-01 00:00:00')"
            )
            run(insert_block, {"a": 1, "b": 2, "v": True})
            run(insert_block, {"a": 1, "b": 3, "v": False})
            run(
                sa.text(
                    "INSERT INTO audit_entries (action, target_type, target_id, subject_id, reason, "
                    "created_at) VALUES ('send-support', 'story', 10, 2, '', '2026-01-01 00:00:00'), "
                    "('remove', 'story', 12, 2, '', '2026-01-01 00:00:00')"
                )
            )
        upgrade(revision="0003")
        with db.engine.connect() as connection:
            blocks = connection.execute(
                sa.text("SELECT blocker_id, blocked_id, blocked_story_id FROM blocks ORDER BY id")
            ).all()
            subjects = dict(
                connection.execute(sa.text("SELECT target_id, subject_id FROM audit_entries")).all()
            )
        assert sorted(blocks, key=str) == sorted([(1, 3, None), (1, None, 10), (1, None, 11)], key=str)
        assert subjects == {10: None, 12: 2}
        downgrade(revision="0002")
        with db.engine.connect() as connection:
            back = connection.execute(
                sa.text("SELECT blocker_id, blocked_id, via_anonymous FROM blocks ORDER BY blocked_id")
            ).all()
        assert [(a, b, bool(v)) for a, b, v in back] == [(1, 2, True), (1, 3, False)]
        downgrade(revision="base")
        db.engine.dispose()


def test_block_buttons_send_the_pages_one_form_to_their_own_address(app, member, other_member, monkeypatch):
    """Each "Block this member" button on a story page names the page's one hidden form and its own address
    (formaction): one CSRF token for the page, not one per reply; sent as a browser sends it, the block holds."""
    import re

    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    story = services.publish_story(member, title="Mine", body=BODY, tags="nursery")
    reply = services.add_reply(other_member, story, body="A reply from the other member here.")
    me = signed_in_client(app, member)
    page = me.get(f"/stories/{story.id}").get_data(as_text=True)
    forms = re.findall(
        r'<form method="post" id="block-form" action="[^"]+" hidden>\s*<input[^>]*value="([^"]+)"', page
    )
    assert len(forms) == 1 and len(re.findall(r'(?<!form)action="/care/block/', page)) == 1
    button = re.search(
        rf'<button type="submit" form="block-form" formaction="/care/block/reply/{reply.id}"', page
    )
    assert button, "the reply's block button does not send the page's form to its own address"
    assert me.post(f"/care/block/reply/{reply.id}", data={"csrf_token": forms[0]}).status_code == 302
    assert db.session.query(Block).one().blocked_id == other_member.id
    assert "A reply from the other member" not in me.get(f"/stories/{story.id}").get_data(as_text=True)
