"""What an admin sees of the jobs (how many wait, which failed) and can do (send failed jobs round again)."""

from __future__ import annotations

import sqlalchemy as sa

from forum.extensions import db
from forum.models import Job, utcnow


def counts() -> dict[str, int]:
    """Jobs per state: queued, running, failed (finished jobs are deleted)."""
    rows = db.session.execute(sa.select(Job.state, sa.func.count()).group_by(Job.state)).tuples()
    return {"queued": 0, "running": 0, "failed": 0, **dict(rows.all())}


def failed_jobs(limit: int = 50) -> sa.Select[tuple[Job]]:
    """The jobs that failed every attempt, newest first."""
    return sa.select(Job).where(Job.state == "failed").order_by(Job.run_at.desc(), Job.id.desc()).limit(limit)


def retry_failed(job_ids: list[int] | None = None) -> int:
    """Put failed jobs (these, or all) back in the queue with fresh attempts; returns how many. One commit."""
    query = sa.update(Job).where(Job.state == "failed")
    if job_ids is not None:
        query = query.where(Job.id.in_(job_ids))
    result = db.session.execute(
        query.values(state="queued", attempts=0, run_at=utcnow(), lease_until=None, claim="")
    )
    db.session.commit()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
