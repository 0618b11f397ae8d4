"""Authorisation on every protected story path: other members get 403, visitors are sent to sign in."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from forum.models import Reply, Story, User
from forum.stories import services
from tests import factories
from tests.test_stories import fresh_login_per_request  # noqa: F401

OWNER_ONLY = [
    ("GET", "/stories/{story}/edit"),
    ("POST", "/stories/{story}/edit"),
    ("GET", "/stories/{story}/delete"),
    ("POST", "/stories/{story}/delete"),
    ("GET", "/stories/{story}/updates/new"),
    ("POST", "/stories/{story}/updates/new"),
    ("GET", "/replies/{reply}/edit"),
    ("POST", "/replies/{reply}/edit"),
    ("GET", "/replies/{reply}/delete"),
    ("POST", "/replies/{reply}/delete"),
]
MEMBERS_ONLY = OWNER_ONLY + [
    ("GET", "/stories/new"),
    ("POST", "/stories/new"),
    ("POST", "/stories/{story}/replies"),
    ("POST", "/stories/{story}/reactions"),
    ("POST", "/replies/{reply}/reactions"),
    ("POST", "/drafts/story"),
    ("DELETE", "/drafts/story"),
    ("GET", "/notifications"),
    ("POST", "/notifications/read-all"),
]
FORGED = {
    "body": "Forged text that is long enough to pass.",
    "title": "forged",
    "outcome": "better",
    "remove_everything": "y",
    "kind": "hugs",
}


@pytest.fixture
def targets(member: User, other_member: User) -> dict[str, int]:
    story = factories.make_story(member, title="Mine")
    reply = services.add_reply(member, story, body="My own reply here.")
    return {"story": story.id, "reply": reply.id}


@pytest.mark.parametrize("method, path", OWNER_ONLY)
def test_another_member_gets_403_and_nothing_changes(
    app: Flask, targets: dict[str, int], other_member: User, method: str, path: str
) -> None:
    c = factories.signed_in_client(app, other_member)
    response = c.open(path.format(**targets), method=method, data=FORGED)
    assert response.status_code == 403
    story = __import__("forum.extensions", fromlist=["db"]).db.session.get(Story, targets["story"])
    reply = __import__("forum.extensions", fromlist=["db"]).db.session.get(Reply, targets["reply"])
    assert story.status == "published" and story.body != FORGED["body"] and story.update_count == 0
    assert reply.status == "published" and reply.body == "My own reply here."


@pytest.mark.parametrize("method, path", MEMBERS_ONLY)
def test_visitors_are_sent_to_sign_in(
    client: FlaskClient, targets: dict[str, int], method: str, path: str
) -> None:
    response = client.open(path.format(**targets), method=method, data=FORGED)
    assert response.status_code in (302, 401)
    if response.status_code == 302:
        assert "/login" in response.location


def test_edit_links_are_shown_only_to_the_author(
    app: Flask, targets: dict[str, int], member: User, other_member: User
) -> None:
    mine = factories.signed_in_client(app, member).get(f"/stories/{targets['story']}").text
    theirs = factories.signed_in_client(app, other_member).get(f"/stories/{targets['story']}").text
    assert f"/stories/{targets['story']}/edit" in mine and f"/replies/{targets['reply']}/delete" in mine
    assert (
        f"/stories/{targets['story']}/edit" not in theirs
        and f"/replies/{targets['reply']}/delete" not in theirs
    )


def test_a_post_without_a_csrf_token_is_rejected(
    app: Flask, member: User, targets: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    c = factories.signed_in_client(app, member)
    assert c.post(f"/stories/{targets['story']}/reactions", data={"kind": "hugs"}).status_code == 400
    assert c.post("/drafts/story", json={"body": "x"}).status_code == 400
