"""The one place where a story, reply or update changes status, and what that does to everything derived.

A post is published, pending (held for approval), hidden, removed or deleted. Every service that moves a post
between these (posting, editing into the approval queue, deleting, moderation, reports' auto-hide, appeals,
account deletion) calls `published`, `set_status` or `retagged` inside its transaction and then `commit()`.

- Counters are kept by increments in SQL (`SET n = n + 1`), never by recounting: under PostgreSQL's
  read committed, a recount sees its own statement's snapshot and two concurrent posts of the same tag would
  leave a count of one. Only a change into or out of "published" moves a counter: tags.story_count for a
  story's tags, the story's reply_count (which "needs support" reads) and update_count with latest_outcome.
- Lists that read status (feeds, tag pages, trending, search, the API) follow from the status itself.
- A held reply that is approved tells the story's author, as a reply posted straight away does.
- `commit()` commits the caller's transaction, then sends `hooks.post_visibility_changed` once with every
  change it contained. The page cache (invalidate) and the similar-stories index (add or drop vectors) listen;
  nothing is announced for a transaction that was rolled back.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

import sqlalchemy as sa
from flask import current_app
from sqlalchemy import orm
from sqlalchemy.orm.util import identity_key

from forum.extensions import db
from forum.models import Reply, Status, Story, StoryUpdate, Tag, story_tags, utcnow
from forum.notifications import services as notes
from forum.stories import hooks

Post = Story | Reply | StoryUpdate
LIVE = Status.PUBLISHED.value
_OUTBOX = "lifecycle.changes"


def _outbox() -> list[hooks.Change]:
    changes: list[hooks.Change] = db.session.info.setdefault(_OUTBOX, [])
    return changes


def _forget_on_rollback(session: orm.Session) -> None:
    # What a rolled-back transaction meant to announce never happened.
    session.info.pop(_OUTBOX, None)


def install() -> None:
    """Forget a rolled-back transaction's changes (a session listener; attaching it twice changes nothing)."""
    if not sa.event.contains(orm.Session, "after_rollback", _forget_on_rollback):
        sa.event.listen(orm.Session, "after_rollback", _forget_on_rollback)


def _plus(column: Any, delta: int, amount: Any = None) -> Any:
    """column + delta in SQL, never below zero (amount: what the SQL adds when not delta itself, a bind
    parameter of a statement built once for every delta of that sign)."""
    amount = delta if amount is None else amount
    if delta >= 0:
        return column + amount
    return sa.case((column + amount > 0, column + amount), else_=0)


# The counters' statements are built once (with bind parameters for the delta, the ids and the time): every post
# written runs one, and building a statement per write cost more CPU than running it.
_DELTA = sa.bindparam("delta", type_=sa.Integer)
_LATEST_OUTCOME = (
    sa.select(StoryUpdate.outcome)
    .where(StoryUpdate.story_id == Story.id, StoryUpdate.status == LIVE)
    .order_by(StoryUpdate.created_at.desc(), StoryUpdate.id.desc())
    .limit(1)
    .scalar_subquery()
)
_TAGS_COUNTED = {
    rising: sa.update(Tag)
    .where(Tag.id.in_(sa.bindparam("tag_ids", expanding=True)))
    .values(story_count=_plus(Tag.story_count, 1 if rising else -1, _DELTA))
    .execution_options(synchronize_session=False)
    for rising in (True, False)
}
_STORY_TAG_IDS = sa.select(story_tags.c.tag_id).where(story_tags.c.story_id == sa.bindparam("story_id"))


def _story_counted(model: type[Reply] | type[StoryUpdate], rising: bool) -> sa.Update:
    """The story's counter of replies or updates moved by :delta (and its latest outcome, and its last activity
    when a post is added), returning the values it set (_COUNTED_ATTRS)."""
    column = Story.reply_count if model is Reply else Story.update_count
    values: dict[str, Any] = {column.key: _plus(column, 1 if rising else -1, _DELTA)}
    if model is StoryUpdate:
        values["latest_outcome"] = _LATEST_OUTCOME
    if rising:
        values["last_activity_at"] = sa.bindparam("now", type_=Story.last_activity_at.type)
    return (
        sa.update(Story)
        .where(Story.id == sa.bindparam("story_id", type_=sa.Integer))
        .values(**values)
        .returning(*(getattr(Story, attr) for attr in _COUNTED_ATTRS[model]))
        .execution_options(synchronize_session=False)
    )


# What a story's counter statement changes, per kind of post: returned by it, so a story already loaded takes the
# new values instead of reading them again (a reply's redirect needs the count: lifecycle's caller reads it).
_COUNTED_ATTRS: dict[type, tuple[str, ...]] = {
    Reply: ("reply_count", "last_activity_at"),
    StoryUpdate: ("update_count", "latest_outcome", "last_activity_at"),
}


_STORY_COUNTED = {
    (model, rising): _story_counted(model, rising)
    for model in (Reply, StoryUpdate)
    for rising in (True, False)
}


def _expire(item: Any, *attrs: str) -> None:
    """Forget values changed in SQL behind the ORM's back, so the next read fetches them."""
    if item is not None and item in db.session:
        db.session.expire(item, list(attrs))


