"""Whole-page cache for signed-out visitors, so the public pages cost one cache lookup.

Safe by construction: only GET requests that carry none of our cookies are served from or stored in the cache
(a signed-in member, or a visitor with a session, always gets a fresh page), and a page is stored only when
rendering it neither set a cookie nor changed the session (a page with a form and its CSRF token never is).
Entries are tagged with a generation number that every story, reply or update write and every change of
visibility bumps, so new content shows at once; PAGE_CACHE_SECONDS bounds anything else (reaction counts).
With REDIS_URL the cache and the generation are shared by every worker and host; without it each worker has
its own, and the short lifetime bounds how stale another worker's copy can be.

When a page has merely aged (no new content), one request claims the refresh and renders it while every
other request keeps getting the aged copy for those few hundred milliseconds: otherwise all workers render
the same page at the same moment and every visitor waits (the bench's p99 on a 100k-story tag page went from
under 15 ms to 150 ms at each expiry). Lifetimes are spread by worker and page so they don't expire together.
"""

from __future__ import annotations

import os
import time
import zlib
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Flask, Response, current_app, g, make_response, request, session

from forum import events
from forum.extensions import cache

GENERATION_KEY = "pagecache:generation"
# The public pages (and their JSON twins) a visitor can read.
CACHED_ENDPOINTS = (
    "feeds.home",
    "feeds.tag_page",
    "feeds.tag_directory",
    "feeds.search",
    "feeds.list_stories",
    "feeds.show_story",
    "stories.show",
    "similar.story_similar",
    "pages.guidelines",
    "pages.privacy",
    "care.support",
)


def _is_visitor_request() -> bool:
    cookies = (
        current_app.config["SESSION_COOKIE_NAME"],
        current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token"),
    )
    return request.method == "GET" and not any(name in request.cookies for name in cookies)


# Pages that show something a worker holds in memory rather than reads from the database (the similar-stories
# index, refreshed every few seconds): their key carries that state, so a worker whose copy is behind never
# stores its answer under a key where a worker that has caught up would serve it (issue 18, 5a).
_VARY: dict[str, Callable[[], str]] = {}


def vary_on(endpoints: tuple[str, ...], state: Callable[[], str]) -> None:
    """Cache these endpoints' pages under `state()` too (called in the request, before the lookup)."""
    for endpoint in endpoints:
        _VARY[endpoint] = state


def vary_state() -> str:
    """This request's page's extra key part ("" for most pages): what the worker holds in memory for it."""
    state = _VARY.get(request.endpoint or "")
    return "|" + state() if state is not None else ""


def _key() -> str:
    return "page:" + request.full_path + vary_state()


def _claim_path(key: str) -> str:
    return os.path.join(current_app.instance_path, f"pagecache-refresh-{zlib.crc32(key.encode()):08x}")


def _claim_refresh(key: str) -> bool:
    """True for the one request that should render an aged page again: across every worker and host with
    Redis, across this host's workers otherwise (each worker's in-process cache can't see the others')."""
    try:
        if current_app.config.get("CACHE_TYPE") != "SimpleCache":
            return bool(cache.add("refresh:" + key, 1, timeout=10))
        path = _claim_path(key)
        try:
            if time.time() - os.stat(path).st_mtime > 10:  # left behind by a worker that died mid-render
                os.unlink(path)
        except FileNotFoundError:
            pass
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        return True
    except FileExistsError:
        return False
    except Exception:  # noqa: BLE001 - when in doubt, render
        return True


def _release_refresh(key: str) -> None:
    if current_app.config.get("CACHE_TYPE") != "SimpleCache":
        cache.delete("refresh:" + key)
        return
    try:
        os.unlink(_claim_path(key))
    except FileNotFoundError:
        pass


