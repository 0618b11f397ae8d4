"""Small tables that staff change rarely and every post reads (the site settings, the watched words, the admins'
care phrases), kept in each process for a few seconds instead of read again by every write: three statements
per story or reply, each a round trip on PostgreSQL.

A change committed in this process (anything written to those tables through the session, or a bulk UPDATE or
DELETE of them) drops the kept copies when its transaction commits; other workers and hosts read the tables
again within KEEP_SECONDS. So a new watched word, care phrase or setting applies at once where it was made and
within a few seconds everywhere (`tests/test_staff_lists.py`). Only plain values are kept, never ORM objects
(which belong to one session), and each app keeps its own (a process may run several, each on its database)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

import sqlalchemy as sa
from flask import current_app, has_app_context
from sqlalchemy.orm import Session

from forum.database import when_written
from forum.models import CarePhrase, SiteSetting, WatchedWord

KEEP_SECONDS = 5.0
_TABLES = (SiteSetting, WatchedWord, CarePhrase)
_CHANGED = "village_staff_lists_changed"

T = TypeVar("T")


def _kept() -> dict[str, tuple[float, Any]]:
    return current_app.extensions.setdefault("staff_lists", {})


def kept(name: str, load: Callable[[], T]) -> T:
    """The kept value under `name`, loaded with `load` when missing or older than KEEP_SECONDS."""
    store = _kept()
    now = time.monotonic()
    entry = store.get(name)
    if entry is not None and entry[0] > now:
        return entry[1]
    value = load()
    store[name] = (now + KEEP_SECONDS, value)
    return value


def forget() -> None:
    """Drop every kept value of this app (the next reader loads them again)."""
    if has_app_context():
        _kept().clear()


def _mark_changed(session: Session) -> None:
    session.info[_CHANGED] = True


when_written(_TABLES, _mark_changed)


@sa.event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    # After the commit, not at the flush: a reader in between would keep what is about to change.
    if session.info.pop(_CHANGED, False):
        forget()


@sa.event.listens_for(Session, "after_rollback")
def _rolled_back(session: Session) -> None:
    session.info.pop(_CHANGED, None)
