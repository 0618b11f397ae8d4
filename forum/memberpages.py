"""Kept pages for signed-in members: the feed pages (home, tag pages) rendered once per page and kind of
reader, and laid out for each member by filling a few slots.

A member's feed page differs from another member's in very little: the header's unread count, her CSRF token
and draft key, the relative times ("3 hours ago", which move with the clock) and, on a tag page, whether she
follows the tag. Everything else is decided by things many members share: her blocks, muted tags and
content-note choices (which stories are read and how their cards look). So the page is rendered as any member
with those settings sees it, with those few bits left as slots (markers carrying a secret per-site nonce, so
no text a member writes can forge one), and kept under:

- the page's path and query (sort, filters, cursor),
- a digest of the reader's blocks (both ways), muted tags and content-note choices, and on a tag page whether
  she follows it,
- the page cache's generation (forum.pagecache), which every story, reply, edit and change of visibility
  bumps, so new content shows at once; PAGE_CACHE_SECONDS bounds the rest (reaction counts, a renamed
  author), as for visitors.

Never kept or served from a kept page: moderators' and admins' pages (their header and cards differ), and a
page with a flashed message waiting. A page holding one of the reader's own stories (her card says "You
(posted anonymously)" and carries her Edit link) is never shared: a page is kept for readers like her only when
no card on it is the renderer's own, and served only to a reader who wrote none of its stories (the authors' ids
are kept with the page, server-side, and never shown); a feed page with her story on it is kept for her alone,
under a key with her id (the member who has just posted reads it most), while a story page of hers is rendered
for her every time. With REDIS_URL the pages are shared by every worker and host; without it each
worker keeps its own, under forum.pagecache's member generation (also stamped on a file in the instance folder,
so a write in one worker shows in the others at once).

A form page (`kept_form`, e.g. the empty compose page) is kept the same way when its `version()` says this
request shows the empty form (no draft restored, no query arguments); its one-time submission key is a slot
too, written afresh at each request, so the double-submit guard stays unique per render.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Callable
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta
from functools import wraps
from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app, g, request, session
from flask_caching.backends.nullcache import NullCache
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup

from forum import pagecache, visibility
from forum.database import KeptForRequest
from forum.extensions import cache, db
from forum.models import Follow, Tag
from forum.text import normalise_tag

KEPT_ENDPOINTS = ("feeds.home", "feeds.tag_page")
_marker: ContextVar[str | None] = ContextVar("member_page_marker", default=None)


def kept_rendering() -> bool:
    """Whether a kept page is being rendered now (its slots are markers)."""
    return _marker.get() is not None


def not_kept() -> None:
    """Called by a view whose page, this time, shows something of the reader's own: render it, keep nothing."""
    g.member_page_not_kept = True


def holds_page_slots(html: str) -> bool:
    """Whether this HTML, rendered while a kept page is, carries one of that page's slots (such HTML must not
    be kept apart from the page: forum.fragments refuses it)."""
    marker = _marker.get()
    return marker is not None and f"\x00{marker}" in html


def slot(name: str) -> Markup | None:
    """The marker for one of the reader's own bits while a kept page is being rendered, else None."""
    marker = _marker.get()
    return None if marker is None else Markup(f"\x00{marker}{name}\x00")  # nosec B704 - no user text


def _nonce() -> str:
    """Per site (the same in every worker and host, so pages can be shared), unguessable by members."""
    key = str(current_app.secret_key).encode()
    return hmac.new(key, b"member-page-slots", hashlib.sha256).hexdigest()[:16]


def enabled() -> bool:
    """On unless turned off, and only with a cache that keeps anything (the tests' NullCache keeps nothing:
    no page is then worth the statements that decide its key)."""
    return bool(current_app.config.get("MEMBER_PAGE_CACHE_ENABLED", True)) and not isinstance(
        cache.cache, NullCache
    )


def _tag_follow_key() -> str:
    """On a tag page: whether the reader follows the tag (her button says so)."""
    name = normalise_tag(str((request.view_args or {}).get("tag", "")))
    followed = FOLLOWED_TAGS_KEPT.get(current_user.id)  # read with her sign-in: no statement of its own
    if followed is not None:
        follows = name in followed
    else:
        follows = db.session.scalar(_FOLLOWS_TAG, {"me": current_user.id, "name": name}) is not None
    return "following" if follows else "-"


# The tags the signed-in member follows (a frozenset of names), as her sign-in statement read them
# (forum.auth.sessions): a tag page's Follow button asks nothing more.
FOLLOWED_TAGS_KEPT = KeptForRequest(Follow, attribute="_village_follows")


_FOLLOWS_TAG = (
    sa.select(Follow.id)
    .join(Tag, Tag.id == Follow.tag_id)
    .where(Follow.user_id == sa.bindparam("me", type_=sa.Integer), Tag.name == sa.bindparam("name"))
    .limit(1)
)


# What else, beyond the reader's view settings, a page shows of her (a statement each, read before the lookup);
# None: this request shows something of her own (a draft...), rendered and not kept.
_EXTRA_KEYS: dict[str, Callable[[], str | None]] = {"feeds.tag_page": _tag_follow_key}
# Pages that are hers alone (kept under her id): endpoint -> what decides the page (read before the lookup).
_PERSONAL: dict[str, Callable[[], str | None]] = {}


