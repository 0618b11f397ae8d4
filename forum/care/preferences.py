"""Blocks, muted tags and content-note preferences: a member changes them here; forum.visibility applies them
to what she sees."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from forum.errors import NotAllowed, NotFound, ValidationFailed
from forum.extensions import db
from forum.models import Block, MemberPreference, Reply, Story, User
from forum.stories import hooks
from forum.text import normalise_tag
from forum.visibility import NOTE_MODES, blocks_for, is_anonymous_identity


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