def _count_tags(tag_ids: Iterable[int], delta: int) -> None:
    ids = sorted({i for i in tag_ids if i is not None})
    if ids and delta:
        db.session.execute(_TAGS_COUNTED[delta > 0], {"tag_ids": ids, "delta": delta})
        for tag in db.session.identity_map.values():
            if isinstance(tag, Tag) and tag.id in ids:
                _expire(tag, "story_count")


def _story_tag_ids(story_id: int) -> list[int]:
    return list(db.session.scalars(_STORY_TAG_IDS, {"story_id": story_id}))


def _count(item: Post, delta: int, tag_ids: Iterable[int] | None = None) -> None:
    """Move the counters one published post adds to (delta +1) or takes from (delta -1)."""
    if isinstance(item, Story):
        _count_tags(_story_tag_ids(item.id) if tag_ids is None else tag_ids, delta)
        return
    params: dict[str, Any] = {"story_id": item.story_id, "delta": delta}
    if delta > 0:
        params["now"] = utcnow()
    counted = db.session.execute(_STORY_COUNTED[(type(item), delta > 0)], params).first()
    story = db.session.identity_map.get(identity_key(Story, item.story_id))
    if story is not None and counted is not None:
        for attr, value in zip(_COUNTED_ATTRS[type(item)], counted, strict=True):
            orm.attributes.set_committed_value(story, attr, value)


def published(item: Post) -> None:
    """A new post was added in this transaction: count it if it went straight out. (Its signal after the
    commit is hooks.content_created, which the care check and the similar index also need.)"""
    db.session.flush()
    if item.status == LIVE:
        # A story just written has its tags in hand (flushed above): no need to read them back.
        tags = None
        if isinstance(item, Story) and "tags" not in sa.inspect(item).unloaded:
            tags = [tag.id for tag in item.tags]
        _count(item, +1, tags)


def set_status(item: Post, status: str) -> bool:
    """Move a post to a new status, keeping every counter right; False when it already had it."""
    before = item.status
    if before == status:
        return False
    item.status = status
    db.session.flush()
    if (before == LIVE) != (status == LIVE):
        _count(item, +1 if status == LIVE else -1)
    if isinstance(item, Reply) and before == Status.PENDING.value and status == LIVE:
        story = item.story
        notes.notify(story.author_id, notes.REPLY, actor=item.author, story=story, reply=item)
    _outbox().append(hooks.Change(item, before, status))
    return True


def set_status_where(model: type[Reply] | type[StoryUpdate], where: Any, status: str) -> int:
    """Move many replies or updates at once (a story deleted with its replies, an account removed): one
    UPDATE per story touched, the counters moved by how many published rows it changed."""
    rows = list(db.session.execute(sa.select(model.id, model.story_id, model.status).where(where)))
    if not rows:
        return 0
    db.session.flush()
    db.session.execute(
        sa.update(model)
        .where(model.id.in_([r.id for r in rows]))
        .values(status=status)
        .execution_options(synchronize_session=False)
    )
    live_per_story: dict[int, int] = {}
    for row in rows:
        if row.status == LIVE and status != LIVE:
            live_per_story[row.story_id] = live_per_story.get(row.story_id, 0) + 1
    column = Story.reply_count if model is Reply else Story.update_count
    for story_id, n in live_per_story.items():
        values: dict[str, Any] = {column.key: _plus(column, -n)}
        if model is StoryUpdate:
            values["latest_outcome"] = _LATEST_OUTCOME
        db.session.execute(
            sa.update(Story)
            .where(Story.id == story_id)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        _expire(db.session.identity_map.get(identity_key(Story, story_id)), column.key, "latest_outcome")
    for row in rows:
        loaded = db.session.identity_map.get(identity_key(model, row.id))
        _expire(loaded, "status")
        item = cast("Post | None", loaded if loaded is not None else db.session.get(model, row.id))
        if item is not None and row.status != status:
            _outbox().append(hooks.Change(item, row.status, status))
    return len(rows)


def shown_differently(item: Post) -> None:
    """No status change, but pages show the post differently (a locked conversation, an author who left):
    announced with the status changes, before == after."""
    _outbox().append(hooks.Change(item, item.status, item.status))


def set_locked(story: Story, locked: bool) -> None:
    """Close a conversation to new replies or open it again (no counter moves)."""
    if story.locked != locked:
        story.locked = locked
        shown_differently(story)


def retagged(story: Story, before: Iterable[int], after: Iterable[int]) -> None:
    """A published story's tags changed: one more for each added tag, one less for each dropped one."""
    if story.status != LIVE:
        return
    old, new = set(before), set(after)
    _count_tags(new - old, +1)
    _count_tags(old - new, -1)


def commit() -> list[hooks.Change]:
    """Commit the caller's transaction, then announce its status changes once (to the cache, the index)."""
    changes = list(db.session.info.pop(_OUTBOX, []))
    db.session.commit()
    announce(changes)
    return changes


def announce(changes: list[hooks.Change]) -> None:
    """Send the one signal for changes already committed."""
    if changes:
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        hooks.post_visibility_changed.send(app, changes=tuple(changes))


def forget() -> None:
    """Drop what this transaction meant to announce (after a rollback)."""
    db.session.info.pop(_OUTBOX, None)