def keep_shared_page(app: Flask, endpoint: str, reader_bits: Callable[[], str | None]) -> None:
    """Keep this signed-in page once per kind of reader: her view settings (blocks, mutes, content notes) and
    `reader_bits()`, what else it shows of her (her reactions, a follow...), or None when this request shows
    something of her own and is rendered as usual. The view names the authors it shows (note_authors)."""
    _EXTRA_KEYS[endpoint] = reader_bits
    _wrap(app, endpoint)


def keep_personal_page(app: Flask, endpoint: str, version: Callable[[], str | None]) -> None:
    """Keep this signed-in page per member, under `version()` (a digest of what it shows of hers, from plain
    rows; None: not this time) and the page-cache generation (what it shows of others' posts)."""
    _PERSONAL[endpoint] = version
    _wrap(app, endpoint)


def _wrap(app: Flask, endpoint: str) -> None:
    if endpoint in app.view_functions:
        app.view_functions[endpoint] = member_kept(app.view_functions[endpoint])


def _reader_key(form_version: Callable[[], str | None] | None = None) -> str | None:
    """A digest of everything that decides this reader's page besides her slots, or None: not kept for her."""
    user = current_user
    if not getattr(user, "is_authenticated", False) or user.is_moderator:
        return None
    if "_flashes" in session:
        return None
    if form_version is not None:
        version = form_version()
        return None if version is None else f"form:{version}"
    personal = _PERSONAL.get(request.endpoint or "")
    if personal is not None:
        version = personal()
        return None if version is None else f"{user.id}:{version}"
    extra = _EXTRA_KEYS.get(request.endpoint or "")
    bits = extra() if extra is not None else ""
    return None if bits is None else view_settings_digest(bits)


def view_settings_digest(*more: str) -> str:
    """A digest of what decides which posts the signed-in reader sees and how: her blocks (both ways), muted
    tags and content-note choices (and `more`)."""
    user = current_user
    blocks = visibility.blocks_for(user)
    prefs = visibility.preferences(user)
    parts = (
        sorted(blocks.members),
        sorted(blocks.stories),
        prefs.muted_tags if prefs else "",
        prefs.content_notes if prefs else "",
        *more,
    )
    return hashlib.blake2b(repr(parts).encode(), digest_size=12).hexdigest()


def note_authors(author_ids: Any) -> None:
    """Called by a page's view with the authors of the posts it shows (forum.feeds.cards; the story page for
    its story, replies and similar stories): a reader who wrote one of them is never served the kept page."""
    noted = frozenset(i for i in author_ids if i is not None)
    g.member_page_authors = g.get("member_page_authors", frozenset()) | noted


# How the reader's own bits are written (set by forum.templating, which knows the features that own them):
# the header's unread badge, her browser-draft key, and a relative time from a timestamp.
_writers: dict[str, Callable[..., str]] = {}


# Relative times at least this old are written as a date that no longer moves: into the kept text, once.
_settled_after: list[timedelta] = []


def register_slot_writers(
    unread: Callable[[], str],
    owner: Callable[[], str],
    relative_time: Callable[[datetime, datetime], str],
    settled_after: timedelta | None = None,
) -> None:
    _writers.update(unread=unread, owner=owner, time=relative_time)
    _settled_after[:] = [settled_after] if settled_after is not None else []


def register_slot_writer(name: str, writer: Callable[[], str]) -> None:
    """One more per-request bit (e.g. a form's one-time submission key: "key"), written at every fill."""
    _writers[name] = writer


def _slot_value(name: str, now: datetime) -> str:
    if name.startswith("t"):
        return _writers["time"](datetime.fromisoformat(name[1:]), now)
    return generate_csrf() if name == "csrf" else _writers[name]()


def _fill(texts: tuple[bytes, ...], slots: tuple[str, ...]) -> bytes:
    """A kept page with this reader's bits in its slots: each distinct slot written once, the page joined as
    bytes (a story page of 50 replies holds ~160 slots, most of them its reaction buttons' CSRF token; a
    str page would also be encoded again for the response)."""
    now = datetime.now(UTC)
    values = {name: _slot_value(name, now).encode() for name in set(slots)}
    out = [b""] * (2 * len(texts) - 1)
    out[0::2] = texts
    out[1::2] = [values[name] for name in slots]
    return b"".join(out)


