"""Every form view that takes typed text keeps it the same way (forum.typed_text): the list of views comes
from the app, so a new guarded view without a case here fails the first test."""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from forum.auth import services as auth_services
from forum.extensions import db
from forum.models import Reply, Status, Story, StoryUpdate, User
from forum.stories import lifecycle
from forum.typed_text import guarded_views
from tests import factories

TEXT = "Bedtime was so hard tonight, marker-7Q3 words I typed and want to keep."


@dataclass
class World:
    author: User
    story: Story
    reply: Reply
    other: User
    removed: Reply  # the author's reply a moderator removed (she may appeal)


@dataclass(frozen=True)
class Case:
    url: Callable[[World], str]
    valid: dict[str, str]
    invalid: dict[str, str]  # breaks a rule but carries the typed text
    kept: str | None = TEXT  # what must come back on the page (None: passwords only, never re-shown)
    signed_in: bool = True
    as_other: bool = False  # signed in as another member than the author (a report)
    creates: type | None = None  # a keyed form: sending it twice with one key makes one of these
    extra: dict[str, str] = field(default_factory=dict)


PASSWORD = "a brand new long password 42"
CASES = {
    "stories.compose": Case(
        lambda w: "/stories/new",
        {"body": TEXT, "title": "Bedtime"},
        {"body": TEXT, "title": "x" * 151},
        creates=Story,
    ),
    "stories.reply": Case(
        lambda w: f"/stories/{w.story.id}/replies", {"body": TEXT}, {"body": TEXT * 400}, creates=Reply
    ),
    "stories.edit": Case(
        lambda w: f"/stories/{w.story.id}/edit", {"body": TEXT}, {"body": TEXT, "title": "x" * 151}
    ),
    "stories.add_update": Case(
        lambda w: f"/stories/{w.story.id}/updates/new",
        {"body": TEXT, "outcome": "better"},
        {"body": TEXT, "outcome": "nonsense"},
        creates=StoryUpdate,
    ),
    "stories.edit_reply": Case(lambda w: f"/replies/{w.reply.id}/edit", {"body": TEXT}, {"body": TEXT * 400}),
    "moderation.report": Case(
        lambda w: f"/report/story/{w.story.id}",
        {"reason": "other", "note": TEXT},
        {"reason": "nonsense", "note": TEXT},
        as_other=True,
    ),
    "moderation.appeal": Case(
        lambda w: f"/appeal/reply/{w.removed.id}", {"message": TEXT}, {"message": TEXT * 40}
    ),
    "auth.register": Case(
        lambda w: "/register",
        {"pseudonym": "KeptName", "email": "kept@example.test", "password": PASSWORD},
        {"pseudonym": "KeptName", "email": "kept@example.test", "password": "short"},
        kept="kept@example.test",
        signed_in=False,
    ),
    "auth.login": Case(
        lambda w: "/login",
        {"identifier": "kept@example.test", "password": "not the password"},
        {"identifier": "kept@example.test", "password": ""},
        kept="kept@example.test",
        signed_in=False,
    ),
    "auth.request_reset": Case(
        lambda w: "/reset",
        {"email": "kept@example.test"},
        {"email": "kept@example.test.invalid@"},
        kept="kept@example.test",
        signed_in=False,
    ),
    "auth.reset_password": Case(
        lambda w: f"/reset/{auth_services.make_reset_token(w.author)}",
        {"password": PASSWORD, "confirm": PASSWORD},
        {"password": PASSWORD, "confirm": "different"},
        kept=None,
        signed_in=False,
    ),
    "auth.change_password": Case(
        lambda w: "/settings/password",
        {"current": factories.DEFAULT_PASSWORD, "password": PASSWORD, "confirm": PASSWORD},
        {"current": factories.DEFAULT_PASSWORD, "password": PASSWORD, "confirm": "different"},
        kept=None,
    ),
    "auth.delete_account": Case(
        lambda w: "/settings/delete",
        {"keep_stories": "keep", "password": factories.DEFAULT_PASSWORD},
        {"keep_stories": "", "password": factories.DEFAULT_PASSWORD},
        kept=None,
    ),
}


@pytest.fixture
def world(app: Flask) -> World:
    author = factories.make_user()
    story = factories.make_story(author)
    reply = factories.make_reply(author, story)
    removed = factories.make_reply(author, story, body="A reply a moderator took down.")
    lifecycle.set_status(removed, Status.REMOVED.value)
    lifecycle.commit()
    return World(author, story, reply, factories.make_user(), removed)


def _client(app: Flask, case: Case, world: World) -> FlaskClient:
    if not case.signed_in:
        return app.test_client()
    return factories.signed_in_client(app, world.other if case.as_other else world.author)


def _count(model: type) -> int:
    return int(db.session.scalar(sa.select(sa.func.count()).select_from(model)) or 0)


def test_every_guarded_view_has_a_case(app: Flask) -> None:
    assert set(guarded_views(app)) == set(CASES)


@pytest.mark.parametrize("endpoint", sorted(CASES))
def test_an_expired_token_reshows_the_form_with_the_text(
    app: Flask, world: World, endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = CASES[endpoint]
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    client = _client(app, case, world)
    before = _count(case.creates) if case.creates else 0
    response = client.post(
        case.url(world), data={**case.valid, "csrf_token": "expired", "submission_key": "k1"}
    )
    assert response.status_code == 200
    page = html.unescape(response.get_data(as_text=True))
    assert "security check expired" in page
    if case.kept:
        assert case.kept in page
    if case.creates:
        assert _count(case.creates) == before
        assert 'value="k1"' in page  # the same key: sending it again still makes one


@pytest.mark.parametrize("endpoint", sorted(CASES))
def test_a_validation_error_keeps_the_text(app: Flask, world: World, endpoint: str) -> None:
    case = CASES[endpoint]
    client = _client(app, case, world)
    before = _count(case.creates) if case.creates else 0
    response = client.post(case.url(world), data={**case.invalid, "submission_key": "k2"})
    assert response.status_code == 200
    page = html.unescape(response.get_data(as_text=True))
    assert 'class="error"' in page or "notice-error" in page
    if case.kept:
        assert case.kept in page
    if case.creates:
        assert _count(case.creates) == before


@pytest.mark.parametrize("endpoint", sorted(e for e, c in CASES.items() if c.creates))
def test_one_submission_key_sent_twice_creates_one_item(app: Flask, world: World, endpoint: str) -> None:
    case = CASES[endpoint]
    assert case.creates is not None
    client = _client(app, case, world)
    before = _count(case.creates)
    for _ in range(2):
        response = client.post(case.url(world), data={**case.valid, "submission_key": "same-key"})
        assert response.status_code == 302
    assert _count(case.creates) == before + 1
