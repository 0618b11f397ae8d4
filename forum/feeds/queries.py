"""Feed reads with keyset pagination: fast on page 1 and a thousand stories back alike."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import selectinload

from forum.extensions import cache, db
from forum.models import AgeBand, Reply, Setting, Status, Story, Tag, User, story_tags, utcnow
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
    # How many stories carry the tag, when known (a tag page): decides how the page is read (_tagged).
    tag_stories: int | None = None

    @classmethod
    def from_args(cls, args: Any, tag: str | None = None, tag_stories: int | None = None) -> FeedFilters:
        sort = args.get("sort", "newest")
        setting = args.get("setting") or None
        age_band = args.get("age") or args.get("age_band") or None
        return cls(
            sort=sort if sort in SORTS else "newest",
            setting=setting if setting in {s.value for s in Setting} else None,
            age_band=age_band if age_band in {a.value for a in AgeBand} else None,
            with_updates=args.get("updates") in ("1", "on", "true", "yes"),
            tag=tag,
            tag_stories=tag_stories,
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


def _filtered(filters: FeedFilters, query: sa.Select[Any]) -> sa.Select[Any]:
    if filters.setting:
        query = query.where(Story.setting == filters.setting)
    if filters.age_band:
        query = query.where(Story.age_band == filters.age_band)
    if filters.with_updates:
        query = query.where(Story.update_count > 0)
    if filters.tag:
        query = query.where(_tagged(filters.tag, filters.tag_stories))
    return query


# A tag on more stories than this is read by walking the stories in the page's order and checking each one's
# tags; a smaller one from its own list of stories, sorted.
WALK_TAGGED_FROM = 1000


def _tagged(name: str, size: int | None) -> Any:
    """The stories carrying this tag, as a condition on Story.

    SQLite chooses the plan from average statistics (about 60 stories a tag), so for `IN (the tag's stories)`
    it always starts from the tag: on a tag of 30,000 of 100,000 stories it read and sorted all 30,000 to
    show 20 (about 170-300 ms). For a large tag the condition is a correlated EXISTS instead, which SQLite
    checks row by row while it walks the created/activity index in order, stopping after a page: about
    21 x stories / tag size primary-key probes (1 ms for that tag). PostgreSQL plans both forms alike from its
    own statistics."""
    if size is not None and size >= WALK_TAGGED_FROM:
        return (
            sa.select(story_tags.c.story_id)
            .join(Tag, Tag.id == story_tags.c.tag_id)
            .where(story_tags.c.story_id == Story.id, Tag.name == name)
            .exists()
        )
    tagged = sa.select(story_tags.c.story_id).join(Tag, Tag.id == story_tags.c.tag_id).where(Tag.name == name)
    return Story.id.in_(tagged)


def awaiting_support() -> Any:
    """No published reply from another member yet: the author's own replies ("thank you", "an update") do
    not take a story out of "needs support". Checked within the 7-day window, via ix_replies_story_created."""
    answered = sa.exists().where(
        Reply.story_id == Story.id,
        Reply.status == Status.PUBLISHED.value,
        Reply.author_id.is_distinct_from(Story.author_id),
    )
    return ~answered


def _page_select(
    filters: FeedFilters, cursor: str | None, limit: int, viewer: Any, select: sa.Select[Any]
) -> tuple[sa.Select[Any], Any]:
    """The page's query from a select of published stories (what the viewer may see, in the chosen order,
    after the cursor) and its sort key."""
    query = _filtered(filters, select).where(*story_filters(viewer))
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
        # A row value, so that both databases read the (status, key, id) index from the cursor on (SQLite does
        # not for the same test spelled with OR).
        position_now = sa.tuple_(key, Story.id)
        after = sa.tuple_(sa.literal(when, key.type), sa.literal(story_id, sa.Integer))
        query = query.where(position_now > after if ascending else position_now < after)
    order = (key.asc(), Story.id.asc()) if ascending else (key.desc(), Story.id.desc())
    return query.order_by(*order).limit(limit + 1), key


def _cut(rows: list[Any], limit: int, key: Any) -> tuple[list[Any], str | None]:
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    return rows, encode_cursor(getattr(rows[-1], key.key), rows[-1].id)


def feed_page(
    filters: FeedFilters, cursor: str | None = None, limit: int = PAGE_SIZE, viewer: Any = None
) -> FeedPage:
    """One page of the feed in the chosen order, with the cursor for the next page (without what the viewer
    blocked, muted or chose to hide)."""
    query, key = _page_select(filters, cursor, limit, viewer, visible_stories())
    found = db.session.scalars(query.options(selectinload(Story.tags), selectinload(Story.author)))
    rows, next_cursor = _cut(list(found), limit, key)
    return FeedPage(rows, next_cursor, filters)


# What a story card shows, as plain columns (no ORM objects): the story's own and its named author's.
CARD_COLUMNS = (
    Story.id,
    Story.author_id,
    Story.anonymous,
    Story.title,
    Story.age_band,
    Story.setting,
    Story.content_note,
    Story.created_at,
    Story.edited_at,
    Story.last_activity_at,
    Story.reply_count,
    Story.reaction_count,
    Story.latest_outcome,
    User.pseudonym.label("author_pseudonym"),
    User.role.label("author_role"),
    User.deleted_at.label("author_deleted_at"),
)


def feed_rows(
    filters: FeedFilters, cursor: str | None = None, limit: int = PAGE_SIZE, viewer: Any = None
) -> tuple[list[sa.Row[Any]], str | None, dict[int, list[str]]]:
    """One page of the feed as plain rows (CARD_COLUMNS), the next page's cursor and each story's tag names:
    two statements, whatever the page holds."""
    select = (
        sa.select(*CARD_COLUMNS)
        .outerjoin(User, User.id == Story.author_id)
        .where(Story.status == Status.PUBLISHED.value)
    )
    query, key = _page_select(filters, cursor, limit, viewer, select)
    rows, next_cursor = _cut(list(db.session.execute(query)), limit, key)
    return rows, next_cursor, tag_names([row.id for row in rows])


def tag_names(story_ids: list[int]) -> dict[int, list[str]]:
    """Story id -> its tag names, in name order (one statement)."""
    names: dict[int, list[str]] = {i: [] for i in story_ids}
    if story_ids:
        for story_id, name in db.session.execute(
            sa.select(story_tags.c.story_id, Tag.name)
            .join(Tag, Tag.id == story_tags.c.tag_id)
            .where(story_tags.c.story_id.in_(story_ids))
            .order_by(Tag.name)
        ):
            names[story_id].append(name)
    return names


def story_bodies(story_ids: list[int]) -> dict[int, str]:
    """Story id -> its Markdown (read only for cards that are rendered, not kept ones)."""
    if not story_ids:
        return {}
    rows = db.session.execute(sa.select(Story.id, Story.body).where(Story.id.in_(story_ids)))
    return {story_id: body for story_id, body in rows}


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


TRENDING_SECONDS = 60


def trending_tags(limit: int = 10) -> list[tuple[str, int]]:
    """Tags on the most stories shared in the last 7 days, counted at most once a minute (per worker, or for
    every worker with Redis): the same for everyone, and a group-by over a week of stories."""
    key = f"feeds:trending:{limit}"
    try:
        kept = cache.get(key)
    except Exception:  # noqa: BLE001 - a cache outage only costs counting
        kept = None
    if kept is not None:
        return [(name, n) for name, n in kept]
    counted = _count_trending(limit)
    try:
        cache.set(key, counted, timeout=TRENDING_SECONDS)
    except Exception:  # noqa: BLE001
        current_app.logger.warning("cache unavailable", exc_info=True)
    return counted


def _count_trending(limit: int) -> list[tuple[str, int]]:
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
