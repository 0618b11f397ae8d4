"""Claims and assignment of queue items.

A claim is enforced: while one moderator's claim is live (CLAIM_MINUTES), another sees who holds it and can
act only after taking it over, which is audited. An assignment names the moderator an item is meant for; it
stays until the item is resolved. Both go when the item's reports are resolved (`release`)."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from forum.errors import NotAllowed, ValidationFailed
from forum.extensions import db
from forum.models import Claim, User, utcnow
from forum.moderation.auditlog import audit
from forum.moderation.targets import Target

CLAIM_MINUTES = 15


class ClaimHeld(NotAllowed):
    """Another moderator's live claim: take it over (audited) before acting."""


def claim_row(target: Target) -> Claim | None:
    return db.session.scalar(
        sa.select(Claim).where(Claim.target_type == target.kind, Claim.target_id == target.id)
    )


def held_by_other(moderator: User, target: Target) -> Claim | None:
    """The live claim of another moderator on this item, if any."""
    row = claim_row(target)
    if row and row.moderator_id != moderator.id and row.expires_at > utcnow():
        return row
    return None


def ensure_free(moderator: User, target: Target) -> None:
    """Refuse an action while another moderator holds the item."""
    row = held_by_other(moderator, target)
    if row is not None:
        until = row.expires_at.strftime("%H:%M")
        raise ClaimHeld(
            f"{row.moderator.pseudonym} is working on this until {until} UTC. "
            "Take it over first if it can't wait (that is recorded in the audit log)."
        )


def claim(moderator: User, target: Target, *, take_over: bool = False) -> Claim:
    """Claim an item for CLAIM_MINUTES. Another moderator's live claim is refused unless take_over, which is
    audited with whose claim it was."""
    if not moderator.is_moderator:
        raise NotAllowed("Only moderators can claim items.")
    row = claim_row(target)
    now = utcnow()
    held = held_by_other(moderator, target)
    if held is not None and not take_over:
        raise ValidationFailed([(None, f"{held.moderator.pseudonym} is already looking at this.")])
    if held is not None:
        audit(moderator, "claim-takeover", target, reason=f"took over from {held.moderator.pseudonym}")
    if row is None:
        row = Claim(target_type=target.kind, target_id=target.id, moderator_id=moderator.id, expires_at=now)
        db.session.add(row)
    row.moderator_id, row.expires_at = moderator.id, now + timedelta(minutes=CLAIM_MINUTES)
    db.session.commit()
    return row


def assign(moderator: User, target: Target, assignee: User) -> Claim:
    """Assign an item to a moderator (audited); a live claim of someone else stays in force."""
    if not moderator.is_moderator or not assignee.is_moderator:
        raise ValidationFailed([(None, "Items can only be assigned to a moderator.")])
    row = claim_row(target)
    if row is None:
        row = Claim(
            target_type=target.kind, target_id=target.id, moderator_id=assignee.id, expires_at=utcnow()
        )
        db.session.add(row)
    row.assigned_to_id = assignee.id
    audit(moderator, "assign", target, reason=f"assigned to {assignee.pseudonym}")
    db.session.commit()
    return row


def release(target: Target) -> None:
    """The item is resolved: its claim and assignment go (the caller commits)."""
    db.session.execute(sa.delete(Claim).where(Claim.target_type == target.kind, Claim.target_id == target.id))
