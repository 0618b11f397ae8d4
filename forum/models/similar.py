"""What members tell the similar-stories panel: "this helped" or "not like mine", one signal per pair."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from forum.models.base import Base, utcnow


class Verdict(str, enum.Enum):
    HELPED = "helped"
    NOT_LIKE_MINE = "not-like-mine"


class SimilarSignal(Base):
    """One member's verdict on one match shown beside one story. Private: read only by its own member (her
    panel) and, as anonymous training pairs, by the re-ranker; erased with her account."""

    __tablename__ = "similar_signals"
    __table_args__ = (sa.UniqueConstraint("user_id", "source_id", "match_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    source_id: Mapped[int] = mapped_column(sa.ForeignKey("stories.id", ondelete="CASCADE"), index=True)
    match_id: Mapped[int] = mapped_column(sa.ForeignKey("stories.id", ondelete="CASCADE"), index=True)
    verdict: Mapped[str] = mapped_column(sa.String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The time split orders signals by this: a changed mind counts from when it changed.
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
