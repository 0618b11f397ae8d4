"""Server-side login sessions: each signed-in browser has a row; logging out deletes it."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from flask import request
from flask_login import LoginManager
from sqlalchemy.orm import aliased

from forum import drafts, memberpages, visibility
from forum.database import KeptForRequest
from forum.extensions import db
from forum.models import (
    Block,
    Draft,
    Follow,
    LoginSession,
    MemberPreference,
    Notification,
    Story,
    Tag,
    User,
    utcnow,
)

# Writing last_seen_at on every request would turn every read into a write.
LAST_SEEN_RESOLUTION = timedelta(minutes=10)


def hash_token(token: str) -> str:
    """The stored form of a session token (the token itself lives only in the signed cookie)."""
    return hashlib.sha256(token.encode()).hexdigest()  # nosemgrep - a random 256-bit token, not a password


def start_session(user: User, user_agent: str = "") -> str:
    """Create a login session for user and return its secret token (kept only in the signed cookie)."""
    token = secrets.token_urlsafe(32)
    db.session.add(LoginSession(token_hash=hash_token(token), user=user, user_agent=user_agent[:200]))
    user.current_session_token = token
    return token


def end_session(token: str | None) -> None:
    """Delete the login session with this token, signing that browser out everywhere."""
    if token:
        db.session.execute(sa.delete(LoginSession).where(LoginSession.token_hash == hash_token(token)))


def end_other_sessions(user: User, keep_token: str | None) -> int:
    """Sign out every other browser of this member (after a password change); return how many."""
    query = sa.delete(LoginSession).where(LoginSession.user_id == user.id)
    if keep_token:
        query = query.where(LoginSession.token_hash != hash_token(keep_token))
    result = db.session.execute(query)
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


# Built once: constructing this select cost about a tenth of a millisecond per request, and the same
# statement object also keeps its cache key.
_UNREAD = (
    sa.select(sa.func.count())
    .select_from(Notification)
    .where(Notification.user_id == User.id, Notification.read_at.is_(None))
    .scalar_subquery()
)
# Whether any block concerns her (hers, on her, or on one of her anonymous stories): most members have none, and
# then no page needs to read them (forum.visibility.blocks_for).
_STORY_OF_HERS_BLOCKED = (
    sa.select(Block.id)
    .join(Story, Story.id == Block.blocked_story_id)
    .where(Story.author_id == User.id)
    .exists()
)
_HAS_BLOCKS = sa.or_(
    sa.select(Block.id).where(Block.blocker_id == User.id).exists(),
    sa.select(Block.id).where(Block.blocked_id == User.id).exists(),
    _STORY_OF_HERS_BLOCKED,
).label("has_blocks")
# What two of the pages she reads most would otherwise each ask in a statement of their own (a round trip and
# about a fifth of a kept page's CPU): the tags she follows (a tag page's Follow button) and whether she has a
# story draft (the compose page restores it, or else is the kept empty form). Both are few rows of hers.
_FOLLOWED_TAGS = (
    sa.select(sa.func.aggregate_strings(Tag.name, " "))
    .join(Follow, Follow.tag_id == Tag.id)
    .where(Follow.user_id == User.id)
    .scalar_subquery()
)
_HAS_STORY_DRAFT = (
    sa.select(Draft.id)
    .where(Draft.user_id == User.id, Draft.key == drafts.STORY_DRAFT_KEY)
    .exists()
    .label("story_draft")
)
_MEMBER_BY_TOKEN = (
    sa.select(
        User,
        MemberPreference,
        LoginSession.id,
        LoginSession.last_seen_at,
        _UNREAD,
        _HAS_BLOCKS,
        _FOLLOWED_TAGS,
        _HAS_STORY_DRAFT,
    )
    .join(LoginSession, LoginSession.user_id == User.id)
    .outerjoin(MemberPreference, MemberPreference.user_id == User.id)
    .where(LoginSession.token_hash == sa.bindparam("token_hash"))
)


# The signed-in member's id inside her sign-in statement, which finds her by her session's token: for a page's read
# that is registered with read_with_sign_in and is not a subquery correlated to her users row (one that reads
# several tables, or a CTE of its own). One index probe, read once (a CTE).
_SESSION_OF_TOKEN = aliased(LoginSession)
SIGNED_IN_ID = sa.select(
    sa.select(_SESSION_OF_TOKEN.user_id)
    .where(_SESSION_OF_TOKEN.token_hash == sa.bindparam("token_hash"))
    .cte("signed_in")
    .c.user_id
).scalar_subquery()


@dataclass(frozen=True)
class PageRead:
    """What one page reads of the signed-in member in a statement of its own, read by her sign-in statement
    instead when she asks for that page: one round trip fewer. `column` is that read, `params` gives its bound
    parameters from the request, `kept` keeps its value on the request."""

    column: Any
    kept: KeptForRequest
    params: Callable[[], dict[str, Any]]


# endpoint -> the sign-in statement with that page's reads as its last columns, and the reads.
_PAGE_READS: dict[str, tuple[sa.Select[Any], tuple[PageRead, ...]]] = {}


def read_with_sign_in(
    endpoint: str, column: Any, kept: KeptForRequest, params: Callable[[], dict[str, Any]] = dict
) -> None:
    """Read `column` (a scalar subquery: correlated to User.id, or using SIGNED_IN_ID) with the sign-in statement
    on `endpoint`'s pages. A page may register several reads; registering one kept the same way again replaces
    it. The statement is built here, once."""
    earlier = _PAGE_READS.get(endpoint, (None, ()))[1]
    reads = (*(read for read in earlier if read.kept is not kept), PageRead(column, kept, params))
    columns = [read.column.label(f"page_read_{i}") for i, read in enumerate(reads)]
    _PAGE_READS[endpoint] = (_MEMBER_BY_TOKEN.add_columns(*columns), reads)


def load_user_by_token(token: str) -> User | None:
    """The active member behind a session token, or None if the session was ended.

    One statement per request, checked against the database every time (a suspension, ban, deletion or
    sign-out elsewhere takes effect on the next request): the member, her session's id and last-seen time as
    plain columns rather than a second ORM object, her preferences row (muted tags, content notes: every list
    reads them), the header's unread count, left for forum.notifications (which drops it if the request
    then writes a notification), whether any block concerns her (if none, no page reads her blocks), and
    what the page she asked for registered with read_with_sign_in."""
    statement, reads = _PAGE_READS.get(request.endpoint or "", (_MEMBER_BY_TOKEN, ()))
    params = {"token_hash": hash_token(token)}
    for read in reads:
        params |= read.params()
    row = db.session.execute(statement, params).first()
    if row is None:
        return None
    user, prefs, session_id, last_seen_at, unread_count, has_blocks, followed_tags, story_draft, *more = row
    if not user.is_active:
        return None
    now = utcnow()
    if now - last_seen_at > LAST_SEEN_RESOLUTION:
        db.session.execute(
            sa.update(LoginSession).where(LoginSession.id == session_id).values(last_seen_at=now)
        )
        db.session.commit()
    user.current_session_token = token
    request._village_unread = (user.id, int(unread_count or 0))  # type: ignore[attr-defined]
    memberpages.FOLLOWED_TAGS_KEPT.keep(user.id, frozenset((followed_tags or "").split()))
    drafts.STORY_DRAFT_KEPT.keep(user.id, bool(story_draft))
    visibility.keep_preferences(user.id, prefs)
    if not has_blocks:
        visibility.keep_no_blocks(user.id)
    for read, value in zip(reads, more, strict=True):
        read.kept.keep(user.id, value)
    return user


def register_user_loader(login_manager: LoginManager) -> None:
    """Wire Flask-Login to the session table (the remember-me cookie carries the same token)."""
    login_manager.user_loader(load_user_by_token)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to continue. Anything you were writing is kept."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"
