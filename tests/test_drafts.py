"""Drafts saved as you type follow a member to another device and are cleared once posted."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask import Flask

from forum.extensions import db
from forum.models import Draft, User
from tests import factories
from tests.test_stories import client_for, fresh_login_per_request, make_story, textarea  # noqa: F401

TEXT = "I'm typing this in the car after drop-off, slowly."


def test_draft_saved_on_one_device_is_restored_on_another(app: Flask, member: User) -> None:
    phone = client_for(app, member)
    response = phone.post(
        "/drafts/story",
        json={"title": "Car park", "body": TEXT, "tags": "nursery", "anonymous": "y", "setting": "nursery"},
    )
    assert response.status_code == 200 and response.get_json()["saved"] is True
    laptop = client_for(app, member)
    page = laptop.get("/stories/new").text
    assert textarea(page) == TEXT and 'value="Car park"' in page and 'data-server-draft-at="1' in page


def test_posting_clears_the_draft(app: Flask, member: User) -> None:
    c = client_for(app, member)
    c.put("/drafts/story", json={"body": TEXT})
    c.post("/stories/new", data={"body": TEXT, "submission_key": "d1"})
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Draft)) == 0
    assert textarea(c.get("/stories/new").text) == ""


def test_reply_drafts_are_per_story_and_cleared_after_reply(
    app: Flask, member: User, other_member: User
) -> None:
    story = make_story(member)
    c = client_for(app, other_member)
    c.post(f"/drafts/reply-{story.id}", json={"body": "Half a reply"})
    assert textarea(c.get(f"/stories/{story.id}").text) == "Half a reply"
    response = c.post(f"/stories/{story.id}/replies", data={"body": "Half a reply, now finished."})
    assert "sent=" in response.location
    assert 'data-clear-draft="reply-' in c.get(response.location).text
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Draft)) == 0


def test_drafts_are_private_and_keys_checked(app: Flask, member: User, other_member: User) -> None:
    client_for(app, member).post("/drafts/story", json={"body": TEXT})
    assert TEXT not in client_for(app, other_member).get("/stories/new").text
    assert client_for(app, member).post("/drafts/../etc", json={"body": "x"}).status_code in (400, 404)
    assert client_for(app, member).post("/drafts/anything", json={"body": "x"}).status_code == 400


def test_delete_discards_the_draft(app: Flask, member: User) -> None:
    c = client_for(app, member)
    c.post("/drafts/story", json={"body": TEXT})
    assert c.delete("/drafts/story").get_json() == {"saved": False}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Draft)) == 0


def test_autosave_is_rate_limited(
    app: Flask, tmp_path, db_url: str, member: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    from forum.extensions import limiter
    from tests.conftest import make_app

    # Another app with limits on re-initialises the shared limiter: put it back afterwards.
    for name in ("enabled", "initialized", "_storage", "_limiter"):
        monkeypatch.setattr(limiter, name, getattr(limiter, name, None), raising=False)
    limited = make_app(tmp_path, db_url, RATELIMIT_ENABLED=True)
    with limited.app_context():
        c = limited.test_client()
        factories.login(c, db.session.get(User, member.id))
        codes = [c.post("/drafts/story", json={"body": TEXT}).status_code for _ in range(31)]
        db.session.remove()
    assert codes[:30] == [200] * 30 and codes[30] == 429
