"""Stories, their tags, updates, replies, reactions, drafts and notifications."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from forum.models.base import Base, utcnow
from forum.models.user import User


class Status(str, enum.Enum):
    """Where a story, reply or update stands; only PUBLISHED is shown to other members."""

    PUBLISHED = "published"
    PENDING = "pending"  # held for moderator approval (new accounts, watched words)
    HIDDEN = "hidden"  # hidden pending review (auto-hide or a moderator)
    REMOVED = "removed"  # removed by a moderator
    DELETED = "deleted"  # deleted by its author


# The partial index's condition, written as the story page's read writes it (so both databases see it applies).
REPLIES_NOT_OUT = "status <> 'published' AND status <> 'deleted'"


class AgeBand(str, enum.Enum):
    UNDER_1 = "under-1"
    ONE_TWO = "1-2"
    TWO_THREE = "2-3"
    THREE_FOUR = "3-4"
    FOUR_FIVE = "4-5"
    FIVE_PLUS = "5-plus"


class Setting(str, enum.Enum):
    NURSERY = "nursery"
    CHILDMINDER = "childminder"
    PRESCHOOL = "preschool"
    SCHOOL = "school"
    FAMILY = "family"
    OTHER = "other"


# Content notes an author may put on a story, with the label readers see before opening it.
CONTENT_NOTES = {
    "baby-loss": "Baby loss",
    "medical": "Medical",
    "birth-trauma": "Birth trauma",
    "self-harm": "Self-harm",
    "mental-health": "Mental health",
}


class Outcome(str, enum.Enum):
    """How it turned out, as the author tells it. "Still hard" is an equal choice."""

    BETTER = "better"
    MIXED = "mixed"
    STILL_HARD = "still-hard"


class ReactionKind(str, enum.Enum):
    HUGS = "hugs"
    ME_TOO = "me-too"
    BEEN_THERE = "been-there"
    GOT_THIS = "got-this"


story_tags = sa.Table(
    "story_tags",
    Base.metadata,
    sa.Column("story_id", sa.ForeignKey("stories.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("tag_id", sa.ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Tag(Base):
    __tablename__ = "tags"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(30), unique=True)
    # Denormalised count of published stories with this tag, for the tag directory.
    story_count: Mapped[int] = mapped_column(default=0, server_default="0")


class Story(Base):
    __tablename__ = "stories"
    __table_args__ = (
        sa.Index("ix_stories_status_created", "status", "created_at", "id"),
        sa.Index("ix_stories_status_activity", "status", "last_activity_at", "id"),
        # A member's stories newest first (the check before every write reads her latest few with their times:
        # from the index alone on PostgreSQL, whatever its statistics say of her).
        sa.Index("ix_stories_author_recent", "author_id", "id", postgresql_include=["created_at"]),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Null when the author deleted their account but chose to keep their stories.
    author_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    anonymous: Mapped[bool] = mapped_column(default=False)
    title: Mapped[str | None] = mapped_column(sa.String(150))
    body: Mapped[str] = mapped_column(sa.Text)
    body_html: Mapped[str] = mapped_column(sa.Text, default="")
    age_band: Mapped[str | None] = mapped_column(sa.String(10), index=True)
    setting: Mapped[str | None] = mapped_column(sa.String(16), index=True)
    content_note: Mapped[str | None] = mapped_column(sa.String(32))
    status: Mapped[str] = mapped_column(sa.String(16), default=Status.PUBLISHED.value)
    locked: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    edited_at: Mapped[datetime | None] = mapped_column()
    last_activity_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Denormalised counters so feeds never count rows per item.
    reply_count: Mapped[int] = mapped_column(default=0, server_default="0")
    reaction_count: Mapped[int] = mapped_column(default=0, server_default="0")
    update_count: Mapped[int] = mapped_column(default=0, server_default="0")
    latest_outcome: Mapped[str | None] = mapped_column(sa.String(16))
    # Idempotency key from the compose form: a double tap on "Post" creates one story.
    submission_key: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    # The similar-stories model's vector (768 float32 for MPNet: 3 KB, stored out of line by PostgreSQL), computed
    # when posted or edited. Loaded only where asked for (undefer): every story page, reply and list loaded it.
    embedding: Mapped[bytes | None] = mapped_column(sa.LargeBinary, deferred=True)
    # When the vector or the visibility last changed: each worker's similar-stories index loads what changed
    # since the newest change it has loaded (forum/similar/store.py keeps it set).
    vector_updated_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    author: Mapped[User | None] = relationship(foreign_keys=[author_id])
    tags: Mapped[list[Tag]] = relationship(secondary=story_tags, order_by=Tag.name)


class Reply(Base):
    __tablename__ = "replies"
    __table_args__ = (
        sa.Index("ix_replies_story_created", "story_id", "created_at", "id"),
        # A member's replies newest first (the check before every write reads her latest few with their times:
        # from the index alone on PostgreSQL, whatever its statistics say of her).
        sa.Index("ix_replies_author_recent", "author_id", "id", postgresql_include=["created_at"]),
        # Replies not out and not deleted (held, hidden, removed): few. A member's own on a story are read with
        # every story page she opens (forum.stories.kept_page), through this index rather than through all of
        # her replies or all of the story's.
        sa.Index(
            "ix_replies_not_out",
            "story_id",
            "author_id",
            postgresql_where=sa.text(REPLIES_NOT_OUT),
            sqlite_where=sa.text(REPLIES_NOT_OUT),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    story_id: Mapped[int] = mapped_column(sa.ForeignKey("stories.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(sa.Text)
    body_html: Mapped[str] = mapped_column(sa.Text, default="")
    status: Mapped[str] = mapped_column(sa.String(16), default=Status.PUBLISHED.value)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    edited_at: Mapped[datetime | None] = mapped_column()
    reaction_count: Mapped[int] = mapped_column(default=0, server_default="0")
    submission_key: Mapped[str | None] = mapped_column(sa.String(64), unique=True)

    story: Mapped[Story] = relationship()
    author: Mapped[User | None] = relationship(foreign_keys=[author_id])


class StoryUpdate(Base):
    """A dated "how it turned out" update by the story's author."""

    __tablename__ = "story_updates"

    id: Mapped[int] = mapped_column(primary_key=True)
    story_id: Mapped[int] = mapped_column(sa.ForeignKey("stories.id", ondelete="CASCADE"), index=True)
    body: Mapped[str] = mapped_column(sa.Text)
    body_html: Mapped[str] = mapped_column(sa.Text, default="")
    outcome: Mapped[str] = mapped_column(sa.String(16))
    status: Mapped[str] = mapped_column(sa.String(16), default=Status.PUBLISHED.value)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    submission_key: Mapped[str | None] = mapped_column(sa.String(64), unique=True)

    story: Mapped[Story] = relationship()


