"""Reusable reads for stories: what a viewer may see, returned as Selects where a view may page or filter."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, selectinload, undefer

from forum.errors import NotFound
from forum.extensions import db
from forum.models import Reaction, Reply, Status, Story, StoryUpdate, User
from forum.visibility import blocks_for, hides_author, reply_filter, story_hidden

ANONYMOUS_LABEL = "Anonymous parent"
FORMER_MEMBER_LABEL = "a former member"
REPLIES_PER_PAGE = 30


def visible_stories() -> sa.Select[tuple[Story]]:
    """Published stories only: where every feed, tag page, search and API list starts."""
    return sa.select(Story).where(Story.status == Status.PUBLISHED.value)


def _is_author(item: Any, viewer: Any) -> bool:
    return bool(
        getattr(viewer, "is_authenticated", False)
        and item.author_id is not None
        and item.author_id == viewer.id
    )


def _is_moderator(viewer: Any) -> bool:
    return bool(getattr(viewer, "is_authenticated", False) and viewer.is_moderator)


def author_label(item: Story | Reply, viewer: Any = None) -> str:
    """The name to show for a story or reply: the pseudonym, "Anonymous parent" or "a former member".
    Anonymous comes first: it stays when its author deletes her account, so nothing ties it to her."""
    if isinstance(item, Reply):
        # The anonymous author replying in their own thread stays anonymous.
        if item.author_id is not None and item.story.anonymous and item.story.author_id == item.author_id:
            return (
                "You (anonymous)"
                if _is_author(item, viewer)
                else f"{ANONYMOUS_LABEL} (who shared this story)"
            )
    elif item.anonymous:
        return "You (posted anonymously)" if _is_author(item, viewer) else ANONYMOUS_LABEL
    if item.author_id is None or item.author is None or item.author.is_deleted:
        return FORMER_MEMBER_LABEL
    return item.author.pseudonym


def can_see(item: Story | Reply, viewer: Any) -> bool:
    """Published items are public; the author and moderators also see pending, hidden and removed ones."""
    if item.status in (Status.PUBLISHED.value, Status.DELETED.value):
        return True
    return _is_author(item, viewer) or _is_moderator(viewer)


# Built once: every story page and every reply posted reads its story so, and building the statement (coercions,
# loader options, its cache key) cost more CPU than running it.
_STORY_ALONE = (
    sa.select(Story)
    .where(Story.id == sa.bindparam("story_id", type_=sa.Integer))
    .options(joinedload(Story.author))
)
# The story page also shows its similar stories, found by its vector (deferred elsewhere: 3 KB per story).
_STORY = _STORY_ALONE.options(selectinload(Story.tags), undefer(Story.embedding))


def get_story(story_id: int, viewer: Any = None, *, with_tags: bool = True) -> Story:
    """The story if this viewer may see it (a deleted one shows as a tombstone), else NotFound. Without its
    tags when the caller will not show them (posting a reply: a second statement saved on every write; a page
    rendered after all, when the reply is refused, loads them when it reaches them)."""
    story = db.session.scalar(_STORY if with_tags else _STORY_ALONE, {"story_id": story_id})
    if story is None or not can_see(story, viewer):
        raise NotFound("We couldn't find that story. It may have been removed.")
    hidden = story_hidden(story, viewer)
    if hidden:
        raise NotFound(hidden)
    return story


def get_reply(reply_id: int, viewer: Any = None) -> Reply:
    """The reply if this viewer may see it, else NotFound."""
    reply = db.session.get(Reply, reply_id)
    if (
        reply is None
        or reply.status == Status.DELETED.value
        or not can_see(reply, viewer)
        or not can_see(reply.story, viewer)
    ):
        raise NotFound("We couldn't find that reply. It may have been deleted.")
    return reply


def replies_for(story: Story, viewer: Any = None) -> sa.Select[tuple[Reply]]:
    """A story's replies in order: published ones, plus the viewer's own that wait for a moderator."""
    visible = Reply.status == Status.PUBLISHED.value
    if _is_moderator(viewer):
        visible = Reply.status != Status.DELETED.value
    elif getattr(viewer, "is_authenticated", False):
        visible = sa.or_(visible, sa.and_(Reply.author_id == viewer.id, Reply.status != Status.DELETED.value))
    unblocked = reply_filter(story, viewer)
    if unblocked is not None:
        visible = sa.and_(visible, unblocked)
    return (
        sa.select(Reply)
        .where(Reply.story_id == story.id, visible)
        .options(joinedload(Reply.author))  # one statement for the page's replies and their authors
        .order_by(Reply.created_at, Reply.id)
    )


@dataclass
class ReplyPage:
    """One page of a story's replies, with what the pager reads (the names of Flask-SQLAlchemy's Pagination)."""

    items: list[Reply]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return -(-self.total // self.per_page)

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def prev_num(self) -> int | None:
        return self.page - 1 if self.has_prev else None

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def next_num(self) -> int | None:
        return self.page + 1 if self.has_next else None


def reply_page(story: Story, viewer: Any = None, page: int = 1) -> ReplyPage:
    """A page of the replies this viewer sees and how many there are in all, in one statement (the count is a
    window over the same rows); a page past the end counts them on its own."""
    page = max(page, 1)
    select = replies_for(story, viewer)
    rows = db.session.execute(
        select.add_columns(sa.func.count().over().label("total"))
        .limit(REPLIES_PER_PAGE)
        .offset((page - 1) * REPLIES_PER_PAGE)
    ).all()
    if rows:
        total = int(rows[0].total)
    else:
        total = int(db.session.scalar(sa.select(sa.func.count()).select_from(select.subquery())) or 0)
    return ReplyPage([row[0] for row in rows], page, REPLIES_PER_PAGE, total)


# A reply's place in its thread, compared as a row value: (created_at, id) < (?, ?) is a range of the
# (story_id, created_at, id) index on both databases, where the same test spelled with OR (created_at < ? OR
# created_at = ? AND id < ?) made SQLite read every reply of the thread (0.8 ms at 6,500 replies, per reply posted).
_REPLY_POSITION = sa.tuple_(
    sa.bindparam("created_at", type_=Reply.created_at.type), sa.bindparam("reply_id", type_=sa.Integer)
)


# Built once (a mail's link and an edit's redirect go to a reply's page): the statement cost more to build than to
# run.
_REPLIES_BEFORE = (
    sa.select(sa.func.count())
    .select_from(Reply)
    .where(
        Reply.story_id == sa.bindparam("story_id", type_=sa.Integer),
        Reply.status == Status.PUBLISHED.value,
        sa.tuple_(Reply.created_at, Reply.id) < _REPLY_POSITION,
    )
)


def reply_page_number(reply: Reply) -> int:
    """Which page of its story a published reply is on."""
    params = {"story_id": reply.story_id, "created_at": reply.created_at, "reply_id": reply.id}
    before = db.session.scalar(_REPLIES_BEFORE, params) or 0
    return before // REPLIES_PER_PAGE + 1


def new_reply_page_number(reply: Reply, story: Story) -> int:
    """Which page a reply just posted is on, with no statement: the last, by the story's count of published
    replies as its counter's UPDATE returned it in the reply's own transaction (forum.stories.lifecycle); a
    held reply goes after them. (A reply sent by someone else in the same instant may land either side of it.)"""
    before = story.reply_count - (1 if reply.status == Status.PUBLISHED.value else 0)
    return max(0, before) // REPLIES_PER_PAGE + 1


def updates_for(story: Story, viewer: Any = None) -> list[StoryUpdate]:
    """The author's "how it turned out" updates, oldest first."""
    query = sa.select(StoryUpdate).where(StoryUpdate.story_id == story.id)
    if not (_is_author(story, viewer) or _is_moderator(viewer)):
        query = query.where(StoryUpdate.status == Status.PUBLISHED.value)
    return list(db.session.scalars(query.order_by(StoryUpdate.created_at, StoryUpdate.id)))


