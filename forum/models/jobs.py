"""Background jobs: work a write hands on, written in the write's own transaction (see forum.jobs)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from forum.models.base import Base, utcnow


class Job(Base):
    """One piece of follow-up work: queued -> running (claimed with a lease by one worker) -> deleted when
    done, or back to queued with a later run_at after a failure, or failed after its last attempt (kept for
    an admin to see and retry).

    claim is a fresh token per claim: a worker only finishes, retries or fails a job it still holds, so a
    worker whose lease ran out (and whose job another worker took) cannot undo the other's work.
    """

    __tablename__ = "jobs"
    __table_args__ = (sa.Index("ix_jobs_state_run_at", "state", "run_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(40))
    payload: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    state: Mapped[str] = mapped_column(sa.String(12), default="queued", server_default="queued")
    run_at: Mapped[datetime] = mapped_column(default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column()
    claim: Mapped[str] = mapped_column(sa.String(80), default="", server_default="")
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    last_error: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
