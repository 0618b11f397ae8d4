"""Delivering what is due in the outbox: claimed with a lease, retried with backoff, never twice on purpose.

Each row is claimed by a conditional UPDATE (queued and due, or "sending" with an expired lease) that only one
sender can win, committed before anything is sent, so several workers or a cron run next to a worker share the
outbox safely. The Message-ID was fixed when the row was written.

The one window that cannot be closed is between the SMTP server accepting a message and the row being marked
sent. A sender killed there leaves the row in "sending"; once its lease expires the next run sends it again,
with the same Message-ID and X-Village-Message-Key, so the mail is delivered at least once and a receiving
server that deduplicates by Message-ID shows it once. We chose at-least-once over at-most-once: a lost
"someone replied" costs a parent more than a rare duplicate, and the duplicate is recognisable.
"""

from __future__ import annotations

import logging
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app, has_request_context
from sqlalchemy.orm.exc import StaleDataError

from forum.extensions import db
from forum.mail import deliver
from forum.models import MailOutbox, User, utcnow
from forum.notifications.mail import kinds as K
from forum.notifications.mail import prefs as P
from forum.notifications.mail import render as R
from forum.notifications.mail.digest import queue_due_digests

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 8
BACKOFF_BASE_SECONDS = 60
BACKOFF_MAX_SECONDS = 6 * 3600


@dataclass
class Result:
    sent: int = 0
    deferred: int = 0
    retrying: int = 0
    failed: int = 0
    cancelled: int = 0
    errors: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return (
            f"sent={self.sent} deferred={self.deferred} retrying={self.retrying} "
            f"failed={self.failed} cancelled={self.cancelled}"
        )


def _config_int(name: str, default: int) -> int:
    return int(current_app.config.get(name) or default)


def backoff(attempts: int) -> timedelta:
    """1, 2, 4, 8 … minutes after each failed attempt, at most six hours."""
    return timedelta(seconds=min(BACKOFF_BASE_SECONDS * 2 ** max(attempts - 1, 0), BACKOFF_MAX_SECONDS))


def _claimable(now: datetime) -> Any:
    return sa.or_(
        sa.and_(MailOutbox.state == "queued", MailOutbox.due_at <= now),
        sa.and_(MailOutbox.state == "sending", MailOutbox.lease_until < now),
    )


def claim_next(now: datetime) -> MailOutbox | None:
    """Take the oldest due row; committed, so no other sender can take it until its lease ends."""
    lease = timedelta(seconds=_config_int("MAIL_LEASE_SECONDS", 300))
    for _ in range(5):
        row_id = db.session.scalar(
            sa.select(MailOutbox.id)
            .where(_claimable(now))
            .order_by(MailOutbox.due_at, MailOutbox.id)
            .limit(1)
        )
        if row_id is None:
            db.session.commit()
            return None
        won = db.session.execute(
            sa.update(MailOutbox)
            .where(MailOutbox.id == row_id, _claimable(now))
            .values(state="sending", lease_until=now + lease, attempts=MailOutbox.attempts + 1)
            .execution_options(synchronize_session=False)
        ).rowcount  # type: ignore[attr-defined]
        db.session.commit()
        if won:
            return db.session.get(MailOutbox, row_id, populate_existing=True)
    return None


def _release(row: MailOutbox, due_at: datetime) -> None:
    """Not now (quiet hours, the hourly cap): back in the queue, and this was not an attempt."""
    row.state, row.due_at, row.lease_until = "queued", due_at, None
    row.attempts = max(row.attempts - 1, 0)


def _hourly_cap_until(row: MailOutbox, now: datetime) -> datetime | None:
    """When the member may get the next message, if she has had her hourly share already."""
    if row.kind == K.VERIFY:
        return None
    cap = _config_int("MAIL_HOURLY_CAP", 6)
    window = now - timedelta(hours=1)
    sent = db.session.scalars(
        sa.select(MailOutbox.sent_at)
        .where(MailOutbox.user_id == row.user_id, MailOutbox.sent_at > window, MailOutbox.kind != K.VERIFY)
        .order_by(MailOutbox.sent_at)
    ).all()
    if len(sent) < cap:
        return None
    oldest = sent[len(sent) - cap]
    return (oldest or now) + timedelta(hours=1)


