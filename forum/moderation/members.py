"""Actions on members: warn, suspend, silence (read-only), ban, and lifting them. The member is always told
why, and when it ends where it ends."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from forum.errors import NotAllowed, ValidationFailed
from forum.extensions import db
from forum.models import AuditEntry, User, utcnow
from forum.moderation import claims
from forum.moderation.auditlog import audit
from forum.moderation.services import resolve_flags
from forum.moderation.targets import Target
from forum.notifications.services import notify_message

MEMBER_ACTIONS = ("warn", "suspend", "unsuspend", "silence", "unsilence", "ban")
MAX_DAYS = 365


def when(moment: datetime) -> str:
    """A time as members read it: 3 December 2026 at 14:05 UTC."""
    return moment.strftime("%-d %B %Y at %H:%M UTC")


def check_days(days: int | None) -> int:
    if days is None or not 1 <= days <= MAX_DAYS:
        raise ValidationFailed([("days", f"Choose 1 to {MAX_DAYS} days.")])
    return days


def _plural_days(days: int) -> str:
    return f"{days} day{'s' if days != 1 else ''}"


REVEAL_FIRST = (
    "Only an admin can restrict the author of an anonymous post without knowing who it is. Use “Who wrote "
    "this?” first (your look is recorded in the audit log), or ask an admin."
)


def revealed_by(moderator: User, target: Target) -> bool:
    """Whether this moderator has used the audited reveal on this post's story."""
    return (
        db.session.scalar(
            sa.select(AuditEntry.id).where(
                AuditEntry.action == "reveal-author",
                AuditEntry.actor_id == moderator.id,
                AuditEntry.target_type == "story",
                AuditEntry.target_id == target.story.id,
            )
        )
        is not None
    )


def check_allowed(moderator: User, member: User, action: str, target: Target | None = None) -> None:
    """Refuse what this moderator may not do to this member. From an anonymous post the answer must not
    depend on who the author is (a refusal only for staff authors would say she is staff), so a
    moderator may always warn, and restricts the account only after the audited reveal; admins may act."""
    if not moderator.is_moderator:
        raise NotAllowed("You can't take this action on that member.")
    if (
        target is not None
        and target.is_anonymous
        and not moderator.is_admin
        and not revealed_by(moderator, target)
    ):
        if action == "warn":
            return
        raise NotAllowed(REVEAL_FIRST)
    if member.is_moderator and not moderator.is_admin:
        raise NotAllowed("You can't take this action on that member.")


def act_on_member(
    moderator: User,
    member: User,
    action: str,
    *,
    reason: str,
    days: int = 0,
    target: Target | None = None,
    commit: bool = True,
) -> None:
    """Warn, suspend or silence (for days), ban, or lift a suspension or silence; the member is told why and
    until when. With a target, its open reports are resolved as upheld. commit=False leaves the commit to a
    combined decision (forum.moderation.decisions)."""
    check_allowed(moderator, member, action, target)
    if action not in MEMBER_ACTIONS:
        raise ValidationFailed([(None, "Unknown action.")])
    if target is not None:
        claims.ensure_free(moderator, target)
    reason = reason.strip()[:1000]
    if action in ("warn", "suspend", "silence", "ban") and not reason:
        raise ValidationFailed([("reason", "Please say why; the member will see it.")])
    now = utcnow()
    if action == "warn":
        notify_message(member, f"A warning from the moderators: {reason}", kind="moderation")
    elif action in ("suspend", "silence"):
        days = check_days(days)
        until = now + timedelta(days=days)
        if action == "suspend":
            member.suspended_until = until
            what = "suspended"
            can = "You can still read Village, but not post, reply, react or report until then."
        else:
            member.silenced_until = until
            what = "read-only"
            can = "You can read everything, but not post, reply, react or report until then."
        notify_message(
            member,
            f"Your account is {what} for {_plural_days(days)}, from {when(now)} until {when(until)}. "
            f"The reason: {reason} {can}",
            kind="moderation",
        )
    elif action == "unsuspend":
        member.suspended_until = None
        notify_message(member, "Your suspension has ended. Welcome back.", kind="moderation")
    elif action == "unsilence":
        member.silenced_until = None
        notify_message(member, "You can post, reply and react again. Welcome back.", kind="moderation")
    else:
        member.banned_at, member.ban_reason = now, reason
        # Told here and again at every sign-in (forum.auth.services.authenticate).
        notify_message(
            member, f"Your account has been closed by the moderators. The reason: {reason}", kind="moderation"
        )
    if target is not None:
        resolve_flags(target, "upheld")
    audit(
        moderator,
        action,
        target,
        # Taken from an anonymous post: the row keeps the post, not the member behind it.
        subject_id=None if target is not None and target.is_anonymous else member.id,
        reason=f"{reason} ({_plural_days(days)})" if action in ("suspend", "silence") else reason,
    )
    if commit:
        db.session.commit()


def end_finished_restrictions(member: User) -> None:
    """Clear an ended suspension or silence and tell the member, once."""
    now = utcnow()
    if member.suspended_until is not None and member.suspended_until <= now:
        member.suspended_until = None
        notify_message(
            member,
            "Your suspension has ended. Welcome back: you can post, reply and react again.",
            kind="moderation",
        )
    if member.silenced_until is not None and member.silenced_until <= now:
        member.silenced_until = None
        notify_message(member, "Your account is no longer read-only. Welcome back.", kind="moderation")
    db.session.commit()


def check_not_silenced(author: User, kind: str, text: str, target: Any) -> None:
    """A before-write check: a silenced member can read but not write anything, until the silence ends."""
    if author.silenced_until is not None and author.silenced_until > utcnow():
        raise NotAllowed(
            f"Your account is read-only until {when(author.silenced_until)}. You can still read Village."
        )
