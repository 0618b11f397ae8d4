"""Bulk paths for trusted, one-off loads (benchmark seeding, moving a community's history into Village).

The same rules as one-at-a-time posting (lengths, control characters, tag parsing, Markdown rendering and
sanitising) in two steps: `prepare_*` is pure and picklable so it can run in a process pool, `insert_*` writes
many rows per statement and then brings every denormalised counter up to date once. No notifications are sent
and the per-member protections (rate limits, first-post approval) are skipped: nobody is typing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import cast

import sqlalchemy as sa

from forum import text as textlib
from forum.extensions import db
from forum.models import Reaction, ReactionKind, Reply, Status, Story, Tag, story_tags
from forum.models.search import POSTGRES_DDL
from forum.stories.validation import validate_reply, validate_story

_REACTION_KINDS = frozenset(k.value for k in ReactionKind)


@dataclass
class NewStory:
    author_id: int
    body: str
    created_at: datetime
    title: str | None = None
    tags: Sequence[str] = ()
    anonymous: bool = False
    age_band: str | None = None
    setting: str | None = None
    embedding: bytes | None = None


@dataclass
class PreparedStory:
    row: dict[str, object]
    tag_names: list[str] = field(default_factory=list)


@dataclass
class NewReply:
    story_id: int
    author_id: int
    body: str
    created_at: datetime


# The PostgreSQL search indexes a long load rebuilds once at the end (see search_indexes_deferred).
_DEFERRABLE_INDEXES = {
    "ix_search_stories": "DROP INDEX IF EXISTS ix_search_stories",
    "ix_search_replies": "DROP INDEX IF EXISTS ix_search_replies",
}


@contextmanager
def search_indexes_deferred() -> Iterator[None]:
    """For a long load into PostgreSQL: drop the story and reply search indexes and build each once at the end,
    which is several times cheaper than updating a GIN index row by row. Meanwhile search still answers,
    slowly. On SQLite nothing changes (its search table is kept in step by triggers)."""
    if db.engine.dialect.name != "postgresql":
        yield
        return
    for drop in _DEFERRABLE_INDEXES.values():
        db.session.execute(sa.text(drop))
    db.session.commit()
    try:
        yield
    finally:
        db.session.rollback()
        for statement in POSTGRES_DDL:
            if statement.split()[2] in _DEFERRABLE_INDEXES:
                db.session.execute(
                    sa.text(statement.replace("CREATE INDEX", "CREATE INDEX IF NOT EXISTS", 1))
                )
        db.session.commit()


def prepare_story(item: NewStory) -> PreparedStory:
    """Validate and render one story (raises ValidationFailed like the compose form would)."""
    fields = validate_story(item.title, item.body, item.tags, item.age_band, item.setting, None)
    row = {
        "author_id": item.author_id,
        "anonymous": item.anonymous,
        "title": fields["title"],
        "body": fields["body"],
        "body_html": textlib.render_markdown(fields["body"]),
        "age_band": fields["age_band"],
        "setting": fields["setting"],
        "content_note": None,
        "status": Status.PUBLISHED.value,
        "locked": False,
        "created_at": item.created_at,
        "last_activity_at": item.created_at,
        "embedding": item.embedding,
    }
    return PreparedStory(row, fields["tag_names"])


def prepare_reply(item: NewReply) -> dict[str, object]:
    """Validate and render one reply."""
    body = validate_reply(item.body)
    return {
        "story_id": item.story_id,
        "author_id": item.author_id,
        "body": body,
        "body_html": textlib.render_markdown(body),
        "status": Status.PUBLISHED.value,
        "created_at": item.created_at,
    }


def _tag_ids(names: Iterable[str]) -> dict[str, int]:
    wanted = set(names)
    found = dict(db.session.execute(sa.select(Tag.name, Tag.id).where(Tag.name.in_(wanted))).tuples().all())
    missing = sorted(wanted - found.keys())
    if missing:
        db.session.execute(sa.insert(Tag), [{"name": name} for name in missing])
        found.update(
            db.session.execute(sa.select(Tag.name, Tag.id).where(Tag.name.in_(missing))).tuples().all()
        )
    return found


def _insert_returning_ids(model: type[Story] | type[Reply], rows: list[dict[str, object]]) -> list[int]:
    """Insert rows and return their new ids in order.

    PostgreSQL returns ids for a thousand rows per INSERT … RETURNING. SQLite cannot order RETURNING, so
    SQLAlchemy would send one INSERT per row (five times slower overall); there the ids are given up front,
    after the current maximum, which is what SQLite itself would choose. A concurrent writer makes the insert
    fail (a UNIQUE or busy-snapshot error), never pairs a row with a wrong id.
    """
    if db.session.get_bind().dialect.name != "sqlite":
        return list(
            db.session.scalars(sa.insert(model).returning(model.id, sort_by_parameter_order=True), rows)
        )
    first = (db.session.scalar(sa.select(sa.func.max(model.id))) or 0) + 1
    ids = list(range(first, first + len(rows)))
    db.session.execute(
        sa.insert(model), [{**row, "id": new_id} for row, new_id in zip(rows, ids, strict=False)]
    )
    return ids


def insert_stories(prepared: Sequence[PreparedStory]) -> list[int]:
    """Insert prepared stories with their tags in one transaction; returns the new ids in order."""
    if not prepared:
        return []
    ids = _insert_returning_ids(Story, [p.row for p in prepared])
    tag_ids = _tag_ids(name for p in prepared for name in p.tag_names)
    links = [
        {"story_id": story_id, "tag_id": tag_ids[name]}
        for story_id, p in zip(ids, prepared, strict=False)
        for name in p.tag_names
    ]
    if links:
        db.session.execute(sa.insert(story_tags), links)
        # Every new story is published, so each link adds one to its tag. (Recounting instead read every
        # story of a popular tag again for each batch: quadratic over a long load.)
        tags = cast(sa.Table, Tag.__table__)  # declared as a FromClause; a mapped class's table is a Table
        increment = (
            sa.update(tags)
            .where(tags.c.id == sa.bindparam("tag"))
            .values(story_count=tags.c.story_count + sa.bindparam("added"))
        )
        added = Counter(link["tag_id"] for link in links)
        db.session.execute(increment, [{"tag": tag_id, "added": n} for tag_id, n in added.items()])
    db.session.commit()
    return ids


def insert_replies(rows: Sequence[dict[str, object]]) -> list[int]:
    """Insert prepared replies, then each touched story's reply count and last activity; returns the new ids."""
    if not rows:
        return []
    ids = _insert_returning_ids(Reply, list(rows))
    _recount_stories({int(r["story_id"]) for r in rows})  # type: ignore[call-overload]
    db.session.commit()
    return ids


