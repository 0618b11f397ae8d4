"""Follows, the Following feed, "My stories and replies", and unread replies. Writes commit once."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import aliased, selectinload

from forum.database import FIELD_SEPARATOR, KeptForRequest, row_text, sql_constant, text_rows
from forum.extensions import db
from forum.models import Follow, Notification, Reply, Status, Story, StoryVisit, Tag, User, story_tags, utcnow
from forum.permissions import require
from forum.visibility import story_filters

LIVE = Status.PUBLISHED.value


def follow_story(user: User, story: Story, on: bool) -> bool:
    """Follow (or stop following) a story's new replies; the wanted state travels with the request."""
    if on:
        require("reply", story, user)  # only a live story can be followed
    return _set(user, on, story_id=story.id)


def follow_tag(user: User, tag: Tag, on: bool) -> bool:
    """Follow (or stop following) a tag's new stories."""
    return _set(user, on, tag_id=tag.id)


def _set(user: User, on: bool, **target: int) -> bool:
    column = Follow.story_id if "story_id" in target else Follow.tag_id
    value = next(iter(target.values()))
    found = db.session.scalar(sa.select(Follow).where(Follow.user_id == user.id, column == value))
    if on and found is None:
        db.session.add(Follow(user_id=user.id, created_at=utcnow(), **target))
    elif not on and found is not None:
        db.session.delete(found)
    try:
        db.session.commit()
    except IntegrityError:  # the same "follow" twice at once: the other request made it
        db.session.rollback()
    return on


def follows_story(user: Any, story_id: int) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    return (
        db.session.scalar(sa.select(Follow.id).where(Follow.user_id == user.id, Follow.story_id == story_id))
        is not None
    )


def follows_tag(user: Any, tag_id: int) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    return (
        db.session.scalar(sa.select(Follow.id).where(Follow.user_id == user.id, Follow.tag_id == tag_id))
        is not None
    )


def followed_tags(user: User) -> list[Tag]:
    return list(
        db.session.scalars(
            sa.select(Tag)
            .join(Follow, Follow.tag_id == Tag.id)
            .where(Follow.user_id == user.id)
            .order_by(Tag.name)
        )
    )


def following_feed(user: User) -> sa.Select[tuple[Story]]:
    """Stories she follows and stories in tags she follows, most recently active first (without what she
    blocked, muted or hides)."""
    stories = sa.select(Follow.story_id).where(Follow.user_id == user.id, Follow.story_id.is_not(None))
    tags = sa.select(Follow.tag_id).where(Follow.user_id == user.id, Follow.tag_id.is_not(None))
    tagged = sa.select(story_tags.c.story_id).where(story_tags.c.tag_id.in_(tags))
    return (
        sa.select(Story)
        .where(
            Story.status == LIVE, sa.or_(Story.id.in_(stories), Story.id.in_(tagged)), *story_filters(user)
        )
        .options(selectinload(Story.tags), selectinload(Story.author))
        .order_by(Story.last_activity_at.desc(), Story.id.desc())
    )


@dataclass
class Mine:
    story: Story
    new_replies: int


def _new_replies(user: User, baseline: Any) -> Any:
    """How many published replies by others a story has after the baseline reply id (a correlated count)."""
    return (
        sa.select(sa.func.count())
        .select_from(Reply)
        .where(
            Reply.story_id == Story.id,
            Reply.status == LIVE,
            Reply.id > baseline,
            Reply.author_id.is_distinct_from(user.id),
        )
        .scalar_subquery()
    )


def _visit(user: User) -> Any:
    return (
        sa.select(StoryVisit.last_reply_id)
        .where(StoryVisit.user_id == user.id, StoryVisit.story_id == Story.id)
        .scalar_subquery()
    )


def my_stories(user: User, limit: int = 50) -> list[Mine]:
    """Her own stories (not deleted), newest activity first, with replies by others since she last looked."""
    new = _new_replies(user, sa.func.coalesce(_visit(user), 0))
    rows = db.session.execute(
        sa.select(Story, new)
        .where(Story.author_id == user.id, Story.status != Status.DELETED.value)
        .order_by(Story.last_activity_at.desc(), Story.id.desc())
        .limit(limit)
    ).all()
    return [Mine(story, int(n or 0)) for story, n in rows]


def replied_stories(user: User, limit: int = 50) -> list[Mine]:
    """Other members' stories she replied to, with replies since she last looked (or since her last reply)."""
    own = aliased(Reply)
    mine = (
        sa.select(sa.func.max(own.id))
        .where(own.story_id == Story.id, own.author_id == user.id)
        .scalar_subquery()
    )
    new = _new_replies(user, sa.func.coalesce(_visit(user), mine))
    replied = sa.select(Reply.story_id).where(
        Reply.author_id == user.id, Reply.status != Status.DELETED.value
    )
    rows = db.session.execute(
        sa.select(Story, new)
        .where(Story.id.in_(replied), Story.status == LIVE, Story.author_id.is_distinct_from(user.id))
        .order_by(Story.last_activity_at.desc(), Story.id.desc())
        .limit(limit)
    ).all()
    return [Mine(story, int(n or 0)) for story, n in rows]


@dataclass
class Unread:
    first_reply_id: int | None
    count: int
    page: int = 1


# How stale a visit's seen_at may grow before a page view writes it again (nothing reads it finer): a story
# re-read with nothing new is then a read, not a write and a commit.
VISIT_RESOLUTION = timedelta(hours=1)


# The notifications of replies in a story: seen once she opens it.
_REPLY_NOTICES = ("reply", "quote", "follow_reply")