def _wanted(row: MailOutbox, user: User | None) -> bool:
    """Whether the member still wants (and may get) this message now."""
    if user is None or not user.email or user.is_deleted:
        return False
    prefs = P.get(user.id)
    if row.kind == K.VERIFY:
        return row.payload.get("email") == user.email and prefs.verified_email != user.email
    if not P.is_verified(user, prefs):
        return False
    if row.kind == K.DIGEST_KIND:
        return prefs.digest != "off"
    return row.kind in K.KINDS and P.mode(prefs, row.kind) == K.NOW


def _send_one(row: MailOutbox, now: datetime, result: Result, transport: Callable[[Any], None]) -> None:
    user = db.session.get(User, row.user_id)
    if not _wanted(row, user):
        row.state, row.lease_until = "cancelled", None
        db.session.commit()
        result.cancelled += 1
        return
    assert user is not None
    # Confirmation mails and urgent alerts (a welfare report for an on-duty moderator) wait for nothing.
    if row.kind != K.VERIFY and not row.payload.get("urgent"):
        wake = P.next_send_time(P.get(user.id), now)
        later = _hourly_cap_until(row, now)
        if wake > now or later is not None:
            _release(row, max(wake, later or now))
            db.session.commit()
            result.deferred += 1
            return
    content = R.render(row, user)
    if content is None:
        row.state, row.lease_until = "cancelled", None
        db.session.commit()
        result.cancelled += 1
        return
    message = R.build_email(row, user, content)
    try:
        transport(message)
    except Exception as error:  # noqa: BLE001 - any SMTP or network failure: retry later, keep why
        db.session.rollback()
        row = db.session.get(MailOutbox, row.id, populate_existing=True)  # type: ignore[assignment]
        row.last_error = f"{type(error).__name__}: {error}"[:2000]
        row.lease_until = None
        if row.attempts >= MAX_ATTEMPTS:
            row.state = "failed"
            result.failed += 1
        else:
            row.state, row.due_at = "queued", now + backoff(row.attempts)
            result.retrying += 1
        db.session.commit()
        log.warning("mail %s to member %s failed (attempt %s): %s", row.id, row.user_id, row.attempts, error)
        result.errors.append(row.last_error)
        return
    _after_send_hook(row)
    row.state, row.sent_at, row.lease_until, row.last_error = "sent", now, None, ""
    try:
        db.session.commit()
    except StaleDataError:  # her account was deleted while the message was on its way: nothing to mark
        db.session.rollback()
    result.sent += 1


def _after_send_hook(row: MailOutbox) -> None:
    """The point between the SMTP server's acceptance and marking the row sent (tests inject faults here)."""


def deliver_due(
    now: datetime | None = None, *, limit: int = 200, transport: Callable[[Any], None] | None = None
) -> Result:
    """Send everything due at `now` (default: the current time), at most `limit` messages; returns counts."""
    now = now or utcnow()
    transport = transport or deliver
    result = Result()
    queue_due_digests(now)
    with _url_context():
        for _ in range(limit):
            row = claim_next(now)
            if row is None:
                break
            _send_one(row, now, result, transport)
    return result


class _url_context:
    """A request context for url_for(_external=True) outside a request: the site's own address (SITE_URL)."""

    def __enter__(self) -> None:
        self._ctx = None
        if not has_request_context():
            base = str(current_app.config.get("SITE_URL") or "http://127.0.0.1:5000")
            self._ctx = current_app.test_request_context("/", base_url=base)
            self._ctx.push()

    def __exit__(self, *exc: object) -> None:
        if self._ctx is not None:
            self._ctx.pop()


def run_forever(interval: float = 30.0) -> None:
    """The worker: deliver, sleep, repeat; SIGTERM/SIGINT finish the message in hand and stop."""
    stopping = False

    def stop(signum: int, frame: Any) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while not stopping:
        try:
            result = deliver_due()
            if result.sent or result.failed or result.retrying:
                log.info("mail: %s", result)
        except Exception:  # a database outage must not end the worker
            log.exception("mail delivery run failed; trying again shortly")
            db.session.rollback()
        finally:
            db.session.remove()
        slept = 0.0
        while not stopping and slept < interval:
            time.sleep(0.5)
            slept += 0.5
