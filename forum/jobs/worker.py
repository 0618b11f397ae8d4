"""Running jobs: claimed with a lease by one worker at a time, retried with backoff, kept when they keep failing.

A claim is one statement: UPDATE the oldest due job (queued and due, or running with an expired lease) to
"running" with a fresh claim token and a lease, RETURNING it. On PostgreSQL the row is picked with SELECT …
FOR UPDATE SKIP LOCKED, so workers on several hosts never wait for or take each other's job; SQLite runs one
writer at a time, so the same UPDATE is atomic there. The job is finished by deleting it WHERE its claim is
still ours, in the same transaction as the handler's own writes: a worker whose lease ran out (and whose job
another worker took) rolls back instead of finishing twice. A failure puts the job back with a later run_at
(30 s, 1, 2, 4 … minutes, at most an hour); after MAX_ATTEMPTS it stays "failed" for an admin to retry.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app, has_app_context
from sqlalchemy import orm

from forum.extensions import db
from forum.jobs import queue
from forum.models import Job, utcnow

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 6
BACKOFF_BASE_SECONDS = 30
BACKOFF_MAX_SECONDS = 3600
LEASE_SECONDS = 300


@dataclass
class Result:
    done: int = 0
    retrying: int = 0
    failed: int = 0
    lost: int = 0

    def __str__(self) -> str:
        return f"done={self.done} retrying={self.retrying} failed={self.failed} lost={self.lost}"


@dataclass(frozen=True)
class Claimed:
    id: int
    kind: str
    payload: dict[str, Any]
    attempts: int
    token: str


def backoff(attempts: int) -> timedelta:
    """30 s after the first failure, then 1, 2, 4 … minutes, at most an hour."""
    return timedelta(seconds=min(BACKOFF_BASE_SECONDS * 2 ** max(attempts - 1, 0), BACKOFF_MAX_SECONDS))


def _claimable(now: datetime) -> Any:
    return sa.or_(
        sa.and_(Job.state == "queued", Job.run_at <= now),
        sa.and_(Job.state == "running", Job.lease_until < now),
    )


def _token() -> str:
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:16]}"


def claim(now: datetime | None = None, ids: list[int] | None = None) -> Claimed | None:
    """Take the oldest due job (among `ids`, when given); committed, so no other worker can take it until its
    lease ends."""
    now = now or utcnow()
    lease = timedelta(seconds=int(current_app.config.get("JOBS_LEASE_SECONDS") or LEASE_SECONDS))
    pick = sa.select(Job.id).where(_claimable(now)).order_by(Job.run_at, Job.id).limit(1)
    if ids is not None:
        pick = pick.where(Job.id.in_(ids))
    if db.session.get_bind().dialect.name == "postgresql":
        pick = pick.with_for_update(skip_locked=True)
    token = _token()
    row = db.session.execute(
        sa.update(Job)
        # "= (SELECT …)", evaluated once; PostgreSQL may re-run an "IN (SELECT … LIMIT 1)" and take more rows.
        .where(Job.id == pick.scalar_subquery(), _claimable(now))
        .values(state="running", lease_until=now + lease, claim=token, attempts=Job.attempts + 1)
        .returning(Job.id, Job.kind, Job.payload, Job.attempts)
        .execution_options(synchronize_session=False)
    ).first()
    db.session.commit()
    if row is None:
        return None
    return Claimed(row.id, row.kind, dict(row.payload or {}), row.attempts, token)


def _mine(job: Claimed) -> Any:
    return sa.and_(Job.id == job.id, Job.claim == job.token)


def run_claimed(job: Claimed, result: Result) -> None:
    """Run one claimed job and finish it, or put it back for a retry (or keep it as failed)."""
    handler = queue.handler_for(job.kind)
    try:
        if handler is None:
            raise LookupError(f"no handler for job kind {job.kind!r} in this process")
        handler(job.payload)
        finished = db.session.execute(sa.delete(Job).where(_mine(job))).rowcount  # type: ignore[attr-defined]
        if not finished:  # our lease ran out and another worker has the job: its run counts, not ours
            db.session.rollback()
            result.lost += 1
            return
        db.session.commit()
        result.done += 1
    except Exception as error:  # noqa: BLE001 - any failure: keep why, try again later
        db.session.rollback()
        log.warning(
            "job %s (%s) failed, attempt %s: %s", job.id, job.kind, job.attempts, error, exc_info=True
        )
        failed = job.attempts >= MAX_ATTEMPTS
        db.session.execute(
            sa.update(Job)
            .where(_mine(job))
            .values(
                state="failed" if failed else "queued",
                run_at=utcnow() + backoff(job.attempts),
                lease_until=None,
                claim="",
                last_error=f"{type(error).__name__}: {error}"[:2000],
            )
        )
        db.session.commit()
        if failed:
            result.failed += 1
        else:
            result.retrying += 1


def work_due(limit: int = 500, now: datetime | None = None, ids: list[int] | None = None) -> Result:
    """Run due jobs one by one (at most `limit`) until none is left; returns counts."""
    result = Result()
    for _ in range(limit):
        job = claim(now, ids)
        if job is None:
            break
        run_claimed(job, result)
    return result


def pending_count() -> int:
    """Jobs waiting or running (failed ones not counted)."""
    return int(db.session.scalar(sa.select(sa.func.count()).where(Job.state != "failed")) or 0)


def run_forever(interval: float = 1.0) -> None:
    """The worker: run what is due, wait `interval` when nothing is, repeat; SIGTERM/SIGINT finish the job in
    hand and stop."""
    stopping = False

    def stop(signum: int, frame: Any) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while not stopping:
        busy = False
        try:
            job = claim()
            if job is not None:
                busy = True
                result = Result()
                run_claimed(job, result)
                if result.failed or result.retrying:
                    log.info("jobs: %s (%s)", result, job.kind)
        except Exception:  # a database outage must not end the worker
            log.exception("jobs: run failed; trying again shortly")
            db.session.rollback()
        finally:
            db.session.remove()
        slept = 0.0
        while not busy and not stopping and slept < interval:
            time.sleep(min(0.2, interval))
            slept += 0.2


# --- JOBS_INLINE: a transaction's jobs run right after its commit, in this process ---------------------------


def _run_after_commit(session: orm.Session) -> None:
    added = session.info.pop(queue.ADDED, None)
    if not added or not has_app_context() or not current_app.config.get("JOBS_INLINE"):
        return
    ids = [
        job if isinstance(job, int) else key[0]
        for job in added
        if isinstance(job, int) or (key := sa.inspect(job).identity) is not None
    ]
    if not ids:
        return
    # A fresh app context gets its own session: this one has just committed and may not run SQL here. The
    # write is committed whatever happens now: a failure leaves its jobs queued for a worker, never an error.
    with current_app.app_context():
        try:
            work_due(limit=len(ids), ids=ids)
        except Exception:  # noqa: BLE001 - e.g. the database went away between the commit and the claim
            log.exception("jobs: running %s inline failed; they stay queued", ids)
        finally:
            db.session.remove()


def _forget(session: orm.Session) -> None:
    session.info.pop(queue.ADDED, None)


def install() -> None:
    """Run jobs inline after each commit when JOBS_INLINE is set (attaching twice changes nothing)."""
    for event, listener in (("after_commit", _run_after_commit), ("after_rollback", _forget)):
        if not sa.event.contains(orm.Session, event, listener):
            sa.event.listen(orm.Session, event, listener)
