"""Supportive reactions: one of each per member, toggled, counted as people, with and without JavaScript."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask

from forum.extensions import db
from forum.models import Reaction, Story, User
from forum.stories import services
from tests import factories
from tests.test_stories import client_for, fresh_login_per_request, make_story  # noqa: F401


def test_form_post_toggles_and_redirects_to_the_item(app: Flask, member: User, other_member: User) -> None:
    story = make_story(member)
    c = client_for(app, other_member)
    response = c.post(f"/stories/{story.id}/reactions", data={"kind": "hugs"})
    assert response.status_code == 302 and response.location.endswith(f"/stories/{story.id}#reactions-story")
    page = c.get(f"/stories/{story.id}").text
    assert "1 parent sent hugs" in page and 'aria-pressed="true"' in page
    c.post(f"/stories/{story.id}/reactions", data={"kind": "hugs"})
    db.session.expire_all()
    assert db.session.get(Story, story.id).reaction_count == 0
    assert "parent sent hugs" not in c.get(f"/stories/{story.id}").text


def test_json_path_returns_counts_and_people(app: Flask, member: User, other_member: User) -> None:
    story = make_story(member)
    reply = services.add_reply(member, story, body="A reply to react to.")
    c = client_for(app, other_member)
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
        f"/replies/{reply.id}/reactions", data={"kind": "been-there"}, headers={"Accept": "application/json"}
    ).get_json()
    assert data["on"] is False and data["counts"]["been-there"] == 0


def test_counts_are_people_not_taps(member: User) -> None:
    story = make_story(member)
    parents = [factories.make_user() for _ in range(3)]
    for parent in parents:
        services.toggle_reaction(parent, kind="hugs", story=story)
        services.toggle_reaction(parent, kind="been-there", story=story)
    services.toggle_reaction(parents[0], kind="me-too", story=story)
    db.session.expire_all()
    assert story.reaction_count == 3
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Reaction)) == 7


def test_page_shows_people_and_who(app: Flask, client, member: User) -> None:
    story = make_story(member)
    for _ in range(12):
        services.toggle_reaction(factories.make_user(), kind="been-there", story=story)
    page = client.get(f"/stories/{story.id}").text
    assert "12 parents have been there" in page
    assert "Parent" in page  # the list of who reacted
    assert "most liked" not in page.lower() and "downvote" not in page.lower()


def test_unknown_kind_is_refused(app: Flask, member: User, other_member: User) -> None:
    story = make_story(member)
    response = client_for(app, other_member).post(f"/stories/{story.id}/reactions", data={"kind": "downvote"})
    assert response.status_code == 400
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Reaction)) == 0
