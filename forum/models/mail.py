"""Mail that brings members back (preferences, the outbox), following, and what a member has already read."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from forum.models.base import Base, utcnow
from forum.models.story import Story, Tag


class MailPreference(Base):
    """How and when a member wants mail. No row means every default (see forum.notifications.mail.kinds)."""

    __tablename__ = "mail_preferences"

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    # kind -> "now" | "digest" | "off"; kinds missing here take their default.
    kinds: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    # The member's time zone (an IANA name); empty means the site's.
    timezone: Mapped[str] = mapped_column(sa.String(64), default="")
    # Quiet hours in minutes after local midnight; equal values mean none.
    quiet_start: Mapped[int] = mapped_column(default=21 * 60, server_default=str(21 * 60))
    quiet_end: Mapped[int] = mapped_column(default=8 * 60, server_default=str(8 * 60))
    digest: Mapped[str] = mapped_column(sa.String(8), default="daily", server_default="daily")
    last_digest_at: Mapped[datetime | None] = mapped_column()
    # Follow the stories I reply to.
    follow_replied: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    # The address confirmed through a signed link; mail is only sent while it equals users.email, so a changed
    # address must be confirmed again.
    verified_email: Mapped[str | None] = mapped_column(sa.String(254))


class MailOutbox(Base):
    """One message to send, written in the same transaction as the event it tells about.

    state: queued -> sending (claimed with a lease) -> sent, or back to queued with a later due_at after a
    failure, or failed after the last attempt; cancelled when nothing in it may be shown any more. The
    Message-ID is fixed when the row is written, so a retry after a crash carries the same one.
    """

    __tablename__ = "mail_outbox"
    __table_args__ = (
        sa.Index("ix_mail_outbox_state_due", "state", "due_at"),
        sa.Index("ix_mail_outbox_user_state", "user_id", "state", "group_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(sa.String(24))
    # Replies to the same story within a few minutes share one message.
    group_key: Mapped[str | None] = mapped_column(sa.String(80))
    # {"notifications": [ids]} for a notification mail, {"email": …} for a verification mail, …
    payload: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    message_id: Mapped[str] = mapped_column(sa.String(200), unique=True)
    state: Mapped[str] = mapped_column(sa.String(12), default="queued", server_default="queued")
    due_at: Mapped[datetime] = mapped_column(default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column()
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    last_error: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(index=True)


class Follow(Base):
    """A member following a story (its new replies) or a tag (its new stories)."""

    __tablename__ = "follows"
    __table_args__ = (
        sa.UniqueConstraint("user_id", "story_id", name="uq_follows_user_story"),
        sa.UniqueConstraint("user_id", "tag_id", name="uq_follows_user_tag"),
        sa.CheckConstraint("(story_id IS NULL) <> (tag_id IS NULL)", name="one_target"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    story_id: Mapped[int | None] = mapped_column(sa.ForeignKey("stories.id", ondelete="CASCADE"), index=True)
    tag_id: Mapped[int | None] = mapped_column(sa.ForeignKey("tags.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    story: Mapped[Story | None] = relationship()
    tag: Mapped[Tag | None] = relationship()


class StoryVisit(Base):
    """The newest reply a member had seen on a story when she last opened it (for "new replies")."""

    __tablename__ = "story_visits"

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    story_id: Mapped[int] = mapped_column(sa.ForeignKey("stories.id", ondelete="CASCADE"), primary_key=True)
    last_reply_id: Mapped[int] = mapped_column(default=0, server_default="0")
    seen_at: Mapped[datetime] = mapped_column(default=utcnow)
