"""The append-only audit log: every moderator action, claim taken over and look at an anonymous author."""

from __future__ import annotations

from forum.extensions import db
from forum.models import AuditEntry, User
from forum.moderation.targets import Target


def audit(
    actor: User | None,
    action: str,
    target: Target | None = None,
    *,
    subject_id: int | None = None,
    reason: str = "",
) -> AuditEntry:
    """Record an action in the audit log (the caller commits). An action on a post written as "Anonymous
    parent" names no member: only the audited reveal may connect the two."""
    if subject_id is None and target is not None and not target.is_anonymous:
        subject_id = target.author_id
    entry = AuditEntry(
        actor_id=actor.id if actor else None,
        action=action,
        target_type=target.kind if target else None,
        target_id=target.id if target else None,
        subject_id=subject_id,
        reason=reason[:2000],
    )
    db.session.add(entry)
    return entry