def _lookup() -> Response | None:
    key = g.page_cache_key = _key()  # stored under the state looked up with: the render is at least as new
    try:
        generation, entry = cache.get_many(GENERATION_KEY, key)
    except Exception:  # noqa: BLE001 - a cache outage must never take pages down: render instead
        current_app.logger.warning("page cache unavailable", exc_info=True)
        return None
    if not entry or entry[0] != (generation or 0):
        return None  # nothing stored, or content changed since: render now
    _, fresh_until, status, mimetype, body = entry
    aged = time.time() >= fresh_until
    if aged and _claim_refresh(key):
        g.page_cache_claim = key  # released once the new copy is stored
        return None
    response = current_app.response_class(body, status=status, mimetype=mimetype)
    response.headers["X-Cache"] = "stale" if aged else "hit"
    return response


def lifetime(key: str) -> float:
    """PAGE_CACHE_SECONDS, shortened by up to a fifth depending on the worker and the page."""
    spread = zlib.crc32(f"{os.getpid()}:{key}".encode()) % 1000 / 5000
    return float(current_app.config.get("PAGE_CACHE_SECONDS", 30)) * (1 - spread)


def _store(response: Response) -> None:
    if (
        response.status_code != 200
        or response.direct_passthrough
        or session.modified
        or "Set-Cookie" in response.headers
    ):
        return
    key = g.pop("page_cache_key", None) or _key()
    try:
        generation = cache.get(GENERATION_KEY) or 0
        seconds = lifetime(key)
        # Kept well past its freshness so an aged copy is there to serve while one request renders anew.
        cache.set(
            key,
            (
                generation,
                time.time() + seconds,
                response.status_code,
                response.mimetype,
                response.get_data(),
            ),
            timeout=int(seconds * 10),
        )
        if g.pop("page_cache_claim", None) == key:
            _release_refresh(key)
    except Exception:  # noqa: BLE001
        current_app.logger.warning("page cache unavailable", exc_info=True)


def visitor_cached(view: Callable[..., Any]) -> Callable[..., Any]:
    """Serve this view to signed-out visitors from the page cache, storing what it renders."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not current_app.config.get("PAGE_CACHE_ENABLED", True) or not _is_visitor_request():
            return view(*args, **kwargs)
        cached = _lookup()
        if cached is not None:
            return cached
        response = make_response(view(*args, **kwargs))
        _store(response)
        return response

    return wrapper


def _shared() -> bool:
    return current_app.config.get("CACHE_TYPE") == "RedisCache"


def _stamp_path() -> str:
    return os.path.join(current_app.instance_path, "pagecache-generation")


def _stamp_generation() -> None:
    """Without Redis each worker has its own generation: mark the change on a file its neighbours look at."""
    if _shared():
        return
    path = _stamp_path()
    now = time.time_ns()
    try:
        os.utime(path, ns=(now, now))  # explicit times are kept to the nanosecond (no coarse clock tick)
    except FileNotFoundError:
        with open(path, "a"):
            pass
        os.utime(path, ns=(now, now))
    except OSError:  # noqa: PERF203 - the lifetime still bounds staleness
        current_app.logger.warning("could not stamp the page generation", exc_info=True)


def _stamp() -> int:
    if _shared():
        return 0
    try:
        return os.stat(_stamp_path()).st_mtime_ns
    except OSError:
        return 0


def member_generation(generation: int | None) -> tuple[int, int]:
    """The generation members' kept pages (forum.memberpages) are stored under: the cached counter read with
    the page, and without a shared cache also the instance file's stamp, which every worker's write touches."""
    return (generation or 0, _stamp())


def invalidate(*_args: Any, **_extra: Any) -> None:
    """Make every cached page stale (called after every content write)."""
    _stamp_generation()
    try:
        if cache.cache.inc(GENERATION_KEY) is None:
            cache.set(GENERATION_KEY, 1, timeout=0)
    except Exception:  # noqa: BLE001 - the timeout still bounds staleness
        current_app.logger.warning("could not invalidate the page cache", exc_info=True)


def init_app(app: Flask) -> None:
    for endpoint in CACHED_ENDPOINTS:
        if endpoint in app.view_functions:
            app.view_functions[endpoint] = visitor_cached(app.view_functions[endpoint])
    # A new post, an edit, and every status change (sent once per transaction by forum.stories.lifecycle).
    for signal in (events.content_created, events.content_changed, events.post_visibility_changed):
        signal.connect(invalidate, app, weak=False)
