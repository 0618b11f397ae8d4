"""Signed-out visitors get public pages from the page cache; members never do; writes show at once."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from flask_caching.backends.simplecache import SimpleCache

from forum.extensions import cache
from forum.stories import services
from tests.factories import login


@pytest.fixture
def page_cache(app: Flask) -> Iterator[SimpleCache]:
    """A real (in-process) cache in place of the tests' NullCache."""
    original = app.extensions["cache"][cache]
    backend = SimpleCache(default_timeout=30)
    app.extensions["cache"][cache] = backend
    yield backend
    app.extensions["cache"][cache] = original


def test_a_visitor_gets_the_second_view_from_the_cache(client, member, page_cache) -> None:
    services.publish_story(
        member, title="Clingy at the gate", body="She held my coat and would not let go today."
    )
    first = client.get("/")
    second = client.get("/")
    assert first.status_code == second.status_code == 200
    assert "X-Cache" not in first.headers and second.headers["X-Cache"] == "hit"
    assert second.data == first.data and b"Clingy at the gate" in second.data
    # The security headers are added to cached responses too.
    assert second.headers["Content-Security-Policy"].startswith("default-src 'self'")


def test_a_new_story_shows_at_once(client, member, page_cache) -> None:
    client.get("/")
    story = services.publish_story(
        member, title="A brand new morning", body="Today drop-off went a little better."
    )
    page = client.get("/")
    assert "X-Cache" not in page.headers and b"A brand new morning" in page.data
    client.get(f"/stories/{story.id}")
    services.add_reply(member, story, body="Adding: she waved at the window!")
    assert b"she waved at the window" in client.get(f"/stories/{story.id}").data


def test_hiding_a_story_removes_it_from_cached_pages(client, member, moderator, page_cache) -> None:
    from forum.moderation import services as moderation
    from forum.moderation.targets import load_target

    story = services.publish_story(member, title="Soon hidden", body="A story a moderator will hide shortly.")
    assert b"Soon hidden" in client.get("/").data
    moderation.act_on_item(moderator, load_target("story", story.id), "hide", reason="Unkind")
    assert b"Soon hidden" not in client.get("/").data


def test_members_never_get_or_fill_the_cache(client, member, other_member, page_cache) -> None:
    services.publish_story(member, title="Mine", body="A story written by the signed-in member.")
    login(client, other_member)
    for _ in range(2):
        page = client.get("/")
        assert "X-Cache" not in page.headers
    assert not [key for key in page_cache._cache if key.startswith("page:")]


def test_pages_with_a_session_are_not_stored(client, member, page_cache) -> None:
    """A page that puts a CSRF token in the session (a form) is rendered for each visitor, never shared."""
    client.get("/login")
    assert not [key for key in page_cache._cache if key.startswith("page:")]


def test_a_cache_outage_still_serves_pages(client, member, page_cache, monkeypatch) -> None:
    def broken(*_args, **_kwargs):
        raise ConnectionError("redis is down")

    monkeypatch.setattr(page_cache, "get_many", broken)
    monkeypatch.setattr(page_cache, "set", broken)
    services.publish_story(member, title="Still here", body="Pages keep serving when the cache is down.")
    assert b"Still here" in client.get("/").data


def test_an_aged_page_is_rendered_again_by_one_request_while_others_get_the_aged_copy(
    client, member, page_cache, monkeypatch
) -> None:
    """At expiry, one request renders the page anew; the rest are not held up behind it."""
    import time as real_time
    from types import SimpleNamespace

    from forum import pagecache

    services.publish_story(
        member, title="Clingy at the gate", body="She held my coat and would not let go today."
    )
    client.get("/")
    assert client.get("/").headers["X-Cache"] == "hit"
    monkeypatch.setattr(pagecache, "time", SimpleNamespace(time=lambda: real_time.time() + 31))
    # Another worker has just claimed the refresh: this visitor gets the aged copy at once.
    page_cache.add("refresh:page:/?", 1, timeout=10)
    stale = client.get("/")
    assert stale.headers["X-Cache"] == "stale" and b"Clingy at the gate" in stale.data
    # Once the claim is gone, the next visitor renders a new copy, which is then served as fresh.
    page_cache.delete("refresh:page:/?")
    renewed = client.get("/")
    assert "X-Cache" not in renewed.headers and renewed.status_code == 200
    assert page_cache.get("refresh:page:/?") is None  # the claim this request took is released
    assert client.get("/").headers["X-Cache"] == "hit"


def test_cached_pages_of_two_workers_do_not_age_at_the_same_moment(app) -> None:
    from forum import pagecache

    with app.test_request_context("/"):
        lifetimes = set()
        for pid in (101, 102, 103):
            with pytest.MonkeyPatch.context() as patch:
                patch.setattr(pagecache.os, "getpid", lambda pid=pid: pid)
                lifetimes.add(pagecache.lifetime("page:/?"))
    assert len(lifetimes) == 3 and all(24 <= lifetime <= 30 for lifetime in lifetimes)


def test_without_redis_one_worker_on_the_host_claims_the_refresh(app, monkeypatch) -> None:
    """Each worker's in-process cache is its own, so the claim is a file in the instance folder."""
    from forum import pagecache

    monkeypatch.setitem(app.config, "CACHE_TYPE", "SimpleCache")
    with app.test_request_context("/"):
        assert pagecache._claim_refresh("page:/?") is True
        assert pagecache._claim_refresh("page:/?") is False  # another worker: serves the aged copy
        assert pagecache._claim_refresh("page:/tags?") is True  # other pages are independent
        pagecache._release_refresh("page:/?")
        assert pagecache._claim_refresh("page:/?") is True
        pagecache._release_refresh("page:/?")
        pagecache._release_refresh("page:/tags?")
