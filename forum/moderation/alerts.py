"""Telling moderators that work is waiting: the header badge, welfare alerts at once, a digest of the rest.

- The badge counts items with open reports, posts held for approval and undecided appeals: one statement,
  at most once per request (cached on flask.g).
- A welfare report ("someone may be at risk") writes, in the reporting transaction, an in-site notice and an
  outbox message (forum.notifications.mail.outbox) for every moderator who is on duty, so it is mailed at once
  by the sender and never lost if the request dies after the commit. The message names no member and quotes
  nothing: it says a welfare report is waiting and links to the queue.
- Every other report reaches moderators through `queue_moderator_digest` (`flask moderation digest`, run daily
  by cron or the worker): one notice and message per on-duty moderator with how many items wait.
Mail goes only to a confirmed address whose "notices from the moderators" mail is on (the outbox's rules).
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import g, has_request_context

from forum.extensions import db
from forum.models import Appeal, Flag, Notification, Reply, Role, Status, Story, StoryUpdate, User, utcnow
from forum.moderation.targets import Target
from forum.notifications.mail import kinds as K
from forum.notifications.mail import outbox

ALERT = "moderator_alert"  # the in-site notification kind (not mailed by the outbox's own rules)


def waiting_count() -> int:
    """Items waiting for a moderator: reported items, held posts, open appeals (cached per request)."""
    if has_request_context() and "moderation_waiting" in g:
        return int(g.moderation_waiting)
    # One statement of five indexed counts: reported items, held stories/replies/updates, open appeals.
    reported = sa.select(Flag.target_type, Flag.target_id).where(Flag.resolved_at.is_(None)).distinct()
    counts = [sa.select(sa.func.count()).select_from(reported.subquery()).scalar_subquery()]
    for model in (Story, Reply, StoryUpdate):
        counts.append(
            sa.select(sa.func.count())
            .select_from(model)
            .where(model.status == Status.PENDING.value)
            .scalar_subquery()
        )
    counts.append(
        sa.select(sa.func.count()).select_from(Appeal).where(Appeal.decided_at.is_(None)).scalar_subquery()
    )
    total = sum(int(n or 0) for n in db.session.execute(sa.select(*counts)).one())
    if has_request_context():
        g.moderation_waiting = total
    return total


def on_duty_moderators() -> list[User]:
    return list(
        db.session.scalars(
            sa.select(User).where(
                User.role.in_([Role.MODERATOR.value, Role.ADMIN.value]),
                User.on_duty.is_(True),
                User.deleted_at.is_(None),
                User.banned_at.is_(None),
            )
        )
    )


def _tell_moderators(message: str, *, exclude: int | None = None, urgent: bool = False) -> int:
    """An in-site notice and an outbox message for every on-duty moderator (the caller commits).
    Urgent messages (welfare) go out through quiet hours and the hourly cap: being on duty is the choice."""
    now, told = utcnow(), 0
    for moderator in on_duty_moderators():
        if moderator.id == exclude:
            continue
        note = Notification(user_id=moderator.id, kind=ALERT, message=message, created_at=now)
        db.session.add(note)
        db.session.flush()
        if moderator.email:
            payload: dict[str, object] = {"notifications": [note.id]}
            if urgent:
                payload["urgent"] = True
            outbox.queue(db.session(), moderator.id, K.MODERATION, payload, due_at=now)
        told += 1
    return told


def welfare_alert(target: Target) -> int:
    """A welfare report is waiting: every on-duty moderator hears at once (nothing identifies the member)."""
    return _tell_moderators(
        f"Someone may be at risk: a welfare report on a {target.label} is waiting in the moderation queue. "
        "Please look as soon as you can.",
        urgent=True,
    )


def queue_moderator_digest() -> int:
    """Tell on-duty moderators how many items wait (the daily digest of non-welfare reports)."""
    waiting = waiting_count()
    if not waiting:
        return 0
    return _tell_moderators(
        f"{waiting} item{'s' if waiting != 1 else ''} {'are' if waiting != 1 else 'is'} waiting in the "
        "moderation queue."
    )


def set_on_duty(moderator: User, on_duty: bool) -> None:
    """A moderator turns welfare alerts by email on (on duty) or off."""
    moderator.on_duty = on_duty
    db.session.commit()
