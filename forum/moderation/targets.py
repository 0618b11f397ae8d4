"""Finding the story, reply or update a report or action is about."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import sqlalchemy as sa

from forum.errors import NotFound
from forum.extensions import db
from forum.models import Reply, Story, StoryUpdate, User

TARGET_MODELS: dict[str, type[Story] | type[Reply] | type[StoryUpdate]] = {
    "story": Story,
    "reply": Reply,
    "update": StoryUpdate,
}


@dataclass
class Target:
    """A moderatable item with the story it belongs to and its author."""

    kind: str
    item: Story | Reply | StoryUpdate
    story: Story

    @property
    def id(self) -> int:
        return self.item.id

    @property
    def author_id(self) -> int | None:
        return self.story.author_id if isinstance(self.item, StoryUpdate) else self.item.author_id

    @property
    def author(self) -> User | None:
        return db.session.get(User, self.author_id) if self.author_id else None

    @property
    def is_anonymous(self) -> bool:
        """Written under "Anonymous parent": moderators see the name only through the audited reveal."""
        return self.story.anonymous and self.author_id is not None and self.author_id == self.story.author_id

    def identity_items(self) -> list[tuple[str, int]]:
        """For an anonymous item, every (kind, id) written under the same "Anonymous parent": the story, its
        updates and its author's replies in it. Moderators' counts and history for an anonymous author are
        about these only, never about the member's other posts."""
        story = self.story
        updates = db.session.scalars(sa.select(StoryUpdate.id).where(StoryUpdate.story_id == story.id))
        replies = db.session.scalars(
            sa.select(Reply.id).where(Reply.story_id == story.id, Reply.author_id == story.author_id)
        )
        return [("story", story.id), *(("update", i) for i in updates), *(("reply", i) for i in replies)]

    @property
    def author_name(self) -> str:
        if self.is_anonymous:
            return "Anonymous parent"
        author = self.author
        return author.pseudonym if author and not author.is_deleted else "a former member"

    @property
    def text(self) -> str:
        title = getattr(self.item, "title", None)
        return f"{title}\n\n{self.item.body}" if title else self.item.body

    @property
    def label(self) -> str:
        return {"story": "story", "reply": "reply", "update": "update"}[self.kind]

    def url_anchor(self) -> str:
        return "" if self.kind == "story" else f"#{self.kind}-{self.item.id}"


def load_target(kind: str, item_id: int) -> Target:
    """The item of this kind and id, or NotFound."""
    model = TARGET_MODELS.get(kind)
    # get() cannot tell which of the three models a union of classes gives back
    item = cast(Story | Reply | StoryUpdate | None, db.session.get(model, item_id) if model else None)
    if item is None:
        raise NotFound("We couldn't find that post.")
    story = item if isinstance(item, Story) else item.story
    return Target(kind, item, story)


def target_of(item: Story | Reply | StoryUpdate) -> Target:
    """Wrap an item as a Target."""
    kind = "story" if isinstance(item, Story) else "reply" if isinstance(item, Reply) else "update"
    return Target(kind, item, item if isinstance(item, Story) else item.story)
