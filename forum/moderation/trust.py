"""Trust levels in the spirit of Discourse's: new, member, trusted.

Earned by time and good standing, lost by upheld reports; computed from the data each time (nothing stored can
drift):
- new: an account younger than NEW_DAYS, or one with UPHELD_TO_NEW or more upheld reports against its posts in
  the last STANDING_DAYS. New accounts get the stricter write limits (forum.moderation.protection), posts with
  links wait for a moderator, and their reports weigh less in the queue's priority.
- trusted: at least TRUSTED_DAYS old, TRUSTED_POSTS published posts and no upheld report in STANDING_DAYS.
  Their reports weigh more in the queue's priority and towards auto-hide.
- member: everyone else.
A trust level is a distinguishing fact: the queue shows it only for named content (forum.moderation.queue).
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from forum.extensions import db
from forum.models import Flag, Reply, Status, Story, User, utcnow

NEW, MEMBER, TRUSTED = "new", "member", "trusted"
LABELS = {NEW: "New member", MEMBER: "Member", TRUSTED: "Trusted member"}
NEW_DAYS = 1
TRUSTED_DAYS = 30
TRUSTED_POSTS = 10
STANDING_DAYS = 90
UPHELD_TO_NEW = 3
# How much one report counts in the queue's priority, and towards auto-hide (3 by default hides a post).
PRIORITY_WEIGHT = {NEW: 0.5, MEMBER: 1.0, TRUSTED: 1.5}
HIDE_WEIGHT = {NEW: 1.0, MEMBER: 1.0, TRUSTED: 1.5}
# A link: a scheme, www., or a bare domain with a common ending.
LINK = re.compile(r"https?://|www\.|\b[a-z0-9-]{1,63}\.(?:com|net|org|io|co|uk|info|biz|shop|xyz)\b", re.I)
HELD_LINK_KIND = ("story", "reply", "update")


def _level(user: User, upheld: int, posts: int) -> str:
    age = utcnow() - user.created_at
    if age < timedelta(days=NEW_DAYS) or upheld >= UPHELD_TO_NEW:
        return NEW
    if age >= timedelta(days=TRUSTED_DAYS) and posts >= TRUSTED_POSTS and upheld == 0:
        return TRUSTED
    return MEMBER


# Built once: with rate limits on, every write asks whether its writer is new (building the statement cost more
# CPU than running it).
_UPHELD = (
    sa.select(
        Flag.author_id, sa.func.count(sa.distinct(Flag.target_type + sa.cast(Flag.target_id, sa.String)))
    )
    .where(
        Flag.author_id.in_(sa.bindparam("ids", expanding=True)),
        Flag.resolution == "upheld",
        Flag.resolved_at >= sa.bindparam("since"),
    )
    .group_by(Flag.author_id)
)


def _upheld(ids: list[int]) -> dict[int, int]:
    """Upheld reports against each member's posts in the last STANDING_DAYS (one query)."""
    since = utcnow() - timedelta(days=STANDING_DAYS)
    return {
        author_id: n
        for author_id, n in db.session.execute(_UPHELD, {"ids": ids, "since": since})
        if author_id is not None
    }


def levels(users: list[User]) -> dict[int, str]:
    """Each member's trust level, in three queries whatever the number of members."""
    ids = [u.id for u in users]
    if not ids:
        return {}
    upheld = _upheld(ids)
    posts: dict[int, int] = {}
    for model in (Story, Reply):
        for author_id, n in db.session.execute(
            sa.select(model.author_id, sa.func.count())
            .where(model.author_id.in_(ids), model.status == Status.PUBLISHED.value)
            .group_by(model.author_id)
        ):
            posts[author_id] = posts.get(author_id, 0) + n
    return {u.id: _level(u, upheld.get(u.id, 0), posts.get(u.id, 0)) for u in users}


def level(user: User) -> str:
    """One member's trust level."""
    return levels([user])[user.id]


def is_new(user: User) -> bool:
    """Young, or lately in poor standing: the stricter limits apply. The age before any query; then only the
    upheld reports (posts decide "trusted", never "new": the rate limit ran on every write and counted all of the
    member's published stories and replies for nothing)."""
    if user.created_at > utcnow() - timedelta(days=NEW_DAYS):
        return True
    return _upheld([user.id]).get(user.id, 0) >= UPHELD_TO_NEW


def hold_links_from_new_accounts(author: User, kind: str, text: str, target: Any) -> str | None:
    """A before-write check: a new account's post with a link waits for a moderator (edits included)."""
    if kind not in HELD_LINK_KIND or author.is_moderator or not LINK.search(text[:20_000]):
        return None
    return "pending" if is_new(author) else None
