"""Building Atom 1.0 documents (RFC 4287) with ElementTree, so they are always well-formed.

Only published content; anonymous authors are "Anonymous parent"; a story with a content note shows its note
and a link, never its text. Entry ids are tag: URIs (RFC 4151) that never change, whatever the site's address.
"""

from __future__ import annotations

import hashlib
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from flask import current_app

ATOM = "http://www.w3.org/2005/Atom"
ET.register_namespace("", ATOM)


@dataclass
class Entry:
    key: str  # "story-12", "reply-40"
    title: str
    url: str
    author: str
    published: datetime
    updated: datetime
    html: str  # sanitised HTML (already rendered by forum.text)


def tag_uri(key: str) -> str:
    host = (
        urlsplit(str(current_app.config.get("SITE_URL") or "http://village.local")).hostname
        or "village.local"
    )
    return f"tag:{host},2025:{key}"


def _when(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _el(parent: ET.Element, name: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ATOM}}}{name}", attrs)
    if text is not None:
        element.text = text
    return element


def document(
    *, key: str, title: str, self_url: str, html_url: str, entries: list[Entry], empty_updated: datetime
) -> bytes:
    feed = ET.Element(f"{{{ATOM}}}feed")
    _el(feed, "id", tag_uri(key))
    _el(feed, "title", title)
    _el(feed, "subtitle", "Village: a kind place for parents to share hard moments.")
    updated = max((e.updated for e in entries), default=empty_updated)
    _el(feed, "updated", _when(updated))
    _el(feed, "link", rel="self", type="application/atom+xml", href=self_url)
    _el(feed, "link", rel="alternate", type="text/html", href=html_url)
    author = _el(feed, "author")
    _el(author, "name", "Village")
    _el(feed, "generator", "Village")
    for item in entries:
        entry = _el(feed, "entry")
        _el(entry, "id", tag_uri(item.key))
        _el(entry, "title", item.title)
        _el(entry, "link", rel="alternate", type="text/html", href=item.url)
        _el(entry, "published", _when(item.published))
        _el(entry, "updated", _when(item.updated))
        who = _el(entry, "author")
        _el(who, "name", item.author)
        _el(entry, "content", item.html, type="html")
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(feed, encoding="utf-8")


def etag_for(key: str, entries: list[Entry]) -> str:
    """Changes whenever an entry is added, edited or drops out of the feed."""
    digest = hashlib.sha256(key.encode())  # nosemgrep - an ETag of public feed entries, not a password
    for e in entries:
        digest.update(f"{e.key}:{e.updated.timestamp()}".encode())
    return digest.hexdigest()[:32]
