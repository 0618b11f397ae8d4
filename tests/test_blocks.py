"""Blocking hides both ways and stops replies; muted tags and content-note choices shape what a member sees."""

from __future__ import annotations

import pytest

from forum.extensions import db
from forum.models import Block
from forum.stories import services
from tests.factories import login

BODY = "A hard morning at the nursery gate, lots of tears and a long walk back to the car."


def as_user(app, user):
    client = app.test_client()
    login(client, user)
    return client


@pytest.fixture
def pair(app, member, other_member):
    mine = services.publish_story(member, title="Mine", body=BODY + " mine", tags="nursery")
    theirs = services.publish_story(other_member, title="Theirs", body=BODY + " theirs", tags="nursery")
    reply = services.add_reply(other_member, mine, body="A reply from the other member here.")
    as_user(app, member).post(f"/care/block/reply/{reply.id}")
    return mine, theirs, reply


def test_blocking_hides_both_ways(app, member, other_member, pair):
    mine, theirs, _reply = pair
    me, them = as_user(app, member), as_user(app, other_member)
    for url in ("/", "/tags/nursery", "/search?q=nursery", "/api/stories"):
        assert "Theirs" not in me.get(url).get_data(as_text=True), url
        assert "Mine" not in them.get(url).get_data(as_text=True), url
    assert me.get(f"/stories/{theirs.id}").status_code == 404
    assert them.get(f"/stories/{mine.id}").status_code == 404
    assert "A reply from the other member" not in me.get(f"/stories/{mine.id}").get_data(as_text=True)
    assert "Theirs" in app.test_client().get("/").get_data(as_text=True)  # visitors still see everything


def test_blocked_members_cannot_reply_or_react_to_each_other(app, member, other_member, pair):
    mine, theirs, _reply = pair
    me = as_user(app, member)
    assert me.post(
        f"/stories/{theirs.id}/replies", data={"body": "Trying to reply across a block."}
    ).status_code in (403, 404)
    with pytest.raises(Exception, match="can't reply"):
        services.add_reply(other_member, mine, body="Replying to someone who blocked me.")


def test_block_from_anonymous_story_never_reveals_author(app, member, other_member):
    secret = services.publish_story(other_member, title="Anon", body=BODY, anonymous=True)
    me = as_user(app, member)
    me.post(f"/care/block/story/{secret.id}")
    settings = me.get("/settings").get_data(as_text=True)
    assert other_member.pseudonym not in settings and "blocked from an anonymous story" in settings
    block = db.session.query(Block).one()
    me.post(f"/settings/blocks/{block.id}/delete")
    assert db.session.query(Block).count() == 0


def test_cannot_block_yourself(app, member):
    story = services.publish_story(member, title="Mine", body=BODY)
    as_user(app, member).post(f"/care/block/story/{story.id}")
    assert db.session.query(Block).count() == 0


def test_muted_tags_leave_feeds_and_similar(app, member, other_member):
    services.publish_story(other_member, title="Sleep story", body=BODY + " sleep", tags="sleep")
    services.publish_story(other_member, title="Food story", body=BODY + " food", tags="food")
    me = as_user(app, member)
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
    me = as_user(app, member)
    assert "Content note" in me.get("/").get_data(as_text=True)
    me.post("/settings/seeing", data={"note-baby-loss": "show"})
    shown = me.get("/").get_data(as_text=True)
    assert "A very painful story" in shown
    me.post("/settings/seeing", data={"note-baby-loss": "hide"})
    assert "Loss" not in me.get("/").get_data(as_text=True)


def test_blocked_members_reactions_are_not_listed(app, member, other_member):
    story = services.publish_story(member, title="Mine", body=BODY)
    services.toggle_reaction(other_member, kind="hugs", story=story)
    me = as_user(app, member)
    assert other_member.pseudonym in me.get(f"/stories/{story.id}").get_data(as_text=True)
    reply_holder = services.add_reply(
        other_member, story, body="A reply so there is something to block from."
    )
    me.post(f"/care/block/reply/{reply_holder.id}")
    assert other_member.pseudonym not in me.get(f"/stories/{story.id}").get_data(as_text=True)
