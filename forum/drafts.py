"""Drafts that follow a member across devices, and stashes of forms posted after the login session ended."""

from __future__ import annotations

import hmac
import re
import secrets
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from forum import text as textlib
from forum.database import KeptForRequest
from forum.errors import ValidationFailed
from forum.extensions import db
from forum.models import Draft, User, utcnow

DRAFT_KEY = re.compile(r"^(story|reply-\d{1,12})$")
STORY_DRAFT_KEY = "story"  # the compose page's draft
STASH_PREFIX = "stash:"
# A stash only bridges a sign-in: it is kept a few hours, restored once, and only in the browser that made it.
STASH_MAX_AGE = timedelta(hours=3)
STASH_LIMITS = ("5 per 10 minutes", "20 per day")  # per address; the text stays in the browser either way
STASH_MAX_TOTAL = 2_000  # signed-out stashes held at once, from everyone
STASH_BODY_CHARS = 20_000  # a story's maximum
STASH_COOKIE = "village_stash"
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


def browser_draft_owner(user_id: int) -> str:
    """The opaque per-member value the browser keys its draft copies with (not the id, not the name): a
    tablet shared by a family never offers one parent's draft to another."""
    digest = hmac.new(str(current_app.secret_key).encode(), f"browser-drafts:{user_id}".encode(), "sha256")
    return digest.hexdigest()[:24]


def _signer() -> URLSafeSerializer:
    key = current_app.secret_key
    assert key is not None  # Config always sets SECRET_KEY
    return URLSafeSerializer(key, salt="village-stash-owner")


def new_stash_owner() -> str:
    """A random id for this browser's stashes (sent back in a signed cookie, never shown)."""
    return secrets.token_urlsafe(18)


def stash_owner_cookie(owner: str) -> str:
    """The signed cookie value carrying a browser's stash owner id."""
    return str(_signer().dumps(owner))


def stash_owner_from_cookie(value: str | None) -> str | None:
    """The owner id in a stash cookie, or None when it is missing or was not signed by us."""
    if not value or len(value) > 200:
        return None
    try:
        owner = _signer().loads(value)
    except BadSignature:
        return None
    return owner if isinstance(owner, str) else None


def _stash_allowed(address: str) -> bool:
    app = current_app
    if not app.config.get("RATELIMIT_ENABLED", True):
        return True
    if "village_stash_limiter" not in app.extensions:
        storage = storage_from_string(app.config.get("RATELIMIT_STORAGE_URI", "memory://"))
        app.extensions["village_stash_limiter"] = MovingWindowRateLimiter(storage)
    limiter = app.extensions["village_stash_limiter"]
    try:
        return all(limiter.hit(parse(limit), "stash", address) for limit in STASH_LIMITS)
    except Exception as error:  # noqa: BLE001 - no limit store: keep nothing rather than everything
        app.logger.warning("Rate-limit storage unavailable for stashes: %s", error)
        return False


def stash_form(kind: str, values: dict[str, Any], *, owner: str, address: str) -> str | None:
    """Keep a form posted while signed out (kind "story" or "reply-<id>") for the browser with this owner id;
    returns the token to restore it, or None when this address stashed too much lately or the store is full
    (the browser still holds its own copy of the text)."""
    db.session.execute(
        sa.delete(Draft).where(Draft.user_id.is_(None), Draft.updated_at < utcnow() - STASH_MAX_AGE)
    )
    db.session.commit()
    if not _stash_allowed(address):
        return None
    held = db.session.scalar(sa.select(sa.func.count()).select_from(Draft).where(Draft.user_id.is_(None)))
    if (held or 0) >= STASH_MAX_TOTAL:
        return None
    token = secrets.token_urlsafe(24)
    db.session.add(
        Draft(
            user_id=None,
            key=STASH_PREFIX + token,
            title=textlib.clean_line(values.get("title"))[:150],
            body=textlib.clean_text(values.get("body"))[:STASH_BODY_CHARS],
            tags=textlib.clean_line(values.get("tags"))[:400],
            extra={**_extra(values), "kind": kind, "owner": owner},
        )
    )
    db.session.commit()
    return token


def take_stash(token: str | None, kind: str, owner: str | None) -> Draft | None:
    """The stashed form for this token and kind, if this browser (owner id) stashed it; removed so it is
    restored only once. A token alone (a shared or leaked link) restores nothing."""
    if not token or len(token) > 40 or not owner:
        return None
    stash = db.session.scalar(
        sa.select(Draft).where(Draft.user_id.is_(None), Draft.key == STASH_PREFIX + token)
    )
    if (
        stash is None
        or stash.extra.get("kind") != kind
        or not secrets.compare_digest(str(stash.extra.get("owner", "")), owner)
        or stash.updated_at < utcnow() - STASH_MAX_AGE
    ):
        return None
    extra = {k: v for k, v in stash.extra.items() if k != "owner"}
    values = Draft(title=stash.title, body=stash.body, tags=stash.tags, extra=extra)
    db.session.delete(stash)
    db.session.commit()
    return values


# Whether the signed-in member has a story draft, as her sign-in statement read it (forum.auth.sessions): the
# compose page asks nothing more.
STORY_DRAFT_KEPT = KeptForRequest(Draft, attribute="_village_story_draft")

# Whether she has a draft of the reply she is posting, read with her sign-in on the reply's POST (registered in
# create_app), as the story draft is on every page: when she has none, posting it deletes nothing (no statement).
REPLY_DRAFT_KEPT = KeptForRequest(Draft, attribute="_village_reply_draft")
HAS_REPLY_DRAFT = (
    sa.select(Draft.id)
    .where(Draft.user_id == User.id, Draft.key == sa.bindparam("reply_draft_key", type_=sa.String))
    .exists()
)


def reply_draft_params(story_id: int) -> dict[str, Any]:
    return {"reply_draft_key": f"reply-{story_id}"}


def discard_posted(user_id: int, key: str) -> None:
    """Delete the draft of what she is posting, in the post's own transaction (the caller commits), unless her
    sign-in statement found she has none."""
    has_draft = (STORY_DRAFT_KEPT if key == STORY_DRAFT_KEY else REPLY_DRAFT_KEPT).get(user_id)
    if has_draft is not None and not has_draft:
        return
    db.session.execute(sa.delete(Draft).where(Draft.user_id == user_id, Draft.key == key))
