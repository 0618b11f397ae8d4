"""Shared HTML fragments (story cards, story and reply bodies): rendered once, kept, laid out for every reader.

A fragment is kept under its kind and id with a version: a digest of every value it shows (title, counts,
tags, the author's name and badge, the reader's content-note choice...), so a changed post simply misses and
is rendered again; the post lifecycle's signals (`events.post_visibility_changed`, `content_created`,
`content_changed`) also drop a changed post's fragments at once. Kept in this worker (an LRU) and, with
REDIS_URL, in Redis for every worker and host (one round trip for a page's worth of fragments).

A fragment never carries anything of one reader: the pages render the reader's own bits (her reactions,
"edit" links, "You (posted anonymously)" on her own stories, unread markers) outside it or render her own
posts without the cache, and a fragment is always rendered as another member would see it.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from flask import Flask, current_app
from markupsafe import Markup

from forum import events, memberpages
from forum.extensions import cache

LOCAL_ENTRIES = 5000  # about 2 KB a card: ~10 MB per worker at most
SHARED_SECONDS = 24 * 3600
_local: OrderedDict[str, tuple[str, str]] = OrderedDict()
_lock = threading.Lock()


# What renders the fragments (templates and the package's code), as a digest: mixed into every version, so a
# fragment kept by another release (up to a day in Redis) is rendered again after a deploy, not served as it was.
_release = b""


def release_digest(*folders: Path) -> bytes:
    """A digest of every template and Python file under these folders (names and contents)."""
    digest = hashlib.blake2b(digest_size=12)
    for folder in folders:
        for path in sorted(p for p in folder.rglob("*") if p.suffix in (".html", ".py", ".xml", ".js")):
            digest.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.digest()


def version(*values: Any) -> str:
    """A short digest of the values a fragment shows (and of the release that renders it)."""
    return hashlib.blake2b(_release + repr(values).encode(), digest_size=12).hexdigest()


def enabled() -> bool:
    return bool(current_app.config.get("FRAGMENT_CACHE_ENABLED", True))


def _shared() -> bool:
    return current_app.config.get("CACHE_TYPE") == "RedisCache"


def _key(kind: str, item_id: int) -> str:
    return f"frag:{kind}:{item_id}"


def get_many(kind: str, wanted: dict[int, str]) -> dict[int, str]:
    """The kept fragments of these ids (id -> version) whose version matches: id -> HTML."""
    found: dict[int, str] = {}
    if not wanted or not enabled():
        return found
    missing: list[int] = []
    with _lock:
        for item_id, ver in wanted.items():
            key = _key(kind, item_id)
            entry = _local.get(key)
            if entry is not None and entry[0] == ver:
                _local.move_to_end(key)
                found[item_id] = entry[1]
            else:
                missing.append(item_id)
    if missing and _shared():
        try:
            values = cache.get_many(*[_key(kind, i) for i in missing])
        except Exception:  # noqa: BLE001 - a cache outage only costs rendering
            current_app.logger.warning("fragment cache unavailable", exc_info=True)
            return found
        for item_id, entry in zip(missing, values, strict=True):
            if isinstance(entry, tuple) and len(entry) == 2 and entry[0] == wanted[item_id]:
                found[item_id] = entry[1]
                _remember(_key(kind, item_id), entry)
    return found


def _remember(key: str, entry: tuple[str, str]) -> None:
    with _lock:
        _local[key] = entry
        _local.move_to_end(key)
        while len(_local) > LOCAL_ENTRIES:
            _local.popitem(last=False)


def put(kind: str, item_id: int, ver: str, html: str) -> None:
    """Keep one fragment (here, and in Redis when shared)."""
    if not enabled() or memberpages.holds_page_slots(html):
        return  # a member page's slot (a time, her token) would outlive that page here
    entry = (ver, str(html))
    _remember(_key(kind, item_id), entry)
    if _shared():
        try:
            cache.set(_key(kind, item_id), entry, timeout=SHARED_SECONDS)
        except Exception:  # noqa: BLE001
            current_app.logger.warning("fragment cache unavailable", exc_info=True)


def forget(keys: list[str]) -> None:
    """Drop these fragments everywhere (the next page renders them again)."""
    if not keys:
        return
    with _lock:
        for key in keys:
            _local.pop(key, None)
    if _shared():
        try:
            _delete_shared(keys)
        except Exception:  # noqa: BLE001 - versions still keep a changed post from showing old
            current_app.logger.warning("could not drop fragments", exc_info=True)


def _delete_shared(keys: list[str]) -> None:
    """One DEL for all the keys. (cachelib's delete_many asks Redis again, key by key, whether each is gone:
    a reply's three fragments cost six round trips, 7% of its CPU on PostgreSQL + Redis.)"""
    backend: Any = cache.cache  # a cachelib RedisCache (_shared() said so)
    prefix = backend._get_prefix()  # noqa: SLF001 - cachelib's RedisCache: its key prefix and client
    backend._write_client.delete(*[prefix + key for key in keys])  # noqa: SLF001


def clear_local() -> None:
    with _lock:
        _local.clear()


def _story_and_reply_ids(items: Iterable[Any]) -> tuple[set[int], set[int]]:
    stories: set[int] = set()
    replies: set[int] = set()
    for item in items:
        story_id = getattr(item, "story_id", None)
        if story_id is None:  # a story
            stories.add(item.id)
        else:
            stories.add(story_id)  # its card's counts and outcome change with it
            if type(item).__name__ == "Reply":
                replies.add(item.id)
    return stories, replies


def drop_changed(_sender: Any = None, changes: Any = None, item: Any = None, **_extra: Any) -> None:
    """Signal listener: forget the fragments of the posts a committed write changed."""
    items = [change.item for change in changes or ()] + ([item] if item is not None else [])
    try:
        stories, replies = _story_and_reply_ids(items)
    except Exception:  # noqa: BLE001 - an object whose attributes are gone: versions still protect
        current_app.logger.warning("could not read changed posts", exc_info=True)
        return
    kinds = (("card", stories), ("story", stories), ("reply", replies))
    forget([_key(kind, i) for kind, ids in kinds for i in ids])


# A kept fragment may carry slots ("\x00name\x00") where one reader's own bits go (her reaction buttons' state,
# her CSRF token, relative times): the fragment is kept with them and filled at each request.
SLOT = "\x00"


def slot(name: str) -> str:
    return f"{SLOT}{name}{SLOT}"


def slotted(html: str, value: str, name: str) -> str:
    """The fragment with this reader's value, where it was rendered, turned into a slot."""
    return html.replace(value, slot(name)) if value else html


def state_slots(kind: str) -> tuple[str, str, str]:
    """The slots of one toggle button's state: its wanted value, its "is-on" class, its aria-pressed."""
    return slot(f"w{kind}"), slot(f"o{kind}"), slot(f"p{kind}")


def state_values(kind: str, want: str, on_class: str, pressed: str) -> dict[str, str]:
    """What fills state_slots(kind) for this reader."""
    return {f"w{kind}": want, f"o{kind}": on_class, f"p{kind}": pressed}


def fill(html: str, values: dict[str, str]) -> Markup:
    """A kept fragment with its slots filled (every odd part of the split is a slot's name)."""
    parts = html.split(SLOT)
    parts[1::2] = [values[name] for name in parts[1::2]]
    # HTML this app rendered (autoescaped) and kept; the values are rendered Markup or escaped by the caller.
    return Markup("".join(parts))  # nosec B704


def init_app(app: Flask) -> None:
    global _release
    app.config.setdefault("FRAGMENT_CACHE_ENABLED", True)
    templates = Path(app.root_path, app.template_folder or "templates")
    _release = release_digest(Path(app.root_path), templates)
    for signal in (events.content_created, events.content_changed, events.post_visibility_changed):
        signal.connect(drop_changed, app, weak=False)
