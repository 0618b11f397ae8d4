"""Confirming addresses and unsubscribing: one commit per action."""

from __future__ import annotations

import sqlalchemy as sa

from forum.auth.passwords import verify_password
from forum.auth.services import EMAIL_TAKEN, normalise_email
from forum.errors import ValidationFailed
from forum.extensions import db
from forum.models import MailOutbox, User, utcnow
from forum.notifications.mail import kinds as K
from forum.notifications.mail import prefs as P
from forum.notifications.mail import render as R
from forum.notifications.mail.outbox import queue


def request_confirmation(user: User) -> bool:
    """Queue a new confirmation mail unless the address is confirmed already (or one is waiting)."""
    prefs = P.get(user.id)
    if not user.email or P.is_verified(user, prefs):
        return False
    waiting = db.session.scalar(
        sa.select(MailOutbox.id).where(
            MailOutbox.user_id == user.id, MailOutbox.kind == K.VERIFY, MailOutbox.state == "queued"
        )
    )
    if waiting is None:
        queue(db.session(), user.id, K.VERIFY, {"email": user.email}, due_at=utcnow())
    db.session.commit()
    return True


def confirm_email(token: str) -> bool:
    """Mark the address confirmed if the token is for the member's current address."""
    found = R.read_verify_token(token)
    if found is None:
        return False
    user = db.session.get(User, found[0])
    if user is None or user.is_deleted or user.email != found[1]:
        return False
    prefs = P.get_for_update(user.id)
    if prefs.verified_email != user.email:
        prefs.verified_email = user.email
        prefs.last_digest_at = utcnow()
    db.session.commit()
    return True


def read_unsubscribe(token: str) -> tuple[int, str] | None:
    found = R.read_unsubscribe_token(token)
    if found is None or db.session.get(User, found[0]) is None:
        return None
    return found


def unsubscribe(user_id: int, kind: str) -> None:
    """Turn one kind of mail off for the member, and drop what of that kind is still waiting."""
    P.turn_off(user_id, kind)
    db.session.execute(
        sa.update(MailOutbox)
        .where(MailOutbox.user_id == user_id, MailOutbox.kind == kind, MailOutbox.state == "queued")
        .values(state="cancelled")
    )
    db.session.commit()


def change_email(user: User, *, email: str, password: str) -> bool:
    """Move the account to a new address (her password confirms it is her); the new address gets a
    confirmation link and no notification mail goes out until she clicks it. False when nothing changed."""
    address = normalise_email(email)
    if not verify_password(user.password_hash, password):
        raise ValidationFailed([("password", "That password isn't right. Your address has not changed.")])
    if address == user.email:
        return False
    if db.session.scalar(sa.select(User.id).where(User.email == address, User.id != user.id)):
        raise ValidationFailed([EMAIL_TAKEN])
    user.email = address  # forum.notifications.mail.outbox queues the confirmation in this transaction
    try:
        db.session.commit()
    except sa.exc.IntegrityError as error:  # taken by someone else between the check and the commit
        db.session.rollback()
        raise ValidationFailed([EMAIL_TAKEN]) from error
    return True