class Revision(Base):
    """A previous version of an edited story or reply, kept for moderators."""

    __tablename__ = "revisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    story_id: Mapped[int | None] = mapped_column(sa.ForeignKey("stories.id", ondelete="CASCADE"), index=True)
    reply_id: Mapped[int | None] = mapped_column(sa.ForeignKey("replies.id", ondelete="CASCADE"), index=True)
    title: Mapped[str | None] = mapped_column(sa.String(150))
    body: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Reaction(Base):
    """One supportive reaction by one member on a story or a reply."""

    __tablename__ = "reactions"
    __table_args__ = (
        sa.UniqueConstraint("user_id", "story_id", "kind", name="uq_reactions_user_story_kind"),
        sa.UniqueConstraint("user_id", "reply_id", "kind", name="uq_reactions_user_reply_kind"),
        sa.CheckConstraint("(story_id IS NULL) <> (reply_id IS NULL)", name="one_target"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    story_id: Mapped[int | None] = mapped_column(sa.ForeignKey("stories.id", ondelete="CASCADE"), index=True)
    reply_id: Mapped[int | None] = mapped_column(sa.ForeignKey("replies.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship()


class Draft(Base):
    """What a member is typing, saved as they type so it follows them across devices."""

    __tablename__ = "drafts"
    __table_args__ = (sa.UniqueConstraint("user_id", "key", name="uq_drafts_user_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Null for a signed-out stash: a form posted after the login session ended, kept until sign-in.
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    # "story" for the compose page, "reply-<story id>" for a reply box, "stash:<token>" for a stash.
    key: Mapped[str] = mapped_column(sa.String(40), index=True)
    title: Mapped[str] = mapped_column(sa.String(150), default="")
    body: Mapped[str] = mapped_column(sa.Text, default="")
    tags: Mapped[str] = mapped_column(sa.String(400), default="")
    # The other form fields (anonymous, age band, setting, content note, reminder, submission key).
    extra: Mapped[dict[str, object]] = mapped_column(sa.JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Notification(Base):
    """Something for a member to see: a reply, grouped reactions, an update reminder, a moderation notice."""

    __tablename__ = "notifications"
    __table_args__ = (sa.Index("ix_notifications_user_read", "user_id", "read_at", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(sa.String(32))
    story_id: Mapped[int | None] = mapped_column(sa.ForeignKey("stories.id", ondelete="CASCADE"))
    reply_id: Mapped[int | None] = mapped_column(sa.ForeignKey("replies.id", ondelete="CASCADE"))
    # Reactions are grouped per target and kind: "5 parents sent hugs".
    group_key: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    actor_count: Mapped[int] = mapped_column(default=1, server_default="1")
    message: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column()

    story: Mapped[Story | None] = relationship()
    reply: Mapped[Reply | None] = relationship()


class UpdateReminder(Base):
    """A reminder the author asked for, to add a "how it turned out" update."""

    __tablename__ = "update_reminders"

    id: Mapped[int] = mapped_column(primary_key=True)
    story_id: Mapped[int] = mapped_column(sa.ForeignKey("stories.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    due_at: Mapped[datetime] = mapped_column(index=True)
    sent_at: Mapped[datetime | None] = mapped_column()
