"""Feed reads with keyset pagination: fast on page 1 and a thousand stories back alike."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from forum.extensions import db
from forum.models import AgeBand, Reply, Setting, Status, Story, Tag, story_tags, utcnow
from forum.params import row_id
from forum.stories.queries import visible_stories
from forum.visibility import story_filters

PAGE_SIZE = 20
NEEDS_SUPPORT_WINDOW = timedelta(days=7)
TRENDING_WINDOW = timedelta(days=7)
SORTS = ("newest", "active", "needs-support")


@dataclass(frozen=True)
class FeedFilters:
    """What a reader narrowed the feed to; unknown values are ignored rather than failing."""

    sort: str = "newest"
    setting: str | None = None
    age_band: str | None = None
    with_updates: bool = False
    tag: str | None = None

    @classmethod
    def from_args(cls, args: Any, tag: str | None = None) -> FeedFilters:
        sort = args.get("sort", "newest")
        setting = args.get("setting") or None
        age_band = args.get("age") or args.get("age_band") or None
        return cls(
            sort=sort if sort in SORTS else "newest",
            setting=setting if setting in {s.value for s in Setting} else None,
            age_band=age_band if age_band in {a.value for a in AgeBand} else None,
            with_updates=args.get("updates") in ("1", "on", "true", "yes"),
            tag=tag,
        )

    def query_args(self) -> dict[str, str]:
        """The filters as URL query arguments (for links that keep them)."""
        args = {
            "sort": self.sort,
            "setting": self.setting,
            "age": self.age_band,
            "updates": "1" if self.with_updates else None,
        }
        return {k: v for k, v in args.items() if v and not (k == "sort" and v == "newest")}


@dataclass
class FeedPage:
    stories: list[Story]
    next_cursor: str | None
    filters: FeedFilters = field(default_factory=FeedFilters)


def encode_cursor(when: datetime, story_id: int) -> str:
    """An opaque cursor for the item after which the next page starts."""
    raw = f"{when.astimezone(UTC).isoformat()}|{story_id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> tuple[datetime, int] | None:
    """The (time, id) inside a cursor, or None for a missing or mangled one."""
    if not cursor or len(cursor) > 100:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        when, raw_id = raw.split("|")
        parsed = datetime.fromisoformat(when)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None
    story_id = row_id(raw_id)
    if story_id is None:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)), story_id


def _filtered(filters: FeedFilters) -> sa.Select[tuple[Story]]:
    query = visible_stories()
    if filters.setting:
        query = query.where(Story.setting == filters.setting)
    if filters.age_band:
        query = query.where(Story.age_band == filters.age_band)
    if filters.with_updates:
        query = query.where(Story.update_count > 0)
    if filters.tag:
        tagged = (
            sa.select(story_tags.c.story_id)
            .join(Tag, Tag.id == story_tags.c.tag_id)
            .where(Tag.name == filters.tag)
        )
        query = query.where(Story.id.in_(tagged))
    return query


def awaiting_support() -> Any:
    """No published reply from another member yet: the author's own replies ("thank you", "an update") do
    not take a story out of "needs support". Checked within the 7-day window, via ix_replies_story_created."""
    answered = sa.exists().where(
        Reply.story_id == Story.id,
        Reply.status == Status.PUBLISHED.value,
        Reply.author_id.is_distinct_from(Story.author_id),
    )
    return ~answered


def feed_page(
    filters: FeedFilters, cursor: str | None = None, limit: int = PAGE_SIZE, viewer: Any = None
) -> FeedPage:
    """One page of the feed in the chosen order, with the cursor for the next page (without what the viewer
    blocked, muted or chose to hide)."""
    query = _filtered(filters).where(*story_filters(viewer))
    if filters.sort == "active":
        key, ascending = Story.last_activity_at, False
    elif filters.sort == "needs-support":
        query = query.where(awaiting_support(), Story.created_at >= utcnow() - NEEDS_SUPPORT_WINDOW)
        key, ascending = Story.created_at, True
    else:
        key, ascending = Story.created_at, False
    position = decode_cursor(cursor)
    if position is not None:
        when, story_id = position
        if ascending:
            query = query.where(sa.or_(key > when, sa.and_(key == when, Story.id > story_id)))
        else:
            query = query.where(sa.or_(key < when, sa.and_(key == when, Story.id < story_id)))
    order = (key.asc(), Story.id.asc()) if ascending else (key.desc(), Story.id.desc())
    rows = list(
        db.session.scalars(
            query.order_by(*order)
            .limit(limit + 1)
            .options(selectinload(Story.tags), selectinload(Story.author))
        )
    )
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = encode_cursor(getattr(last, key.key), last.id)
    return FeedPage(rows, next_cursor, filters)


def _has_visible_story() -> sa.Exists:
    """The tag is on at least one published story: tags used only by pending, removed or deleted stories are
    unknown to every page and the API (a 404, like a tag never used), so they reveal nothing."""
    return sa.exists(
        sa.select(1)
        .select_from(story_tags.join(Story, Story.id == story_tags.c.story_id))
        .where(story_tags.c.tag_id == Tag.id, Story.status == Status.PUBLISHED.value)
    )


def tag_named(name: str) -> Tag | None:
    """The tag with this (normalised) name, if a published story carries it."""
    return db.session.scalar(sa.select(Tag).where(Tag.name == name, _has_visible_story()))


def tag_directory() -> list[Tag]:
    """Every tag on a published story, most used first."""
    return list(
        db.session.scalars(
            sa.select(Tag)
            .where(Tag.story_count > 0, _has_visible_story())
            .order_by(Tag.story_count.desc(), Tag.name)
            .limit(500)
        )
    )


def trending_tags(limit: int = 10) -> list[tuple[str, int]]:
    """Tags on the most stories shared in the last 7 days."""
    since = utcnow() - TRENDING_WINDOW
    count = sa.func.count(story_tags.c.story_id).label("n")
    rows = db.session.execute(
        sa.select(Tag.name, count)
        .join(story_tags, story_tags.c.tag_id == Tag.id)
        .join(Story, Story.id == story_tags.c.story_id)
        .where(Story.status == Status.PUBLISHED.value, Story.created_at >= since)
        .group_by(Tag.name)
        .order_by(count.desc(), Tag.name)
        .limit(limit)
    )
    return [(name, n) for name, n in rows]
