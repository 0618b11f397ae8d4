"""Blocks, muted tags and content-note preferences, and the filters that apply them to what a member sees."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from forum.errors import NotAllowed, NotFound, ValidationFailed
from forum.extensions import db
from forum.models import Block, MemberPreference, Reply, Story, StoryUpdate, Tag, User, story_tags
from forum.stories import hooks
from forum.text import normalise_tag

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
    """Every block that concerns this viewer (one query)."""
    if not _signed_in(viewer):
        return NO_BLOCKS
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
    """The viewer's preferences row, if any."""
    if not _signed_in(viewer):
        return None
    return db.session.get(MemberPreference, viewer.id)


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


def block_author_of(viewer: User, item: Story | Reply) -> Block:
    """Block whoever wrote this story or reply: the member for named posts, the story's anonymous identity for
    posts written as "Anonymous parent" (the member behind it is never looked at)."""
    if is_anonymous_identity(item):
        story = item if isinstance(item, Story) else item.story
        if story.author_id == viewer.id:
            raise ValidationFailed([(None, "You can't block yourself.")])
        condition = Block.blocked_story_id == story.id
        build = {"blocked_story_id": story.id}
    else:
        if item.author_id is None or item.author_id == viewer.id:
            raise ValidationFailed([(None, "You can't block this author.")])
        condition = Block.blocked_id == item.author_id
        build = {"blocked_id": item.author_id}
    existing = db.session.scalar(sa.select(Block).where(Block.blocker_id == viewer.id, condition))
    if existing is not None:
        return existing
    block = Block(blocker_id=viewer.id, **build)
    db.session.add(block)
    db.session.commit()
    return block


def unblock(viewer: User, block_id: int) -> None:
    """Remove one of the viewer's blocks."""
    block = db.session.get(Block, block_id)
    if block is None or block.blocker_id != viewer.id:
        raise NotFound("No such block.")
    db.session.delete(block)
    db.session.commit()


def my_blocks(viewer: User) -> list[tuple[Block, str]]:
    """The viewer's blocks with a label; an anonymous identity is named by its story, never by its author."""
    rows = db.session.execute(
        sa.select(Block, User.pseudonym, Story.title)
        .outerjoin(User, User.id == Block.blocked_id)
        .outerjoin(Story, Story.id == Block.blocked_story_id)
        .where(Block.blocker_id == viewer.id)
        .order_by(Block.created_at, Block.id)
    )
    return [
        (
            block,
            name
            if block.blocked_id is not None
            else f"The person who shared the anonymous story “{title or 'Untitled'}”",
        )
        for block, name, title in rows
    ]


def save_preferences(viewer: User, *, muted: str, notes: dict[str, str]) -> MemberPreference:
    """Store muted tags (normalised) and content-note modes."""
    tags = []
    for raw in muted.replace(",", " ").split():
        tag = normalise_tag(raw)
        if tag and tag not in tags:
            tags.append(tag)
    if len(tags) > 50:
        raise ValidationFailed([("muted_tags", "You can mute up to 50 tags.")])
    prefs = db.session.get(MemberPreference, viewer.id) or MemberPreference(user_id=viewer.id)
    prefs.muted_tags = " ".join(tags)
    prefs.content_notes = " ".join(
        f"{note}:{mode}" for note, mode in sorted(notes.items()) if mode in NOTE_MODES
    )
    db.session.add(prefs)
    db.session.commit()
    return prefs


def refuse_replies_across_blocks(author: User, kind: str, text: str, target: Any) -> None:
    """Across a block, nobody replies or reacts to the other identity's posts (never judged by who is behind
    an anonymous post, so a refusal can't tell anyone who wrote it)."""
    if kind not in ("reply", "reaction") or target is None:
        return
    blocks = blocks_for(author)
    if not blocks:
        return
    story = target if isinstance(target, Story) else target.story
    if story.id in blocks.stories:
        raise NotAllowed("You blocked the person who shared this story.")
    if story.anonymous and story.author_id == author.id:
        # The author acting as this story's "Anonymous parent": only blocks on this identity count.
        owner = target.author_id if isinstance(target, Reply) else None
        if owner is not None and owner in blocks.blocked_me.get(story.id, ()):
            raise NotAllowed("You can't reply to or react to this member's posts.")
        return
    if is_anonymous_identity(target):
        return
    owner = target.author_id if isinstance(target, Story | Reply) else None
    if owner is not None and owner in blocks.members:
        raise NotAllowed("You can't reply to or react to this member's posts.")


def install() -> None:
    hooks.register_before_write(refuse_replies_across_blocks)
