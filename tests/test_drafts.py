"""Drafts saved as you type follow a member to another device and are cleared once posted."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask import Flask

from forum.extensions import db
from forum.models import Draft, User
from tests import factories
from tests.test_query_counts import counted
from tests.test_stories import fresh_login_per_request, textarea  # noqa: F401

TEXT = "I'm typing this in the car after drop-off, slowly."


def test_draft_saved_on_one_device_is_restored_on_another(app: Flask, member: User) -> None:
    phone = factories.signed_in_client(app, member)
    response = phone.post(
        "/drafts/story",
        json={"title": "Car park", "body": TEXT, "tags": "nursery", "anonymous": "y", "setting": "nursery"},
    )
    assert response.status_code == 200 and response.get_json()["saved"] is True
    laptop = factories.signed_in_client(app, member)
    page = laptop.get("/stories/new").text
    assert textarea(page) == TEXT and 'value="Car park"' in page and 'data-server-draft-at="1' in page


def test_posting_clears_the_draft(app: Flask, member: User) -> None:
    c = factories.signed_in_client(app, member)
    c.put("/drafts/story", json={"body": TEXT})
    c.post("/stories/new", data={"body": TEXT, "submission_key": "d1"})
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Draft)) == 0
    assert textarea(c.get("/stories/new").text) == ""


def test_reply_drafts_are_per_story_and_cleared_after_reply(
    app: Flask, member: User, other_member: User
) -> None:
    story = factories.make_story(member)
    c = factories.signed_in_client(app, other_member)
    c.post(f"/drafts/reply-{story.id}", json={"body": "Half a reply"})
    assert textarea(c.get(f"/stories/{story.id}").text) == "Half a reply"
    url = f"/stories/{story.id}/replies"
    with counted() as statements:  # deleted in the reply's own transaction
        response = c.post(url, data={"body": "Half a reply, now finished."})
    assert sum(s.startswith("DELETE FROM drafts") for s in statements) == 1
    assert "sent=" in response.location
    assert 'data-clear-draft="reply-' in c.get(response.location).text
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Draft)) == 0


def test_drafts_are_private_and_keys_checked(app: Flask, member: User, other_member: User) -> None:
    factories.signed_in_client(app, member).post("/drafts/story", json={"body": TEXT})
    assert TEXT not in factories.signed_in_client(app, other_member).get("/stories/new").text
    assert factories.signed_in_client(app, member).post("/drafts/../etc", json={"body": "x"}).status_code in (
        400,
        404,
    )
    assert (
        factories.signed_in_client(app, member).post("/drafts/anything", json={"body": "x"}).status_code
        == 400
    )


def test_delete_discards_the_draft(app: Flask, member: User) -> None:
    c = factories.signed_in_client(app, member)
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


# ---------------------------------------------------------------- issue 12, finding 9: signed-out stashes


def _stash_story(client, body: str = TEXT) -> str | None:
    """Post the compose form signed out; the restore link the sign-in page will return to, if one was kept."""
    from urllib.parse import parse_qs, urlparse

    response = client.post("/stories/new", data={"body": body, "title": "Kept for me"})
    assert response.status_code == 302 and "/login" in response.location
    after = parse_qs(urlparse(response.location).query)["next"][0]
    return after if "restore=" in after else None


def _stashes() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Draft).where(Draft.user_id.is_(None)))


def test_a_stash_is_restored_only_in_the_browser_that_made_it(app: Flask, member: User, other_member: User):
    mine = app.test_client()
    link = _stash_story(mine)
    assert link is not None
    stranger = app.test_client()  # another browser holding the link (shared, logged, shoulder-surfed)
    factories.login(stranger, other_member)
    assert TEXT not in stranger.get(link).text
    factories.login(mine, member)
    assert textarea(mine.get(link).text) == TEXT  # still there for its own browser, once
    assert TEXT not in mine.get(link).text


def test_a_forged_stash_cookie_restores_nothing(app: Flask, member: User) -> None:
    mine = app.test_client()
    link = _stash_story(mine)
    forger = app.test_client()
    forger.set_cookie("village_stash", mine.get_cookie("village_stash").value + "x")
    factories.login(forger, member)
    assert TEXT not in forger.get(link).text


def test_stashes_are_size_limited_and_short_lived(app: Flask, member: User) -> None:
    from datetime import timedelta

    from forum import drafts
    from forum.models import utcnow

    mine = app.test_client()
    link = _stash_story(mine, "x" * 30_000)
    stash = db.session.scalar(sa.select(Draft).where(Draft.user_id.is_(None)))
    assert len(stash.body) <= drafts.STASH_BODY_CHARS
    stash.updated_at = utcnow() - drafts.STASH_MAX_AGE - timedelta(minutes=1)
    db.session.commit()
    factories.login(mine, member)
    assert "x" * 100 not in mine.get(link).text


def test_the_store_of_stashes_has_a_ceiling(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    from forum import drafts

    monkeypatch.setattr(drafts, "STASH_MAX_TOTAL", 3)
    links = [_stash_story(app.test_client(), f"{TEXT} {i}") for i in range(5)]
    assert [link is not None for link in links] == [True, True, True, False, False]
    assert _stashes() == 3


def test_signed_out_posts_are_rate_limited_per_address(
    app: Flask, tmp_path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from forum.extensions import limiter
    from tests.conftest import make_app

    for name in ("enabled", "initialized", "_storage", "_limiter"):
        monkeypatch.setattr(limiter, name, getattr(limiter, name, None), raising=False)
    limited = make_app(tmp_path, db_url, RATELIMIT_ENABLED=True)
    with limited.app_context():
        links = [_stash_story(limited.test_client(), f"{TEXT} {i}") for i in range(8)]
        kept = _stashes()
        db.session.execute(sa.delete(Draft))
        db.session.commit()
        db.session.remove()
    assert [link is not None for link in links] == [True] * 5 + [False] * 3
    assert kept == 5


def test_another_site_cannot_plant_text_to_be_restored(app: Flask, member: User) -> None:
    """A cross-site form post (the CSRF token cannot be checked once the session has ended) is not stashed."""
    victim = app.test_client()
    response = victim.post(
        "/stories/new",
        data={"body": "Planted words the parent never wrote.", "anonymous": "y"},
        headers={"Origin": "https://evil.example"},
    )
    assert response.status_code == 302 and "restore" not in response.location
    assert _stashes() == 0
    same_site = victim.post(
        "/stories/new", data={"body": TEXT}, headers={"Origin": "http://localhost", "Referer": "x"}
    )
    assert "restore" in same_site.location and _stashes() == 1
