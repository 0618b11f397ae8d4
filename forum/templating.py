"""Jinja filters, globals and context processors shared by every template, registered in one place (features
keep the functions; this module says which names every template can use). No blueprint registers an
app-wide template helper of its own."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path

from flask import Flask, current_app, has_request_context, request, url_for
from markupsafe import Markup, escape

from forum import memberpages, permissions
from forum.atom import routes as atom_routes
from forum.auth import badges
from forum.care import routes as care_routes
from forum.feeds import routes as feed_routes
from forum.following import routes as following_routes
from forum.moderation import routes as moderation_routes
from forum.notifications import routes as notification_routes
from forum.notifications.mail import routes as mail_routes
from forum.similar import routes as similar_routes
from forum.stories import routes as story_routes

# From this age on a time is written as its date, which the clock no longer changes (a kept member page
# writes such times into its text once, forum.memberpages).
RELATIVE_FOR = timedelta(days=31)


def relative_time(when: datetime, now: datetime | None = None) -> str:
    """'just now', '5 minutes ago', '3 days ago', or the date for older things."""
    now = now or datetime.now(UTC)
    seconds = max(0, int((now - when).total_seconds()))
    if seconds < 60:
        return "just now"
    if seconds >= RELATIVE_FOR.total_seconds():
        return when.strftime("%-d %b %Y")
    for unit_seconds, unit in ((86400, "day"), (3600, "hour")):
        if seconds >= unit_seconds:
            count = seconds // unit_seconds
            return f"{count} {unit}{'' if count == 1 else 's'} ago"
    count = seconds // 60
    return f"{count} minute{'' if count == 1 else 's'} ago"


def time_tag(when: datetime | None) -> Markup:
    """A <time> element: relative text, the exact time on hover and for machines."""
    if when is None:
        return Markup("")
    exact = when.strftime("%-d %B %Y at %H:%M UTC")
    # On a page being kept for members (forum.memberpages) the relative text is a slot, filled at each request.
    relative = memberpages.slot("t" + when.isoformat()) or relative_time(when)
    return Markup('<time datetime="{}" title="{}">{}</time>').format(
        when.isoformat(timespec="seconds"), exact, relative
    )


@lru_cache(maxsize=256)
def _file_digest(path: str, mtime: float) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]  # nosemgrep - asset fingerprint


# Outside debug mode static files do not change while a worker runs: each page asks for the same few URLs,
# so keep them (by mount point and name) instead of a stat() and a url_for() per asset per page.
_asset_urls: dict[tuple[str, str], str] = {}


def asset_url(filename: str) -> str:
    """URL of a static file with a content hash, so it can be cached for a year."""
    return _kept_per_worker(_asset_urls, filename, _asset_url)


def _kept_per_worker(kept: dict[tuple[str, str], str], name: str, build: Callable[[str], str]) -> str:
    """build(name), kept by mount point and name outside debug mode (and outside requests, where the mount
    point is unknown, built each time)."""
    if current_app.debug or not has_request_context():
        return build(name)
    key = (request.script_root, name)
    value = kept.get(key)
    if value is None:
        value = kept[key] = build(name)
    return value


def _asset_url(filename: str) -> str:
    static_folder = current_app.static_folder or ""
    path = Path(static_folder) / filename
    try:
        version = _file_digest(str(path), path.stat().st_mtime)
    except OSError:
        return url_for("static", filename=filename)
    return url_for("static", filename=filename, v=version)


_paths: dict[tuple[str, str], str] = {}


def path_for(endpoint: str) -> str:
    """url_for(endpoint) of a page that takes no arguments, kept per worker outside debug mode: the layout
    links the same dozen pages on every page, and building each URL costs more than the rest of its line."""
    return _kept_per_worker(_paths, endpoint, url_for)


def has_endpoint(name: str) -> bool:
    """True when a view with this endpoint is registered."""
    return name in current_app.view_functions


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """'1 parent', '3 parents'."""
    word = singular if count == 1 else (plural_form or singular + "s")
    return f"{count} {word}"


def nl2br(text: str) -> Markup:
    """Escape text and keep its line breaks."""
    return Markup("<br>").join(escape(text).split("\n"))


def init_app(app: Flask) -> None:
    """Register filters, globals and long caching for fingerprinted static files."""
    app.config.setdefault("SEND_FILE_MAX_AGE_DEFAULT", 60 * 60 * 24 * 365)
    app.jinja_env.filters["reltime"] = relative_time
    app.jinja_env.filters["time_tag"] = time_tag
    app.jinja_env.filters["nl2br"] = nl2br
    app.jinja_env.filters["markdown"] = story_routes.markdown_filter
    app.jinja_env.filters["excerpt"] = following_routes.excerpt_filter  # plain text, quoted lines left out
    app.jinja_env.globals.update(
        asset_url=asset_url,
        path_for=path_for,
        has_endpoint=has_endpoint,
        plural=plural,
        can=permissions.can,
        site_name="Village",
        draft_owner=story_routes.draft_owner,
        feed_link=feed_routes.feed_link,
        staff_badge=badges.staff_badge,
        similar_panel=similar_routes.similar_panel,
        unread_badge=notification_routes.unread_badge,
    )
    # Care's helpers: welfare verdicts in the queue, the writer's support card, the privacy warning, the
    # support list, content-note handling and the settings page's blocks and mutes.
    for helper in (
        care_routes.care_verdicts_for,
        care_routes.care_card_for,
        care_routes.care_watch_url,
        care_routes.privacy_warning,
        care_routes.support_resources_by_region,
        care_routes.note_mode,
        care_routes.care_settings,
    ):
        app.add_template_global(helper)
    # A kept member page (forum.memberpages) writes these for each reader.
    memberpages.register_slot_writers(
        unread=lambda: str(
            notification_routes.unread_badge(
                notification_routes.unread_notifications()["unread_notifications"]
            )
        ),
        owner=story_routes.draft_owner,
        relative_time=relative_time,
        settled_after=RELATIVE_FOR,
    )
    # Run in this order for every render; a later one would win a clash of names (there is none).
    for processor in (
        notification_routes.unread_notifications,  # the header's unread count
        mail_routes.mail_helpers,  # whether the member's address is confirmed
        moderation_routes.moderation_helpers,  # labels and the moderators' waiting badge
        story_routes.story_helpers,
        following_routes.follow_helpers,
        atom_routes.feed_links,
    ):
        app.context_processor(processor)
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