def insert_reactions(rows: Sequence[dict[str, object]]) -> int:
    """Insert reactions ({user_id, kind, story_id | reply_id}); repeats of one person's reaction are dropped.

    Counters count people, as toggle_reaction does.
    """
    seen: set[tuple[object, object, object, object]] = set()
    unique = []
    for row in rows:
        if row["kind"] not in _REACTION_KINDS or (row.get("story_id") is None) == (
            row.get("reply_id") is None
        ):
            raise ValueError(f"not a reaction: {row!r}")
        key = (row["user_id"], row.get("story_id"), row.get("reply_id"), row["kind"])
        if key not in seen:
            seen.add(key)
            unique.append(
                {
                    "user_id": row["user_id"],
                    "kind": row["kind"],
                    "story_id": row.get("story_id"),
                    "reply_id": row.get("reply_id"),
                }
            )
    if not unique:
        return 0
    db.session.execute(sa.insert(Reaction), unique)
    story_ids = {r["story_id"] for r in unique if r["story_id"] is not None}
    reply_ids = {r["reply_id"] for r in unique if r["reply_id"] is not None}
    people = sa.func.count(sa.distinct(Reaction.user_id))
    if story_ids:
        db.session.execute(
            sa.update(Story)
            .where(Story.id.in_(story_ids))
            .values(reaction_count=sa.select(people).where(Reaction.story_id == Story.id).scalar_subquery())
        )
    if reply_ids:
        db.session.execute(
            sa.update(Reply)
            .where(Reply.id.in_(reply_ids))
            .values(reaction_count=sa.select(people).where(Reaction.reply_id == Reply.id).scalar_subquery())
        )
    db.session.commit()
    return len(unique)


def _recount_stories(story_ids: set[int]) -> None:
    published = sa.and_(Reply.story_id == Story.id, Reply.status == Status.PUBLISHED.value)
    db.session.execute(
        sa.update(Story)
        .where(Story.id.in_(story_ids))
        .values(
            reply_count=sa.select(sa.func.count()).where(published).scalar_subquery(),
            last_activity_at=sa.func.coalesce(
                sa.select(sa.func.max(Reply.created_at)).where(published).scalar_subquery(), Story.created_at
            ),
        )
    )
