"""Who sees which post: the blocks, muted tags and content-note preferences that shape one viewer's view, as
Python checks and as SQL conditions. Below every feature, so stories, feeds, search, similar stories, the API,
following and mail all apply the same rules (forum.care.preferences changes them)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from flask import has_request_context, request

from forum.database import KeptForRequest
from forum.extensions import db
from forum.models import Block, MemberPreference, Reply, Story, StoryUpdate, Tag, story_tags

NOTE_MODES = ("collapse", "show", "hide")


def _signed_in(viewer: Any) -> bool:
    return bool(getattr(viewer, "is_authenticated", False))


# What blocking means (the promise on the privacy page):
# - A block made from a member's named story or reply is on that member's *named* identity. Neither side
#   sees the other's named stories, replies or reactions, and neither can reply or react to the other's named
#   posts. Anonymous posts are never touched by it: each side sees the other's anonymous stories, their
#   replies there and their reactions there exactly as anyone else does, and may reply and react to them.
# - A block made from an anonymous story (or from its author's "Anonymous parent" replies) is on that story's
#   anonymous identity only, keyed by the story. The blocker no longer sees that story anywhere (page, feeds,
#   search, API, similar stories), and inside that story its author no longer sees the blocker's replies or
#   reactions. Nothing else changes, on either side: not her named posts, not her other anonymous stories.
# So no page, status code, list, count or refusal ever differs because of who is behind an anonymous post.


@dataclass(frozen=True)
class Blocks:
    """The blocks that shape one viewer's view, by identity."""

    members: frozenset[int] = frozenset()  # named identities the viewer blocked or was blocked by
    stories: frozenset[int] = frozenset()  # anonymous identities (story ids) the viewer blocked
    # The viewer's own anonymous stories -> members who blocked that story's identity.
    blocked_me: dict[int, frozenset[int]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.members or self.stories or self.blocked_me)


NO_BLOCKS = Blocks()


def blocks_for(viewer: Any) -> Blocks:
    """Every block that concerns this viewer (one query, kept for the rest of the request: a story page asked
    three times; a block or unblock in the request drops it, see forget_when_written)."""
    if not _signed_in(viewer):
        return NO_BLOCKS
    if not has_request_context():
        return _read_blocks(viewer)
    blocks = _BLOCKS_KEPT.get(viewer.id)
    if blocks is None:
        blocks = _read_blocks(viewer)
        _BLOCKS_KEPT.keep(viewer.id, blocks)
    return blocks


_BLOCKS_KEPT = KeptForRequest(Block, attribute="_village_blocks")


def keep_no_blocks(viewer_id: int) -> None:
    """The viewer has no block at all (known from her sign-in statement, forum.auth.sessions): no read needed."""
    _BLOCKS_KEPT.keep(viewer_id, NO_BLOCKS)


def _read_blocks(viewer: Any) -> Blocks:
    rows = db.session.execute(
        sa.select(Block.blocker_id, Block.blocked_id, Block.blocked_story_id, Story.author_id)
        .outerjoin(Story, Story.id == Block.blocked_story_id)
        .where(
            sa.or_(
                Block.blocker_id == viewer.id,
                Block.blocked_id == viewer.id,
                sa.and_(Block.blocked_story_id.is_not(None), Story.author_id == viewer.id),
            )
        )
    )
    members: set[int] = set()
    stories: set[int] = set()
    blocked_me: dict[int, set[int]] = {}
    for blocker, blocked, story_id, story_author in rows:
        if blocked is not None:
            members.add(blocked if blocker == viewer.id else blocker)
        elif blocker == viewer.id:
            stories.add(story_id)
        elif story_author == viewer.id:
            blocked_me.setdefault(story_id, set()).add(blocker)
    return Blocks(frozenset(members), frozenset(stories), {k: frozenset(v) for k, v in blocked_me.items()})


def blocked_ids(viewer: Any) -> set[int]:
    """Members this viewer blocked or was blocked by (named identities; anonymous posts never count)."""
    return set(blocks_for(viewer).members)


def is_anonymous_identity(item: Story | Reply | StoryUpdate) -> bool:
    """Written under a story's "Anonymous parent": the story, its updates, and its author's replies in it."""
    if isinstance(item, Story):
        return item.anonymous
    story = item.story
    if isinstance(item, StoryUpdate):
        return story.anonymous
    return story.anonymous and item.author_id is not None and item.author_id == story.author_id


