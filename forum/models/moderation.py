"""Moderation as data: reports (flags), the audit log, claims, notes, watched words, appeals, site settings."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from forum.models.base import Base, utcnow
from forum.models.user import User


class FlagReason(str, enum.Enum):
    AT_RISK = "at-risk"  # a welfare report: never counts towards auto-hide
    CHILD_DETAILS = "child-details"
    UNKIND = "unkind"
    SPAM = "spam"
    OFF_TOPIC = "off-topic"
    OTHER = "other"
    WATCHED_WORD = "watched-word"  # raised by the system


class Flag(Base):
    """One member's report on a story, reply or update (or a system flag with no reporter)."""

    __tablename__ = "flags"
    __table_args__ = (sa.Index("ix_flags_target_open", "target_type", "target_id", "resolved_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    reporter_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    target_type: Mapped[str] = mapped_column(sa.String(10))
    target_id: Mapped[int] = mapped_column()
    story_id: Mapped[int] = mapped_column(sa.ForeignKey("stories.id", ondelete="CASCADE"), index=True)
    # The member who wrote the reported item, for their history in the queue.
    author_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"), index=True)
    reason: Mapped[str] = mapped_column(sa.String(20))
    note: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column()
    # "upheld" (action taken) or "dismissed" (no fault): the flagger's track record.
    resolution: Mapped[str | None] = mapped_column(sa.String(12))

    reporter: Mapped[User | None] = relationship(foreign_keys=[reporter_id])


class AuditEntry(Base):
    """Every moderator action and every look at an anonymous author: append-only."""

    __tablename__ = "audit_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"), index=True)
    action: Mapped[str] = mapped_column(sa.String(32), index=True)
    target_type: Mapped[str | None] = mapped_column(sa.String(10))
    target_id: Mapped[int | None] = mapped_column()
    subject_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"), index=True)
    reason: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    actor: Mapped[User | None] = relationship(foreign_keys=[actor_id])
    subject: Mapped[User | None] = relationship(foreign_keys=[subject_id])


class Claim(Base):
    """A moderator working on an item, so two don't act on it at once; expires on its own."""

    __tablename__ = "claims"
    __table_args__ = (sa.UniqueConstraint("target_type", "target_id", name="uq_claims_target"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    target_type: Mapped[str] = mapped_column(sa.String(10))
    target_id: Mapped[int] = mapped_column()
    moderator_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    expires_at: Mapped[datetime] = mapped_column()
    # A moderator the item is assigned to (stays after the claim expires, goes when the item is resolved).
    assigned_to_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))

    moderator: Mapped[User] = relationship(foreign_keys=[moderator_id])
    assigned_to: Mapped[User | None] = relationship(foreign_keys=[assigned_to_id])


class ModeratorNote(Base):
    """A private note about a member, seen by moderators only."""

    __tablename__ = "moderator_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    author: Mapped[User | None] = relationship(foreign_keys=[author_id])


class WatchedWord(Base):
    """A word or phrase that blocks a post, holds it for approval, or flags it."""

    __tablename__ = "watched_words"

    id: Mapped[int] = mapped_column(primary_key=True)
    phrase: Mapped[str] = mapped_column(sa.String(100), unique=True)
    action: Mapped[str] = mapped_column(sa.String(8))  # block | hold | flag
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Appeal(Base):
    """A member's one appeal against the removal of their post."""

    __tablename__ = "appeals"
    __table_args__ = (sa.UniqueConstraint("member_id", "target_type", "target_id", name="uq_appeals_once"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    target_type: Mapped[str] = mapped_column(sa.String(10))
    target_id: Mapped[int] = mapped_column()
    story_id: Mapped[int] = mapped_column(sa.ForeignKey("stories.id", ondelete="CASCADE"))
    message: Mapped[str] = mapped_column(sa.Text)
    # Who removed the post: the appeal goes to someone else where there is one.
    removed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column()
    decision: Mapped[str | None] = mapped_column(sa.String(12))  # restored | upheld

    member: Mapped[User] = relationship(foreign_keys=[member_id])


class SiteSetting(Base):
    """A small site-wide setting editable by moderators (welfare message, approval of first posts)."""

    __tablename__ = "site_settings"

    key: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    value: Mapped[str] = mapped_column(sa.Text, default="")
