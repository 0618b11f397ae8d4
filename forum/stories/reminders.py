"""Update reminders: in-site notifications, never delivered between 21:00 and 08:00 site time."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app

from forum.extensions import db
from forum.models import Status, Story, UpdateReminder, utcnow
from forum.notifications import services as notes

QUIET_FROM, QUIET_UNTIL = 21, 8


def site_timezone() -> ZoneInfo:
    """The site's time zone (SITE_TIMEZONE, Europe/London by default)."""
    return ZoneInfo(str(current_app.config.get("SITE_TIMEZONE") or "Europe/London"))


def in_quiet_hours(now: datetime) -> bool:
    """True between 21:00 and 08:00 site time, when no reminder is delivered."""
    hour = now.astimezone(site_timezone()).hour
    return hour >= QUIET_FROM or hour < QUIET_UNTIL


def send_due_reminders(now: datetime | None = None, user_id: int | None = None) -> int:
    """Turn due reminders into notifications (all members, or one); returns how many were sent."""
    now = now or utcnow()
    if in_quiet_hours(now):
        return 0
    query = (
        sa.select(UpdateReminder, Story)
        .join(Story, Story.id == UpdateReminder.story_id)
        .where(UpdateReminder.sent_at.is_(None), UpdateReminder.due_at <= now)
        .order_by(UpdateReminder.due_at)
        .limit(500)
    )
    if user_id is not None:
        query = query.where(UpdateReminder.user_id == user_id)
    due = db.session.execute(query).all()
    if not due:
        return 0  # nothing to write: a member's page view stays a read, not a commit
    sent = 0
    for reminder, story in due:
        reminder.sent_at = now
        if (
            story.status in (Status.PUBLISHED.value, Status.PENDING.value)
            and story.author_id == reminder.user_id
        ):
            notes.notify(
                reminder.user_id,
                notes.UPDATE_REMINDER,
                story=story,
                message="How are things now? Other parents would love to hear how it turned out.",
            )
            sent += 1
    db.session.commit()
    return sent
