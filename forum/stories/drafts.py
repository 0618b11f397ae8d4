"""Drafts that follow a member across devices, and stashes of forms posted after the login session ended."""

from __future__ import annotations

import re
import secrets
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from forum import text as textlib
from forum.errors import ValidationFailed
from forum.extensions import db
from forum.models import Draft, User, utcnow

DRAFT_KEY = re.compile(r"^(story|reply-\d{1,12})$")
STASH_PREFIX = "stash:"
STASH_MAX_AGE = timedelta(days=1)
EXTRA_FIELDS = ("anonymous", "age_band", "setting", "content_note", "remind", "submission_key", "quoting")


def _extra(values: dict[str, Any]) -> dict[str, Any]:
    return {k: str(values[k])[:64] for k in EXTRA_FIELDS if values.get(k) not in (None, "")}


def save_draft(user: User, key: str, values: dict[str, Any]) -> Draft:
    """Save what the member is typing under key ("story" or "reply-<story id>")."""
    if not DRAFT_KEY.match(key):
        raise ValidationFailed([(None, "Unknown draft.")])
    draft = get_draft(user, key) or Draft(user_id=user.id, key=key)
    draft.title = textlib.clean_line(values.get("title"))[:150]
    draft.body = textlib.clean_text(values.get("body"))[:25_000]
    draft.tags = textlib.clean_line(values.get("tags"))[:400]
    draft.extra = _extra(values)
    draft.updated_at = utcnow()
    db.session.add(draft)
    db.session.commit()
    return draft


def get_draft(user: User, key: str) -> Draft | None:
    """The member's saved draft under key, if any."""
    return db.session.scalar(sa.select(Draft).where(Draft.user_id == user.id, Draft.key == key))


def discard_draft(user: User, key: str) -> None:
    """Forget the member's draft under key."""
    db.session.execute(sa.delete(Draft).where(Draft.user_id == user.id, Draft.key == key))
    db.session.commit()


def stash_form(kind: str, values: dict[str, Any]) -> str:
    """Keep a form posted while signed out (kind "story" or "reply-<id>"); returns the token to restore it."""
    db.session.execute(
        sa.delete(Draft).where(Draft.user_id.is_(None), Draft.updated_at < utcnow() - STASH_MAX_AGE)
    )
    token = secrets.token_urlsafe(24)
    db.session.add(
        Draft(
            user_id=None,
            key=STASH_PREFIX + token,
            title=textlib.clean_line(values.get("title"))[:150],
            body=textlib.clean_text(values.get("body"))[:25_000],
            tags=textlib.clean_line(values.get("tags"))[:400],
            extra={**_extra(values), "kind": kind},
        )
    )
    db.session.commit()
    return token


def take_stash(token: str | None, kind: str) -> Draft | None:
    """The stashed form for this token and kind, removed so it is restored only once."""
    if not token or len(token) > 40:
        return None
    stash = db.session.scalar(
        sa.select(Draft).where(Draft.user_id.is_(None), Draft.key == STASH_PREFIX + token)
    )
    if stash is None or stash.extra.get("kind") != kind or stash.updated_at < utcnow() - STASH_MAX_AGE:
        return None
    values = Draft(title=stash.title, body=stash.body, tags=stash.tags, extra=dict(stash.extra))
    db.session.delete(stash)
    db.session.commit()
    return values
