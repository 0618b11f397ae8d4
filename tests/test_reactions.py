"""Supportive reactions: one of each per member, toggled, counted as people, with and without JavaScript."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask

from forum.extensions import db
from forum.models import Notification, Reaction, Story, User
from forum.stories import services
from tests import factories
from tests.test_stories import fresh_login_per_request  # noqa: F401


def test_form_post_sets_the_state_and_redirects_to_the_item(
    app: Flask, member: User, other_member: User
) -> None:
    story = factories.make_story(member)
    c = factories.signed_in_client(app, other_member)
    response = c.post(f"/stories/{story.id}/reactions", data={"kind": "hugs"})
    assert response.status_code == 302 and response.location.endswith(f"/stories/{story.id}#reactions-story")
    page = c.get(f"/stories/{story.id}").text
    assert "1 parent sent hugs" in page and 'aria-pressed="true"' in page
    assert 'name="react" value="hugs:0"' in page  # the pressed button now asks to take it back
    assert page.count('name="react" value="') == 4 and page.count('class="reaction-form"') == 1
    c.post(f"/stories/{story.id}/reactions", data={"react": "hugs:0"})
    db.session.expire_all()
    assert db.session.get(Story, story.id).reaction_count == 0
    assert "parent sent hugs" not in c.get(f"/stories/{story.id}").text


def test_json_path_returns_counts_and_people(app: Flask, member: User, other_member: User) -> None:
    story = factories.make_story(member)
    reply = services.add_reply(member, story, body="A reply to react to.")
    c = factories.signed_in_client(app, other_member)
    data = c.post(
        f"/replies/{reply.id}/reactions", data={"kind": "been-there"}, headers={"Accept": "application/json"}
    ).get_json()
    assert (
        data["on"] is True
        and data["counts"]["been-there"] == 1
        and data["people"]["been-there"] == ["RainyDad"]
    )
    assert data["mine"] == ["been-there"]
    data = c.post(
        f"/replies/{reply.id}/reactions",
        data={"kind": "been-there", "on": "0"},
        headers={"Accept": "application/json"},
    ).get_json()
    assert data["on"] is False and data["counts"]["been-there"] == 0


def test_counts_are_people_not_taps(member: User) -> None:
    story = factories.make_story(member)
    parents = [factories.make_user() for _ in range(3)]
    for parent in parents:
        services.toggle_reaction(parent, kind="hugs", story=story)
        services.toggle_reaction(parent, kind="been-there", story=story)
    services.toggle_reaction(parents[0], kind="me-too", story=story)
    db.session.expire_all()
    assert story.reaction_count == 3
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Reaction)) == 7


def test_page_shows_people_and_who(app: Flask, client, member: User) -> None:
    story = factories.make_story(member)
    for _ in range(12):
        services.toggle_reaction(factories.make_user(), kind="been-there", story=story)
    page = client.get(f"/stories/{story.id}").text
    assert "12 parents have been there" in page
    assert "Parent" in page  # the list of who reacted
    assert "most liked" not in page.lower() and "downvote" not in page.lower()


def test_unknown_kind_is_refused(app: Flask, member: User, other_member: User) -> None:
    story = factories.make_story(member)
    response = factories.signed_in_client(app, other_member).post(
        f"/stories/{story.id}/reactions", data={"kind": "downvote"}
    )
    assert response.status_code == 400
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Reaction)) == 0


def _state(story: Story) -> tuple[int, int]:
    db.session.expire_all()
    rows = db.session.scalar(
        sa.select(sa.func.count()).select_from(Reaction).where(Reaction.story_id == story.id)
    )
    return db.session.get(Story, story.id).reaction_count, rows or 0


def test_a_repeated_request_leaves_the_same_state_and_counts(
    app: Flask, member: User, other_member: User
) -> None:
    """Issue 13 (8): the wanted state travels with the request, so a tap whose answer was lost is resent."""
    story = factories.make_story(member)
    c = factories.signed_in_client(app, other_member)
    json = {"Accept": "application/json"}
    for _ in range(3):
        data = c.post(
            f"/stories/{story.id}/reactions", data={"kind": "hugs", "on": "1"}, headers=json
        ).get_json()
        assert data["on"] is True and data["counts"]["hugs"] == 1 and _state(story) == (1, 1)
    notes = db.session.scalars(sa.select(Notification).where(Notification.user_id == member.id)).all()
    assert [n.actor_count for n in notes] == [1]  # one notification, counted once
    for _ in range(2):
        data = c.post(
            f"/stories/{story.id}/reactions", data={"kind": "hugs", "on": "0"}, headers=json
        ).get_json()
        assert data["on"] is False and data["counts"]["hugs"] == 0 and _state(story) == (0, 0)
    # A form post without a state sends the reaction (and sending it again keeps it sent).
    c.post(f"/stories/{story.id}/reactions", data={"kind": "hugs"})
    c.post(f"/stories/{story.id}/reactions", data={"kind": "hugs"})
    assert _state(story) == (1, 1)
    assert c.post(f"/stories/{story.id}/reactions", data={"kind": "hugs", "on": "maybe"}).status_code == 400
    # A state sent empty, or a button's value without one, is unclear too: refused, nothing changes.
    for unclear in ({"kind": "hugs", "on": ""}, {"react": "hugs"}, {"react": "hugs:maybe"}):
        assert c.post(f"/stories/{story.id}/reactions", data=unclear).status_code == 400, unclear
    assert _state(story) == (1, 1)


def test_set_reaction_service_is_idempotent(member: User, other_member: User) -> None:
    story = factories.make_story(member)
    assert services.set_reaction(other_member, kind="me-too", on=True, story=story) is True
    assert services.set_reaction(other_member, kind="me-too", on=True, story=story) is True
    assert _state(story) == (1, 1)
    assert services.set_reaction(other_member, kind="me-too", on=False, story=story) is False
    assert services.set_reaction(other_member, kind="me-too", on=False, story=story) is False
    assert _state(story) == (0, 0)


def test_the_authors_own_reaction_on_her_anonymous_story_shows_as_anonymous(
    app: Flask, member: User, other_member: User
) -> None:
    """Issue 12 (2): her "me too" on her own anonymous story (or a reply in it) never shows her pseudonym."""
    story = factories.make_story(member, title="Anonymous one", anonymous=True)
    reply = services.add_reply(other_member, story, body="A reply she reacts to in her own thread.")
    services.set_reaction(member, kind="me-too", on=True, story=story)
    services.set_reaction(member, kind="hugs", on=True, reply=reply)
    services.set_reaction(other_member, kind="me-too", on=True, story=story)
    for viewer in (app.test_client(), factories.signed_in_client(app, other_member)):
        page = viewer.get(f"/stories/{story.id}").text
        assert member.pseudonym not in page
        assert "2 parents said “me too”" in page and "Anonymous parent, RainyDad" in page
        assert "1 parent sent hugs" in page
    data = (
        factories.signed_in_client(app, other_member)
        .post(
            f"/replies/{reply.id}/reactions",
            data={"kind": "hugs", "on": "1"},
            headers={"Accept": "application/json"},
        )
        .get_json()
    )
    assert data["people"]["hugs"] == ["Anonymous parent", "RainyDad"]
    # Her reactions elsewhere are her named self's, as before.
    named = factories.make_story(other_member, title="Named one")
    services.set_reaction(member, kind="hugs", on=True, story=named)
    assert member.pseudonym in app.test_client().get(f"/stories/{named.id}").text
