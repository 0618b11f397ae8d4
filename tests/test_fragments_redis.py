"""Kept fragments in Redis (production with REDIS_URL): a write drops its posts' fragments from the shared cache
in one round trip, and every worker then shows the change. Runs against a throwaway redis-server of its own on a
free port (never the machine's)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator

import pytest
import redis
import sqlalchemy as sa
from flask_caching.backends.rediscache import RedisCache

from forum import fragments
from forum.extensions import cache, db
from forum.models import Reply
from forum.stories import services
from tests.factories import make_story, make_user, signed_in_client

PREFIX = "village-test:"


@pytest.fixture(scope="module")
def redis_port() -> Iterator[int]:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    client = redis.Redis(host="127.0.0.1", port=port)
    try:
        for _ in range(100):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        yield port
    finally:
        client.close()
        server.terminate()
        server.wait(10)


@pytest.fixture
def shared_cache(app, monkeypatch, redis_port) -> Iterator[redis.Redis]:
    """The app's cache in that Redis, as with REDIS_URL; yields a client to look into it."""
    direct = redis.Redis(host="127.0.0.1", port=redis_port)
    direct.flushall()
    original = app.extensions["cache"][cache]
    app.extensions["cache"][cache] = _cache_at(redis_port)
    monkeypatch.setitem(app.config, "CACHE_TYPE", "RedisCache")
    fragments.clear_local()
    yield direct
    app.extensions["cache"][cache] = original
    fragments.clear_local()
    direct.close()


def _cache_at(port: int) -> RedisCache:
    """The cache as the app builds it from CACHE_REDIS_URL (a client from the URL). (Built from host and port
    instead, redis-py 8 retries a refused connection for about 4 s per command: the outage test would crawl.)"""
    return RedisCache(
        host=redis.from_url(f"redis://127.0.0.1:{port}/0"), key_prefix=PREFIX, default_timeout=30
    )


def _calls(direct: redis.Redis) -> dict[str, int]:
    return {name: stats["calls"] for name, stats in direct.info("commandstats").items()}


def _sent(before: dict[str, int], after: dict[str, int], command: str) -> int:
    return after.get(f"cmdstat_{command}", 0) - before.get(f"cmdstat_{command}", 0)


def test_a_reply_drops_its_storys_fragments_in_one_round_trip(app, shared_cache, member, other_member):
    story = make_story(member, title="Long nights", body="Up every hour again, we are all exhausted.")
    first = services.add_reply(other_member, story, body="It passes, I promise. Ours took a month.")
    reader = signed_in_client(app, make_user(pseudonym="ThirdParent"))
    reader.get("/")  # keeps the story's card
    reader.get(f"/stories/{story.id}")  # keeps its reply
    kept = {key.decode() for key in shared_cache.keys(PREFIX + "frag:*")}
    assert {f"{PREFIX}frag:card:{story.id}", f"{PREFIX}frag:reply:{first.id}"} <= kept

    before = _calls(shared_cache)
    answer = signed_in_client(app, other_member).post(
        f"/stories/{story.id}/replies", data={"body": "And a second thought: take turns sleeping."}
    )
    assert answer.status_code == 302
    after = _calls(shared_cache)
    assert _sent(before, after, "del") == 1  # card, story and the new reply's fragments: one DEL
    assert _sent(before, after, "exists") == 0
    assert not shared_cache.exists(f"{PREFIX}frag:card:{story.id}")
    assert shared_cache.exists(f"{PREFIX}frag:reply:{first.id}")  # unchanged: still kept

    fragments.clear_local()  # another worker: only what Redis holds
    page = reader.get(f"/stories/{story.id}").get_data(as_text=True)
    assert "take turns sleeping" in page and "Ours took a month" in page
    assert f"{PREFIX}frag:card:{story.id}" not in {
        k.decode() for k in shared_cache.keys(PREFIX + "frag:card:*")
    }
    assert "2 replies" in reader.get("/").get_data(as_text=True)


def test_an_edited_reply_is_shown_new_by_every_worker(app, shared_cache, member, other_member):
    story = make_story(member, title="Long nights", body="Up every hour again, we are all exhausted.")
    item = services.add_reply(other_member, story, body="It passes, I promise. Ours took a month.")
    reader = signed_in_client(app, make_user(pseudonym="ThirdParent"))
    reader.get(f"/stories/{story.id}")
    assert shared_cache.exists(f"{PREFIX}frag:reply:{item.id}")

    answer = signed_in_client(app, other_member).post(
        f"/replies/{item.id}/edit", data={"body": "It passes. Ours took six weeks, not one month."}
    )
    assert answer.status_code == 302
    assert not shared_cache.exists(f"{PREFIX}frag:reply:{item.id}")
    fragments.clear_local()
    page = reader.get(f"/stories/{story.id}").get_data(as_text=True)
    assert "six weeks" in page and "Ours took a month" not in page


def test_redis_down_when_dropping_fragments_costs_the_write_nothing(app, shared_cache, member, other_member):
    story = make_story(member, title="Long nights", body="Up every hour again, we are all exhausted.")
    writer = signed_in_client(app, other_member)
    app.extensions["cache"][cache] = _cache_at(1)  # nothing listens there
    answer = writer.post(f"/stories/{story.id}/replies", data={"body": "Sending strength tonight."})
    assert answer.status_code == 302
    bodies = db.session.scalars(sa.select(Reply.body).where(Reply.story_id == story.id)).all()
    assert bodies == ["Sending strength tonight."]
