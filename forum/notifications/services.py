"""Creating, grouping and reading in-site notifications. Helpers only add/flush; callers commit."""

from __future__ import annotations

import hashlib
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from forum.database import KeptForRequest, forget_when_written, row_text, rows_text
from forum.extensions import db
from forum.models import MailPreference, Notification, Reply, Story, User, utcnow

REPLY = "reply"  # someone replied to your story
QUOTE = "quote"  # someone quoted your reply
REACTION = "reaction"  # grouped: "5 parents sent hugs"
UPDATE_REMINDER = "update_reminder"
MESSAGE = "message"  # a plain message, e.g. a moderation notice
# The job that tells of a reply (run by forum.notifications.mail.outbox), and the replies of the session's
# transaction whose job the service queued itself (the outbox's listener then queues none for them).
TELL_OF_REPLY_JOB = "mail.fan_out_reply"
TOLD_BY_JOB = "notifications.told_by_job"


def notify(
    user_id: int | None,
    kind: str,
    *,
    actor: User | None = None,
    story: Story | None = None,
    reply: Reply | None = None,
    message: str = "",
) -> Notification | None:
    """Queue one notification for a member; nobody is notified about their own action."""
    if user_id is None or (actor is not None and actor.id == user_id):
        return None
    note = Notification(user_id=user_id, kind=kind, story=story, reply=reply, message=message)
    db.session.add(note)
    return note


def tell_of_new_reply(reply: Reply, quoted_author_id: int | None) -> tuple[str, dict[str, Any]]:
    """The job that tells of a reply just posted straight out, for the service to queue with the reply's
    follow-ups (forum.jobs.queue.enqueue_follow_ups, one statement): the story's author and the member it
    quotes (if any) get their notification, then the story's followers theirs. The request writes none."""
    db.session.info.setdefault(TOLD_BY_JOB, set()).add(reply.id)
    return TELL_OF_REPLY_JOB, {"reply_id": reply.id, "tell": {"quoted": quoted_author_id}}


def notify_message(
    user: User, message: str, *, kind: str = MESSAGE, story: Story | None = None
) -> Notification:
    """Queue a plain-text notice for a member (used by moderation)."""
    note = Notification(user_id=user.id, kind=kind, story=story, message=message)
    db.session.add(note)
    return note


def _group_key(reaction_kind: str, story: Story | None, reply: Reply | None) -> str:
    return f"{reaction_kind}:reply:{reply.id}" if reply is not None else f"{reaction_kind}:story:{story.id}"  # type: ignore[union-attr]


def reaction_changed(
    owner_id: int | None,
    actor: User,
    reaction_kind: str,
    *,
    story: Story | None,
    reply: Reply | None,
    added: bool,
) -> None:
    """Fold a reaction into the owner's unread notification for that item and kind (or start one)."""
    if owner_id is None or owner_id == actor.id:
        return
    key = _group_key(reaction_kind, story, reply)
    note = db.session.scalar(
        sa.select(Notification)
        .where(
            Notification.user_id == owner_id, Notification.group_key == key, Notification.read_at.is_(None)
        )
        .order_by(Notification.id.desc())
        .limit(1)
    )
    if added:
        if note is None:
            note = Notification(
                user_id=owner_id,
                kind=REACTION,
                group_key=key,
                actor_count=0,
                story_id=story.id if story else (reply.story_id if reply else None),
                reply_id=reply.id if reply else None,
                message=reaction_kind,
            )
            db.session.add(note)
        note.actor_count = (note.actor_count or 0) + 1
        note.created_at = utcnow()
    elif note is not None:
        # A reaction taken back before it was seen no longer counts.
        note.actor_count -= 1
        if note.actor_count <= 0:
            db.session.delete(note)


# The unread count read with the member at sign-in (forum.auth.sessions) is stale once this request marks
# notifications read, regroups them or adds one.
forget_when_written((Notification,), "_village_unread")


def unread_count(user_id: int) -> int:
    """How many unread notifications a member has (one indexed COUNT)."""
    return int(
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Notification)
            .where(Notification.user_id == user_id, Notification.read_at.is_(None))
        )
        or 0
    )


def notifications_for(user_id: int) -> sa.Select[tuple[Notification]]:
    """A member's notifications, newest first, with their story and reply loaded."""
    return (
        sa.select(Notification)
        .where(Notification.user_id == user_id)
        .options(
            selectinload(Notification.story), selectinload(Notification.reply).selectinload(Reply.author)
        )
        .order_by(Notification.created_at.desc(), Notification.id.desc())
    )


# One page of a member's notifications as one text, with her address and the address she confirmed (whether
# Village may mail her): what the kept notifications page is kept under. Correlated to her users row, so her
# sign-in statement reads it when she asks for the page (forum.auth.sessions.read_with_sign_in); built once.
_PAGE_IDS = (
    sa.select(Notification.id)
    .where(Notification.user_id == User.id)
    .order_by(Notification.created_at.desc(), Notification.id.desc())
    .limit(sa.bindparam("notifications_limit"))
    .offset(sa.bindparam("notifications_offset"))
    .correlate(User)
)
_PAGE_ROWS = rows_text(
    (
        Notification.id,
        Notification.kind,
        Notification.read_at,
        Notification.story_id,
        Notification.reply_id,
        Notification.actor_count,
        Notification.message,
        Notification.created_at,
    ),
    Notification.id.in_(_PAGE_IDS),
)
_VERIFIED_EMAIL = (
    sa.select(MailPreference.verified_email).where(MailPreference.user_id == User.id).scalar_subquery()
)
PAGE_TEXT = row_text(User.email, _VERIFIED_EMAIL, _PAGE_ROWS)
PAGE_TEXT_KEPT = KeptForRequest(Notification, attribute="_village_notifications_page")
_PAGE_TEXT_OF = sa.select(PAGE_TEXT).where(User.id == sa.bindparam("user_id"))


def page_params(page: int, per_page: int) -> dict[str, int]:
    """PAGE_TEXT's bound parameters for one page of her notifications."""
    return {"notifications_limit": per_page + 1, "notifications_offset": (page - 1) * per_page}


def page_version(user_id: int, page: int, per_page: int) -> str:
    """A digest of what one page of her notifications shows of hers (PAGE_TEXT): read with her sign-in, or
    else in a statement of its own."""
    params = {"user_id": user_id, **page_params(page, per_page)}
    text = PAGE_TEXT_KEPT.get_or_read(user_id, _PAGE_TEXT_OF, params) or ""  # no such member: ""
    # (Rows aggregated in another order, were a plan to change, give another digest: a page rendered again.)
    return hashlib.blake2b(text.encode(), digest_size=12).hexdigest()


def notification_total(user_id: int) -> int:
    """How many notifications a member has (for the pages of her notifications list)."""
    return int(
        db.session.scalar(
            sa.select(sa.func.count()).select_from(Notification).where(Notification.user_id == user_id)
        )
        or 0
    )


def mark_read(user: User, notification_id: int | None = None) -> int:
    """Mark one of the member's notifications (or all of them) as read; returns how many changed."""
    query = sa.update(Notification).where(Notification.user_id == user.id, Notification.read_at.is_(None))
    if notification_id is not None:
        query = query.where(Notification.id == notification_id)
    result = db.session.execute(query.values(read_at=utcnow()))
    db.session.commit()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
