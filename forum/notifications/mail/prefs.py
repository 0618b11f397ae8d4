"""A member's mail settings: per-kind delivery, time zone and quiet hours, digest, follow-on-reply, verified
address. Plain functions: the caller commits."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from flask import current_app
from sqlalchemy import orm

from forum.errors import ValidationFailed
from forum.extensions import db
from forum.models import MailPreference, User
from forum.notifications.mail import kinds as K


def site_timezone_name() -> str:
    return str(current_app.config.get("SITE_TIMEZONE") or "Europe/London")


def get(user_id: int, session: orm.Session | None = None) -> MailPreference:
    """The member's preferences (a fresh row with the defaults, not yet added, when she has none), read
    through `session` (a flush listener's) or the request's."""
    row = (session or db.session).get(MailPreference, user_id)
    if row is None:
        row = MailPreference(
            user_id=user_id,
            kinds={},
            timezone="",
            quiet_start=21 * 60,
            quiet_end=8 * 60,
            digest="daily",
            follow_replied=True,
        )
    return row


def get_for_update(user_id: int) -> MailPreference:
    """The member's preferences row, added to the session so changes are saved."""
    row = get(user_id)
    if row not in db.session:
        db.session.add(row)
    return row


def mode(prefs: MailPreference, kind: str) -> str:
    """now, digest or off for this kind."""
    chosen = (prefs.kinds or {}).get(kind)
    return chosen if chosen in K.MODES else K.KINDS[kind].default


def zone(prefs: MailPreference) -> ZoneInfo:
    try:
        return ZoneInfo(prefs.timezone or site_timezone_name())
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def is_verified(user: User, prefs: MailPreference) -> bool:
    """Mail goes only to a confirmed address, and only while it is still the member's address."""
    return bool(user.email) and not user.is_deleted and prefs.verified_email == user.email


def next_send_time(prefs: MailPreference, now: datetime) -> datetime:
    """now, or the end of the member's quiet hours when now falls inside them (in her own time zone)."""
    start, end = prefs.quiet_start, prefs.quiet_end
    if start == end:
        return now
    local = now.astimezone(zone(prefs))
    minute = local.hour * 60 + local.minute
    inside = (start <= minute or minute < end) if start > end else (start <= minute < end)
    if not inside:
        return now
    day = local.date() if minute < end else local.date() + timedelta(days=1)
    wake = datetime.combine(day, time(end // 60, end % 60), tzinfo=local.tzinfo)
    return wake.astimezone(now.tzinfo)


def _minutes(value: str, field: str) -> int:
    try:
        hours, _, minutes = value.partition(":")
        h, m = int(hours), int(minutes or 0)
    except ValueError:
        raise ValidationFailed([(field, "Please give a time such as 21:00.")]) from None
    if not (0 <= h < 24 and 0 <= m < 60):
        raise ValidationFailed([(field, "Please give a time such as 21:00.")])
    return h * 60 + m


def update(
    user: User,
    *,
    modes: dict[str, str],
    timezone: str,
    quiet_start: str,
    quiet_end: str,
    digest: str,
    follow_replied: bool,
) -> MailPreference:
    """Save the settings form (one commit); raises ValidationFailed with a message per field."""
    errors: list[tuple[str | None, str]] = []
    timezone = (timezone or "").strip()
    if timezone and timezone not in available_timezones():
        errors.append(("timezone", "Please pick a time zone from the list, such as Europe/London."))
    if digest not in K.DIGEST_FREQUENCIES:
        errors.append(("digest", "Please pick one of the options."))
    for kind, value in modes.items():
        if kind not in K.KINDS or value not in K.MODES:
            errors.append((f"kind_{kind}", "Please pick one of the options."))
    start = end = 0
    try:
        start = _minutes(quiet_start, "quiet_start")
        end = _minutes(quiet_end, "quiet_end")
    except ValidationFailed as error:
        errors += error.errors
    if errors:
        raise ValidationFailed(errors)
    prefs = get_for_update(user.id)
    prefs.kinds = {k: v for k, v in modes.items()}
    prefs.timezone = timezone
    prefs.quiet_start, prefs.quiet_end = start, end
    prefs.digest = digest
    prefs.follow_replied = follow_replied
    db.session.commit()
    return prefs


def turn_off(user_id: int, kind: str) -> None:
    """One-click unsubscribe: this kind (or the digest) stops. The caller commits."""
    prefs = get_for_update(user_id)
    if kind == K.DIGEST_KIND:
        prefs.digest = "off"
    else:
        prefs.kinds = {**(prefs.kinds or {}), kind: K.OFF}
