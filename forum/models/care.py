"""Care and safety: support resources, admin-added crisis phrases, and support cards shown to writers.

Nothing here stores the text that made a card appear: only that a card was shown, and for whom.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from forum.models.base import Base, utcnow


class SupportResource(Base):
    """A place to get help (name, what it helps with, phone, web address, hours, region), edited by admins."""

    __tablename__ = "support_resources"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    helps_with: Mapped[str] = mapped_column(sa.String(300), default="")
    phone: Mapped[str] = mapped_column(sa.String(60), default="")
    url: Mapped[str] = mapped_column(sa.String(300), default="")
    hours: Mapped[str] = mapped_column(sa.String(100), default="")
    region: Mapped[str] = mapped_column(sa.String(40), default="")
    position: Mapped[int] = mapped_column(default=0)
    # Shipped defaults are marked until an admin has checked them before launch.
    needs_check: Mapped[bool] = mapped_column(default=False)


class CarePhrase(Base):
    """A crisis phrase an admin added to the reviewed list shipped with the detector."""

    __tablename__ = "care_phrases"

    id: Mapped[int] = mapped_column(primary_key=True)
    phrase: Mapped[str] = mapped_column(sa.String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SignpostShown(Base):
    """That a support card was shown (for counting), never why."""

    __tablename__ = "signposts_shown"

    id: Mapped[int] = mapped_column(primary_key=True)
    place: Mapped[str] = mapped_column(sa.String(12))  # compose | story | reply
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class CareCard(Base):
    """A support card waiting on a story page for its author alone, until dismissed."""

    __tablename__ = "care_cards"
    __table_args__ = (sa.UniqueConstraint("user_id", "story_id", name="uq_care_cards_user_story"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    story_id: Mapped[int] = mapped_column(sa.ForeignKey("stories.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    dismissed_at: Mapped[datetime | None] = mapped_column()


class Block(Base):
    """One member blocking another member, or blocking the anonymous author of one story.

    A block on a member (blocked_id) hides only named content, both ways. A block made from anonymous content
    (blocked_story_id) is on that story's anonymous identity only: it never names, stores or affects the member
    behind it, so nothing the blocker sees of anyone's named posts changes.
    """

    __tablename__ = "blocks"
    __table_args__ = (
        sa.UniqueConstraint("blocker_id", "blocked_id", name="uq_blocks_pair"),
        sa.UniqueConstraint("blocker_id", "blocked_story_id", name="uq_blocks_story"),
        sa.CheckConstraint("(blocked_id IS NULL) <> (blocked_story_id IS NULL)", name="one_blocked"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    blocker_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    blocked_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # The anonymous story whose author (as that story's "Anonymous parent") is blocked.
    blocked_story_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("stories.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class MemberPreference(Base):
    """What a member prefers not to see: muted tags, and how stories with each content note are shown."""

    __tablename__ = "member_preferences"

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    muted_tags: Mapped[str] = mapped_column(sa.Text, default="")  # space-separated tag names
    # "note:mode" pairs, space-separated; mode is collapse (the default), show or hide.
    content_notes: Mapped[str] = mapped_column(sa.Text, default="")


class CareVerdict(Base):
    """A moderator's verdict on a welfare item: did the post need the support card? (Training data for the
    care detector; who gave the verdict is in the audit log, not here, and no member is named.)"""

    __tablename__ = "care_verdicts"
    __table_args__ = (sa.UniqueConstraint("target_type", "target_id", name="uq_care_verdicts_target"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    target_type: Mapped[str] = mapped_column(sa.String(10))  # story | reply | update
    target_id: Mapped[int] = mapped_column()
    story_id: Mapped[int] = mapped_column(sa.ForeignKey("stories.id", ondelete="CASCADE"), index=True)
    needed: Mapped[bool] = mapped_column()  # True: the card was right; False: not needed
    detector_version: Mapped[str] = mapped_column(sa.String(80), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