def _visit_conditions(user_id: Any, story_id: Any, kinds: Sequence[Any] = _REPLY_NOTICES) -> tuple[Any, Any]:
    """Her visit of the story, and her unread notifications of replies in it (SQL conditions; ``kinds``: the
    reply notices' kinds, as bound values or as constants written into the SQL)."""
    mine = sa.and_(StoryVisit.user_id == user_id, StoryVisit.story_id == story_id)
    notes = sa.and_(
        Notification.user_id == user_id,
        Notification.story_id == story_id,
        Notification.read_at.is_(None),
        Notification.kind.in_(kinds),
    )
    return mine, notes


def opening_text(me: Any) -> Any:
    """What open_story reads, as one text (forum.database.row_text) in a scalar subquery, for the member `me`
    (a bound "me", or her id inside her sign-in statement: forum.auth.sessions.SIGNED_IN_ID): the story's id,
    whether it exists, her visit's last reply (empty if she never opened it), whether that visit is older than
    VISIT_RESOLUTION, the newest reply, the first one new to her and how many are, how many come before it (its
    page), and whether she has unread notifications of replies in it. Her visit is read once (a CTE) and the
    constants are written into the SQL: each bound parameter is processed again at every execution."""
    story_id = sa.bindparam("story_id", type_=sa.Integer)
    stale_before = sa.bindparam("stale_before", type_=StoryVisit.seen_at.type)
    mine, notes = _visit_conditions(me, story_id, [sql_constant(kind) for kind in _REPLY_NOTICES])
    author = sa.select(Story.author_id).where(Story.id == story_id).scalar_subquery()
    one, zero = sql_constant(1), sql_constant(0)
    visit = sa.select(
        sa.case((sa.select(Story.id).where(Story.id == story_id).exists(), one), else_=zero).label("found"),
        sa.case(
            (sa.select(StoryVisit.seen_at).where(mine).scalar_subquery() < stale_before, one), else_=zero
        ).label("stale"),
        sa.select(StoryVisit.last_reply_id).where(mine).scalar_subquery().label("visited"),
        # Where "new" starts: her visit, else nothing is new (0 for the story's author: every reply is).
        sa.case((author == me, zero), else_=sql_constant(2**31 - 1)).label("never"),
    ).cte("opening")
    baseline = sa.func.coalesce(
        sa.select(visit.c.visited).scalar_subquery(), sa.select(visit.c.never).scalar_subquery()
    )
    newer = sa.and_(Reply.id > baseline, Reply.author_id.is_distinct_from(me))
    return (
        sa.select(
            row_text(
                story_id,
                sa.select(visit.c.found).scalar_subquery(),
                sa.select(visit.c.visited).scalar_subquery(),
                sa.select(visit.c.stale).scalar_subquery(),
                sa.func.max(Reply.id),
                sa.func.min(sa.case((newer, Reply.id))),
                sa.func.count(sa.case((newer, one))),
                sa.func.count(sa.case((Reply.id <= baseline, one))),
                sa.case((sa.select(Notification.id).where(notes).exists(), one), else_=zero),
            )
        )
        .where(Reply.story_id == story_id, Reply.status == sql_constant(LIVE))
        .scalar_subquery()
    )


# Read with her sign-in on a story page (forum.auth.sessions.read_with_sign_in), or else on its own.
OPENING_KEPT = KeptForRequest(StoryVisit, Notification, attribute="_village_story_opening")
_OPENING = sa.select(opening_text(sa.bindparam("me", type_=sa.Integer)))


def opening_params(story_id: int) -> dict[str, Any]:
    return {"story_id": story_id, "stale_before": utcnow() - VISIT_RESOLUTION}


def open_story(user: User, story_id: int, per_page: int = 30) -> Unread | None:
    """She is opening a story: what is new since her last visit (first unread reply, how many, on which page),
    and the visit is moved on to the newest reply. A story she never opened shows no marker, except her own.
    The same statements run whatever the story holds (the story page's query budget): one read (none when her
    sign-in statement read it), and writes (one commit) only when something changed: a new visit, newer
    replies, unread notifications of this story to mark read, or a visit older than VISIT_RESOLUTION."""
    params = {"me": user.id} | opening_params(story_id)
    text = OPENING_KEPT.get_or_read(user.id, _OPENING, params, of=f"{story_id}{FIELD_SEPARATOR}")
    _, found, visited, stale, newest, first, count, before, unread_notes = text_rows(text)[0]
    if found != "1":
        return None
    unread = Unread(int(first) if first else None, int(count or 0), int(before or 0) // per_page + 1)
    newest_id = int(newest or 0)
    now = utcnow()
    if not visited:
        db.session.add(StoryVisit(user_id=user.id, story_id=story_id, last_reply_id=newest_id, seen_at=now))
    elif newest_id > int(visited) or stale == "1":
        db.session.execute(
            sa.update(StoryVisit)
            .where(_visit_conditions(user.id, story_id)[0])
            .values(last_reply_id=max(int(visited), newest_id), seen_at=now)
            .execution_options(synchronize_session=False)
        )
    elif unread_notes != "1":
        return unread  # nothing to write
    # What brought her here is seen now: the story's reply notifications stop counting as unread.
    if unread_notes == "1":
        db.session.execute(
            sa.update(Notification)
            .where(_visit_conditions(user.id, story_id)[1])
            .values(read_at=now)
            .execution_options(synchronize_session=False)
        )
    try:
        db.session.commit()
    except (IntegrityError, OperationalError):
        # Two tabs opened it at once (the other recorded the visit), or the database is busy: reading the
        # story matters more than remembering the visit.
        db.session.rollback()
    return unread
