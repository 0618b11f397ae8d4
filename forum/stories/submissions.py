"""Submission keys: each form carries a one-time key, so a "Post" pressed twice (or resent after a lost
answer) creates one story, reply or update, and the second press is answered with the first one's item."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import sqlalchemy as sa
from flask import request
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException

from forum.database import KeptForRequest
from forum.errors import NotAllowed
from forum.extensions import db
from forum.models import Reply

T = TypeVar("T")


# Built once per model: every story, reply and update posted from a form looks its key up, and building the
# statement cost more CPU than running it.
_BY_KEY: dict[Any, sa.Select[Any]] = {}


def _by_key(model: Any) -> sa.Select[Any]:
    if model not in _BY_KEY:
        _BY_KEY[model] = sa.select(model).where(model.submission_key == sa.bindparam("key"))
    return _BY_KEY[model]


# Whether a reply already has the submission key of the reply being posted, read with her sign-in on the reply's
# POST (registered in create_app): "<key>:" when none has (nearly always), and then no statement of its own.
REPLY_KEY_KEPT = KeptForRequest(Reply, attribute="_village_reply_key")
_KEY = sa.bindparam("submission_key", type_=sa.String)
REPLY_KEY_TEXT = (
    _KEY
    + ":"
    + sa.func.coalesce(
        sa.select(sa.cast(Reply.id, sa.String)).where(Reply.submission_key == _KEY).scalar_subquery(), ""
    )
)


def reply_key_params() -> dict[str, Any]:
    try:
        key = request.form.get("submission_key") or ""
    except HTTPException:  # a body over the limit: answered by its error page, which signs her in again
        key = ""
    return {"submission_key": key[:64]}


def existing(model: type[T], key: str | None, owner_id: int, owner: Callable[[T], int | None]) -> T | None:
    """The item already created with this key, if any; another member's key is refused."""
    if not key:
        return None
    if model is Reply and REPLY_KEY_KEPT.get(owner_id) == f"{key}:":
        return None  # her sign-in statement found none with this key
    item: T | None = db.session.scalar(_by_key(model), {"key": key})
    if item is not None and owner(item) != owner_id:
        raise NotAllowed("That form was already used. Please reload the page and try again.")
    return item


def commit_keeping_loaded() -> None:
    """Commit without expiring what the session holds. The request only reads back what it has just written
    (the new post, its story, the writer) to answer with a redirect and to run the after-commit checks; with
    the usual expiry each of them was loaded again, four SELECTs per reply. Values changed in SQL during the
    transaction (counters) were expired when they were changed and still load fresh."""
    session = db.session()
    expire, session.expire_on_commit = session.expire_on_commit, False
    try:
        session.commit()
    finally:
        session.expire_on_commit = expire


def commit_once(
    model: type[T], key: str | None, owner_id: int, owner: Callable[[T], int | None], build: Callable[[], T]
) -> T:
    """Build and commit; if a concurrent request with the same key won the race, return its item instead."""
    for attempt in range(2):
        try:
            item = build()
            commit_keeping_loaded()
            return item
        except IntegrityError:
            db.session.rollback()
            found = existing(model, key, owner_id, owner)
            if found is not None:
                return found
            if attempt:
                raise
    raise AssertionError("unreachable")