def _split(html: str, marker: str) -> tuple[tuple[bytes, ...], tuple[str, ...]]:
    """The page split once, when it is kept: its texts around the slots (as the bytes sent) and the slots'
    names (the reader's own values taken out first)."""
    token = g.get(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"))
    if token:  # the page has a form: generate_csrf() gave this request's token to it
        html = html.replace(token, f"\x00{marker}csrf\x00")
    owner = _writers["owner"]()
    html = html.replace(f'data-draft-owner="{owner}"', f'data-draft-owner="\x00{marker}owner\x00"')
    parts = re.split(f"\x00{marker}([a-z][^\x00]*)\x00", html)
    texts, slots = [parts[0]], []
    now = datetime.now(UTC)
    for name, after in zip(parts[1::2], parts[2::2], strict=True):
        settled = _settled_time(name, now)
        if settled is None:
            slots.append(name)
            texts.append(after)
        else:  # a date that no longer moves: written once, not at every fill
            texts[-1] += settled + after
    return tuple(text.encode() for text in texts), tuple(slots)


def _settled_time(name: str, now: datetime) -> str | None:
    """A time slot's text when the clock can no longer change it (a date), else None."""
    if not name.startswith("t") or not _settled_after:
        return None
    when = datetime.fromisoformat(name[1:])
    return _writers["time"](when, now) if now - when >= _settled_after[0] else None


def _own_key(key: str) -> str | None:
    """Where a feed page holding one of the reader's own stories is kept for her alone (her id in the key):
    the member who has just posted reads the home and tag pages her story is on. Only the feed pages: their
    cards are all a page shows of her, while her own story page carries things of hers that change without a
    new post (the support card after the care check), so it is rendered for her every time."""
    return f"{key}|own:{current_user.id}" if request.endpoint in KEPT_ENDPOINTS else None


def _current(entry: Any, generation: Any) -> bool:
    # (A 4-item entry is an earlier release's page, in a shared cache: rendered again.)
    return bool(entry) and len(entry) == 5 and entry[0] == generation and time.time() < entry[1]


def _lookup(key: str, own_key: str | None) -> tuple[Any, bytes | None]:
    """The generation to store under, and the kept page if it is current and may go to this reader: the one
    kept for readers like her, unless one of her own stories is on it, else the one kept for her alone."""
    try:
        generation, entry, *own = cache.get_many(pagecache.GENERATION_KEY, key, *filter(None, [own_key]))
    except Exception:  # noqa: BLE001 - a cache outage must never take pages down: render instead
        current_app.logger.warning("member page cache unavailable", exc_info=True)
        return None, None
    generation = pagecache.member_generation(generation)
    if _current(entry, generation) and current_user.id not in entry[2]:
        return generation, _fill(entry[3], entry[4])
    if own and _current(own[0], generation):
        return generation, _fill(own[0][3], own[0][4])
    return generation, None


def member_kept(
    view: Callable[..., Any], form_version: Callable[[], str | None] | None = None
) -> Callable[..., Any]:
    """Serve this feed view to signed-in members from a kept page when one fits them, keeping what it renders."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if request.method != "GET" or not enabled():
            return view(*args, **kwargs)
        reader = _reader_key(form_version)
        if reader is None:
            return view(*args, **kwargs)
        key = f"mpage:{request.full_path}|{reader}{pagecache.vary_state()}"
        own_key = _own_key(key)
        generation, body = _lookup(key, own_key)
        if body is not None:
            return current_app.response_class(body, mimetype="text/html")
        marker = _nonce()
        g.pop("member_page_authors", None)
        g.pop("member_page_not_kept", None)
        token = _marker.set(marker)
        try:
            result = view(*args, **kwargs)
        finally:
            _marker.reset(token)
        status = 200
        if isinstance(result, tuple) and len(result) == 2 and isinstance(result[0], str):
            result, status = result  # a form view's (page, status)
        if not isinstance(result, str):
            return result  # a redirect or a response of its own: nothing to keep
        texts, slots = _split(result, marker)
        authors = g.pop("member_page_authors", None)
        if authors is None and (request.endpoint in _PERSONAL or form_version is not None):
            authors = frozenset()  # hers alone (kept under her id), or a form page showing no one's posts
        if g.pop("member_page_not_kept", False) or status != 200:
            authors = None  # this rendering showed something of hers after all (a draft): fill, keep nothing
        # Kept for readers like her when none of its stories is hers; with one of hers, for her alone.
        keep_as = None if authors is None else key if current_user.id not in authors else own_key
        if generation is not None and keep_as is not None:
            lifetime = pagecache.lifetime(key)
            try:
                entry = (generation, time.time() + lifetime, authors, texts, slots)
                cache.set(keep_as, entry, timeout=int(lifetime))
            except Exception:  # noqa: BLE001
                current_app.logger.warning("member page cache unavailable", exc_info=True)
        return _fill(texts, slots) if status == 200 else (_fill(texts, slots), status)

    return wrapper


def kept_form(version: Callable[[], str | None]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Keep this form view's GET page for signed-in members under `version()`: what the page shows of hers
    (a string), or None when this request shows something of her own (a restored draft...) and renders as
    usual. The view puts `slot("key")` in its one-time submission key while a kept page is rendered."""
    return lambda view: member_kept(view, version)


def init_app(app: Flask) -> None:
    """Wrap the kept endpoints; called before forum.pagecache wraps them, so a visitor's cached page is served
    before anything asks who is signed in."""
    app.config.setdefault("MEMBER_PAGE_CACHE_ENABLED", True)
    for endpoint in KEPT_ENDPOINTS:
        if endpoint in app.view_functions:
            app.view_functions[endpoint] = member_kept(app.view_functions[endpoint])