def story_hidden(story: Story, viewer: Any, blocks: Blocks | None = None) -> str | None:
    """Why a block hides this story from this viewer (a message that names nobody), or None."""
    blocks = blocks if blocks is not None else blocks_for(viewer)
    if story.id in blocks.stories:
        return "You blocked the person who shared this story. You can undo this in your settings."
    if not story.anonymous and story.author_id is not None and story.author_id in blocks.members:
        return "This story is from a member you've blocked (or who blocked you)."
    return None


def hides_author(story: Story, author_id: int | None, viewer: Any, blocks: Blocks | None = None) -> bool:
    """Whether this viewer's blocks hide a reply or reaction by author_id inside this story."""
    blocks = blocks if blocks is not None else blocks_for(viewer)
    if author_id is None or not blocks:
        return False
    if story.id in blocks.stories:
        return True
    if story.anonymous and author_id == story.author_id:
        return False  # the story's own "Anonymous parent": named blocks never reach it
    return author_id in blocks.members or author_id in blocks.blocked_me.get(story.id, ())


def reply_filter(story: Story, viewer: Any, blocks: Blocks | None = None) -> Any:
    """SQL condition on Reply for a story's replies this viewer's blocks leave visible (None: all of them)."""
    blocks = blocks if blocks is not None else blocks_for(viewer)
    hidden = set(blocks.members) | set(blocks.blocked_me.get(story.id, ()))
    if story.anonymous and story.author_id is not None:
        hidden.discard(story.author_id)
    if not hidden:
        return None
    return sa.or_(Reply.author_id.is_(None), Reply.author_id.not_in(hidden))


def preferences(viewer: Any) -> MemberPreference | None:
    """The viewer's preferences row, if any (read once per request: a member without a row would otherwise
    cost a statement for each of muted tags, content notes and every list that asks)."""
    if not _signed_in(viewer):
        return None
    if not has_request_context():
        return db.session.get(MemberPreference, viewer.id)
    kept = getattr(request, "_village_preferences", None)
    if kept is None or kept[0] != viewer.id:
        kept = (viewer.id, db.session.get(MemberPreference, viewer.id))
        request._village_preferences = kept  # type: ignore[attr-defined]
    return kept[1]


def keep_preferences(viewer_id: int, prefs: MemberPreference | None) -> None:
    """Hand over the viewer's preferences row, already read with her sign-in (forum.auth.sessions)."""
    request._village_preferences = (viewer_id, prefs)  # type: ignore[attr-defined]


def muted_tags(viewer: Any) -> list[str]:
    prefs = preferences(viewer)
    return prefs.muted_tags.split() if prefs and prefs.muted_tags else []


def note_modes(viewer: Any) -> dict[str, str]:
    """Content note -> collapse/show/hide for this viewer (collapse when not set)."""
    prefs = preferences(viewer)
    pairs = (item.split(":", 1) for item in (prefs.content_notes.split() if prefs else []))
    return {note: mode for note, mode in pairs if mode in NOTE_MODES}


def story_filters(viewer: Any) -> list[Any]:
    """SQL conditions on Story hiding blocked identities, muted tags and hidden content notes."""
    conditions: list[Any] = []
    blocks = blocks_for(viewer)
    if blocks.members:
        # A named block hides named stories only; anonymous stories are never filtered by who wrote them.
        conditions.append(
            sa.or_(Story.anonymous, Story.author_id.is_(None), Story.author_id.not_in(blocks.members))
        )
    if blocks.stories:
        conditions.append(Story.id.not_in(blocks.stories))
    muted = muted_tags(viewer)
    if muted:
        muted_stories = (
            sa.select(story_tags.c.story_id)
            .join(Tag, Tag.id == story_tags.c.tag_id)
            .where(Tag.name.in_(muted))
        )
        conditions.append(Story.id.not_in(muted_stories))
    hidden_notes = [note for note, mode in note_modes(viewer).items() if mode == "hide"]
    if hidden_notes:
        conditions.append(sa.or_(Story.content_note.is_(None), Story.content_note.not_in(hidden_notes)))
    return conditions
