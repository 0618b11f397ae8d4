"""Blocks, muted tags and content-note preferences, and the filters that apply them to what a member sees."""

from __future__ import annotations

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


def blocked_ids(viewer: Any) -> set[int]:
    """Members this viewer blocked or was blocked by."""
    if not _signed_in(viewer):
        return set()
    rows = db.session.execute(
        sa.select(Block.blocker_id, Block.blocked_id).where(
            sa.or_(Block.blocker_id == viewer.id, Block.blocked_id == viewer.id)
        )
    )
    return {b if a == viewer.id else a for a, b in rows}


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
    """SQL conditions on Story that hide blocked members, muted tags and hidden content notes from this viewer."""
    conditions: list[Any] = []
    blocked = blocked_ids(viewer)
    if blocked:
        conditions.append(sa.or_(Story.author_id.is_(None), Story.author_id.not_in(blocked)))
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


def block_author_of(viewer: User, item: Story | Reply) -> None:
    """Block whoever wrote this story or reply (for an anonymous story, without telling the viewer who)."""
    author_id = item.author_id
    if author_id is None or author_id == viewer.id:
        raise ValidationFailed([(None, "You can't block this author.")])
    anonymous = isinstance(item, Story) and item.anonymous
    if not db.session.scalar(
        sa.select(Block.id).where(Block.blocker_id == viewer.id, Block.blocked_id == author_id)
    ):
        db.session.add(Block(blocker_id=viewer.id, blocked_id=author_id, via_anonymous=anonymous))
        db.session.commit()


def unblock(viewer: User, block_id: int) -> None:
    """Remove one of the viewer's blocks."""
    block = db.session.get(Block, block_id)
    if block is None or block.blocker_id != viewer.id:
        raise NotFound("No such block.")
    db.session.delete(block)
    db.session.commit()


def my_blocks(viewer: User) -> list[tuple[Block, str]]:
    """The viewer's blocks with a label that never reveals an anonymous author."""
    rows = db.session.execute(
        sa.select(Block, User.pseudonym)
        .join(User, User.id == Block.blocked_id)
        .where(Block.blocker_id == viewer.id)
        .order_by(Block.created_at)
    )
    return [
        (b, "a member you blocked from an anonymous story" if b.via_anonymous else name) for b, name in rows
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
    """Members who blocked each other cannot reply to (or react to) each other's posts."""
    if kind not in ("reply", "reaction") or target is None:
        return
    owner = target.story.author_id if isinstance(target, StoryUpdate) else getattr(target, "author_id", None)
    if owner is not None and owner in blocked_ids(author):
        raise NotAllowed("You can't reply to or react to this member's posts.")


def install() -> None:
    hooks.register_before_write(refuse_replies_across_blocks)
