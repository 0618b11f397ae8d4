"""Reads for the moderators' pages, each returning a Select so views can page, count or add filters."""

from __future__ import annotations

import sqlalchemy as sa

from forum.models import AuditEntry, ModeratorNote, Role, User, WatchedWord

STAFF_ROLES = (Role.MODERATOR.value, Role.ADMIN.value)


def audit_entries(
    *, action: str = "", moderator: str = "", member: str = "", before: int | None = None
) -> sa.Select[tuple[AuditEntry]]:
    """The audit log, newest first, filtered by action, by the acting moderator's or the member's pseudonym,
    and keyset-paged by `before` (an entry id)."""
    query = sa.select(AuditEntry).order_by(AuditEntry.id.desc())
    if action:
        query = query.where(AuditEntry.action == action)
    for name, column in ((moderator, AuditEntry.actor_id), (member, AuditEntry.subject_id)):
        key = name.strip().lower()
        if key:
            query = query.where(column.in_(sa.select(User.id).where(User.pseudonym_key == key)))
    if before:
        query = query.where(AuditEntry.id < before)
    return query


def audit_actions() -> sa.Select[tuple[str]]:
    """Every action name the log holds, for the filter menu."""
    return sa.select(AuditEntry.action).distinct().order_by(AuditEntry.action)


def member_history(member_id: int) -> sa.Select[tuple[AuditEntry]]:
    """Moderation actions about a member's named posts and account, newest first."""
    return sa.select(AuditEntry).where(AuditEntry.subject_id == member_id).order_by(AuditEntry.id.desc())


def member_notes(member_id: int) -> sa.Select[tuple[ModeratorNote]]:
    """Moderators' private notes about a member, newest first."""
    return (
        sa.select(ModeratorNote)
        .where(ModeratorNote.member_id == member_id)
        .order_by(ModeratorNote.created_at.desc())
    )


def staff(*, include_deleted: bool = True) -> sa.Select[tuple[User]]:
    """Moderators and admins by pseudonym."""
    query = sa.select(User).where(User.role.in_(STAFF_ROLES)).order_by(User.pseudonym_key)
    if not include_deleted:
        query = query.where(User.deleted_at.is_(None))
    return query


def member_named(pseudonym: str) -> sa.Select[tuple[User]]:
    """The current member with this pseudonym (case-insensitive), if any."""
    return sa.select(User).where(User.pseudonym_key == pseudonym.strip().lower(), User.deleted_at.is_(None))


def watched_words() -> sa.Select[tuple[WatchedWord]]:
    """The watched words and phrases, alphabetically."""
    return sa.select(WatchedWord).order_by(WatchedWord.phrase)