@dataclass
class ReactionSummary:
    """Who reacted how to one story or reply, and what the viewer has sent."""

    people: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    mine: set[str] = field(default_factory=set)
    filtered: bool = False  # the viewer's blocks left some reactions out: this list is hers alone

    def count(self, kind: str) -> int:
        return len(self.people.get(kind, ()))

    # A reaction button's state for the viewer (forum.stories.kept renders slots in their place).
    def want(self, kind: str) -> str:
        return "0" if kind in self.mine else "1"

    def on_class(self, kind: str) -> str:
        return " is-on" if kind in self.mine else ""

    def pressed(self, kind: str) -> str:
        return "true" if kind in self.mine else "false"


def reaction_summaries(
    story: Story | None, replies: list[Reply], viewer: Any = None
) -> dict[str, ReactionSummary]:
    """Reactions on a story and a page of its replies, keyed "story-<id>"/"reply-<id>", in one query."""
    conditions = []
    if story is not None:
        conditions.append(Reaction.story_id == story.id)
    if replies:
        conditions.append(Reaction.reply_id.in_([r.id for r in replies]))
    summaries: dict[str, ReactionSummary] = defaultdict(ReactionSummary)
    if not conditions:
        return summaries
    viewer_id = viewer.id if getattr(viewer, "is_authenticated", False) else None
    rows = db.session.execute(
        sa.select(Reaction.story_id, Reaction.reply_id, Reaction.kind, Reaction.user_id, User.pseudonym)
        .join(User, User.id == Reaction.user_id)
        .where(sa.or_(*conditions))
        .order_by(Reaction.created_at, Reaction.id)
    )
    blocks = blocks_for(viewer)
    thread = story if story is not None else replies[0].story
    # In an anonymous story, its author's reactions (on the story or on replies in it) are the "Anonymous
    # parent"'s, like her replies there: a list of names must never put her pseudonym beside her own story.
    anonymous_author = thread.author_id if thread.anonymous else None
    for story_id, reply_id, kind, user_id, pseudonym in rows:
        summary = summaries[f"reply-{reply_id}" if reply_id else f"story-{story_id}"]
        if hides_author(thread, user_id, viewer, blocks):
            summary.filtered = True
            continue
        summary.people[kind].append(ANONYMOUS_LABEL if user_id == anonymous_author else pseudonym)
        if user_id == viewer_id:
            summary.mine.add(kind)
    return summaries
