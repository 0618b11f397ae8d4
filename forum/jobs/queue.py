"""Queuing jobs, and the handlers that run them.

A handler takes the job's JSON payload and does its work in the worker's session; it raises to be retried.
Handlers must be idempotent: a job whose worker died after the work but before the job was finished runs again
(work that only writes rows is committed together with the job's deletion, so it happens exactly once).

Follow-ups of a post (after_post) are the common case: a feature registers fn(item) for new stories or
replies (and edits), and the stories services queue one job per registered follow-up inside the post's own
transaction (enqueue_follow_ups), so a retry of one never repeats another.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar, cast

import sqlalchemy as sa
from sqlalchemy import orm

from forum.extensions import db
from forum.models import Job, Reply, Story, StoryUpdate, utcnow

Handler = Callable[[dict[str, Any]], None]
Item = Story | Reply | StoryUpdate
F = TypeVar("F", bound=Callable[..., Any])

# A session's jobs written in its current transaction, as Job rows or ids (for JOBS_INLINE, which runs them after
# the commit).
ADDED = "jobs.added"
_MODELS: dict[str, type[Item]] = {"story": Story, "reply": Reply, "update": StoryUpdate}
_NAMES: dict[type, str] = {model: name for name, model in _MODELS.items()}

_handlers: dict[str, Handler] = {}


@dataclass(frozen=True)
class FollowUp:
    """A job queued with every new post of some kinds (and every edit, with on_edit)."""

    kind: str
    models: tuple[type[Item], ...]
    on_edit: bool


_follow_ups: dict[str, FollowUp] = {}


def register(kind: str, handler: Handler) -> Handler:
    """Name the function that runs jobs of this kind (registering again, as several apps do, replaces it)."""
    if len(kind) > 40:
        raise ValueError(f"job kind too long: {kind!r}")
    _handlers[kind] = handler
    return handler


def handler_for(kind: str) -> Handler | None:
    return _handlers.get(kind)


def enqueue(
    kind: str, payload: dict[str, Any] | None = None, *, delay: float = 0, session: orm.Session | None = None
) -> Job:
    """Add a job to the current transaction: it is committed (or rolled back) with the write that wants it."""
    session = session if session is not None else db.session()
    job = Job(**_row(kind, payload, delay))
    session.add(job)
    session.info.setdefault(ADDED, []).append(job)
    return job


def _row(kind: str, payload: dict[str, Any] | None, delay: float = 0) -> dict[str, Any]:
    """A job's row, of a kind some handler runs."""
    if kind not in _handlers:
        raise LookupError(f"no handler registered for job kind {kind!r}")
    now = utcnow()
    return {
        "kind": kind,
        "payload": payload or {},
        "state": "queued",
        "run_at": now + timedelta(seconds=delay),
        "claim": "",
        "attempts": 0,
        "last_error": "",
        "created_at": now,
    }


# One INSERT … RETURNING for all of a post's follow-ups (a table statement: no ORM objects to flush).
_JOBS = cast(sa.Table, Job.__table__)
_INSERT_MANY = sa.insert(_JOBS).returning(_JOBS.c.id)


def after_post(kind: str, models: tuple[type[Item], ...], *, on_edit: bool = False) -> Callable[[F], F]:
    """Register fn(item) as a follow-up job of every new post of these models (and every edit, with on_edit).
    The job finds the post again by id; a post deleted meanwhile is skipped."""

    def wrap(fn: F) -> F:
        def run(payload: dict[str, Any]) -> None:
            item = db.session.get(_MODELS[payload["model"]], payload["id"])
            if item is not None:
                fn(item)

        register(kind, run)
        _follow_ups[kind] = FollowUp(kind, models, on_edit)
        return fn

    return wrap


def enqueue_follow_ups(
    item: Item, *, edited: bool = False, also: Iterable[tuple[str, dict[str, Any]]] = ()
) -> list[int]:
    """Queue every registered follow-up of this new (or edited) post, and the jobs `also` names (kind, payload),
    in the current transaction, with one statement; returns the jobs' ids. Each follow-up is its own job, so a
    retry of one never repeats another."""
    if item.id is None:
        db.session.flush()
    name = _NAMES[type(item)]
    rows = [
        _row(follow_up.kind, {"model": name, "id": item.id, "edited": edited})
        for follow_up in _follow_ups.values()
        if isinstance(item, follow_up.models) and (follow_up.on_edit or not edited)
    ]
    rows += [_row(kind, payload) for kind, payload in also]
    if not rows:
        return []
    session = db.session()
    ids = list(session.scalars(_INSERT_MANY, rows))
    session.info.setdefault(ADDED, []).extend(ids)
    return ids
