"""Account services: registration, sign-in, password changes and resets, account deletion, roles."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from flask import current_app, url_for
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from forum import names
from forum import text as textlib
from forum.auth import limits, sessions
from forum.auth.passwords import hash_password, needs_rehash, verify_password
from forum.errors import NotAllowed, ValidationFailed
from forum.extensions import db
from forum.mail import send_mail
from forum.models import (
    Draft,
    LoginSession,
    Notification,
    Role,
    User,
    utcnow,
)
from forum.stories import erasure, lifecycle

RESET_SALT = "village-password-reset"
MIN_PASSWORD = 10
LOOKALIKE_MESSAGE = (
    "That pseudonym looks too much like another member's name (letters from other alphabets, different "
    "capitals, digits for letters or extra spaces and dots read the same); please choose another."
)
RESERVED_MESSAGE = (
    "That name reads like one of Village's own labels or a staff title (such as Admin, Moderator or "
    "Anonymous parent); please choose another."
)
SIGN_IN_FAILED = (
    "That pseudonym or email and password don't match. Please try again; after many tries we pause sign-in "
    "to an account for 15 minutes to keep it safe, and you can reset your password meanwhile."
)
EMAIL_TAKEN: tuple[str | None, str] = (
    "email",
    "An account already uses this email. You can reset its password from the sign-in page.",
)


@dataclass(frozen=True)
class SignIn:
    """A successful sign-in: the member and the new login session's token."""

    user: User
    token: str


def normalise_email(email: str) -> str:
    """The address as stored: validated syntax (no DNS lookup), lower-cased."""
    try:
        # Reserved test domains (example.test) are accepted only when the app runs its tests.
        testing = bool(current_app.config.get("TESTING"))
        return validate_email(
            email.strip(), check_deliverability=False, test_environment=testing
        ).normalized.lower()
    except EmailNotValidError as error:
        raise ValidationFailed([("email", "That doesn't look like an email address.")]) from error


def _password_errors(
    password: str, *, pseudonym: str = "", email: str = "", field: str = "password"
) -> list[tuple[str | None, str]]:
    lowered = password.lower()
    if len(password) < MIN_PASSWORD:
        return [(field, f"Use at least {MIN_PASSWORD} characters.")]
    if (pseudonym and pseudonym.lower() in lowered) or (email and email.split("@")[0].lower() in lowered):
        return [(field, "Please don't use your pseudonym or email in your password.")]
    if len(set(password)) < 4:
        return [(field, "That password is too easy to guess; try a short sentence you'll remember.")]
    return []


def find_by_identifier(identifier: str) -> User | None:
    """The live member with this pseudonym or email (case-insensitive)."""
    # Control characters (a NUL among them, which PostgreSQL refuses in text) are in no pseudonym or email.
    key = textlib.clean_line(identifier).lower()
    if not key:
        return None
    column = User.email if "@" in key else User.pseudonym_key
    return db.session.scalar(sa.select(User).where(column == key, User.deleted_at.is_(None)))


def pseudonym_errors(pseudonym: str, *, exclude_user_id: int | None = None) -> list[tuple[str | None, str]]:
    """Why a (whitespace-normalised) pseudonym can't be used: too short or long, a label of Village's own or a
    staff title, taken, or a look-alike of a member's name. Registration and any change of name use it."""
    if not 3 <= len(pseudonym) <= 30:
        return [("pseudonym", "A pseudonym needs 3 to 30 characters.")]
    key = names.lookalike_key(pseudonym)
    if not key:
        return [("pseudonym", "A pseudonym needs at least one letter or number.")]
    if pseudonym.lower().startswith("deleted-") or names.is_reserved(pseudonym):
        return [("pseudonym", RESERVED_MESSAGE)]
    others = sa.select(User.pseudonym_key).where(
        sa.or_(User.pseudonym_key == pseudonym.lower(), User.pseudonym_skeleton == key)
    )
    if exclude_user_id is not None:
        others = others.where(User.id != exclude_user_id)
    taken = list(db.session.scalars(others.limit(2)))
    if pseudonym.lower() in taken:
        return [("pseudonym", "That pseudonym is taken; please choose another.")]
    if taken:
        return [("pseudonym", LOOKALIKE_MESSAGE)]
    return []


def register_member(*, pseudonym: str, email: str, password: str, role: str = Role.MEMBER.value) -> User:
    """Create a member account; raises ValidationFailed with field messages when something is off."""
    pseudonym = " ".join(pseudonym.split())
    errors: list[tuple[str | None, str]] = []
    address = ""
    try:
        address = normalise_email(email)
    except ValidationFailed as error:
        errors.extend(error.errors)
    errors.extend(pseudonym_errors(pseudonym))
    if address and db.session.scalar(sa.select(User.id).where(User.email == address)):
        # Saying so reveals that the address has an account; offering the reset keeps it kind and equally
        # revealing as any sign-up form must be to avoid duplicate accounts.
        errors.append(EMAIL_TAKEN)
    errors.extend(_password_errors(password, pseudonym=pseudonym, email=address))
    if errors:
        raise ValidationFailed(errors)
    user = User(
        pseudonym=pseudonym,
        pseudonym_key=pseudonym.lower(),
        email=address,
        password_hash=hash_password(password),
        role=role,
    )
    db.session.add(user)
    try:
        db.session.commit()
    except sa.exc.IntegrityError as error:
        # Someone took the name, a look-alike of it or the address between the checks and this commit.
        db.session.rollback()
        raise ValidationFailed(
            pseudonym_errors(pseudonym)
            or ([EMAIL_TAKEN] if db.session.scalar(sa.select(User.id).where(User.email == address)) else [])
            or [("pseudonym", LOOKALIKE_MESSAGE)]
        ) from error
    return user


def create_members(people: Sequence[tuple[str, str]], password_hash: str) -> list[int]:
    """Bulk sign-up for trusted loads (benchmark seeding, migrating a community): (pseudonym, email) pairs
    sharing one precomputed password hash, checked by the same rules as register_member except the password
    and look-alikes (the unique look-alike key still refuses those, for the whole batch)."""
    rows = []
    errors: list[tuple[str | None, str]] = []
    for pseudonym, email in people:
        pseudonym = " ".join(pseudonym.split())
        if not 3 <= len(pseudonym) <= 30:
            errors.append(("pseudonym", f"{pseudonym!r}: a pseudonym needs 3 to 30 characters."))
        rows.append(
            {
                "pseudonym": pseudonym,
                "pseudonym_key": pseudonym.lower(),
                "pseudonym_skeleton": names.lookalike_key(pseudonym),
                "email": normalise_email(email),
                "password_hash": password_hash,
                "role": Role.MEMBER.value,
            }
        )
    if errors:
        raise ValidationFailed(errors)
    ids = list(db.session.scalars(sa.insert(User).returning(User.id, sort_by_parameter_order=True), rows))
    db.session.commit()
    return ids


def authenticate(identifier: str, password: str, user_agent: str = "") -> SignIn:
    """Check the credentials and start a login session; one message for every failure.

    Attempts are limited per account, whichever name it is signed in with; for a name with no account, per
    typed name. Over the limit the answer is the same as for a wrong password, and every failure costs one
    password check, so neither the answer nor its timing says whether an account exists or which email and
    pseudonym belong together."""
    user = find_by_identifier(identifier)
    account_key = f"user:{user.id}" if user else "name:" + identifier.strip().casefold()[:254]
    allowed = limits.account_attempt_allowed(account_key)
    matches = verify_password(user.password_hash if user else None, password)
    if user is None or not allowed or not matches:
        raise ValidationFailed([("password", SIGN_IN_FAILED)])
    if user.banned_at is not None:
        why = f" The reason: {user.ban_reason}" if user.ban_reason else ""
        raise NotAllowed(f"This account has been closed by the moderators.{why}")
    if user.password_hash and needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    token = sessions.start_session(user, user_agent)
    db.session.commit()
    return SignIn(user, token)


def sign_out(token: str | None) -> None:
    """End this browser's login session server-side."""
    sessions.end_session(token)
    db.session.commit()


def change_password(user: User, *, current: str, new: str, keep_token: str | None) -> int:
    """Set a new password and sign out every other browser; return how many were signed out."""
    if not verify_password(user.password_hash, current):
        raise ValidationFailed([("current", "That isn't your current password.")])
    errors = _password_errors(new, pseudonym=user.pseudonym, email=user.email or "")
    if errors:
        raise ValidationFailed(errors)
    user.password_hash = hash_password(new)
    user.credentials_version += 1
    ended = sessions.end_other_sessions(user, keep_token)
    db.session.commit()
    return ended


def sign_out_other_sessions(user: User, keep_token: str | None) -> int:
    """Sign out every browser but this one."""
    ended = sessions.end_other_sessions(user, keep_token)
    db.session.commit()
    return ended


def active_sessions(user: User) -> list[LoginSession]:
    """The member's signed-in browsers, most recent first."""
    return list(
        db.session.scalars(
            sa.select(LoginSession)
            .where(LoginSession.user_id == user.id)
            .order_by(LoginSession.last_seen_at.desc())
        )
    )


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=RESET_SALT)


def make_reset_token(user: User) -> str:
    """A signed token naming the member and their credentials version (so it works only once)."""
    return str(_serializer().dumps({"uid": user.id, "v": user.credentials_version}))


def user_for_reset_token(token: str) -> User:
    """The member a still-valid reset token belongs to; ValidationFailed when expired, used or forged."""
    try:
        data = _serializer().loads(token, max_age=int(current_app.config["PASSWORD_RESET_MAX_AGE"]))
    except SignatureExpired as error:
        raise ValidationFailed([(None, "This reset link has expired. Please ask for a new one.")]) from error
    except BadSignature as error:
        raise ValidationFailed([(None, "This reset link isn't valid. Please ask for a new one.")]) from error
    user = db.session.get(User, data.get("uid")) if isinstance(data, dict) else None
    if user is None or user.deleted_at is not None or user.credentials_version != data.get("v"):
        raise ValidationFailed([(None, "This reset link has already been used. Please ask for a new one.")])
    return user


def request_password_reset(email: str) -> None:
    """Email a reset link if an account has this address; behave the same either way."""
    try:
        address = normalise_email(email)
    except ValidationFailed:
        return
    user = db.session.scalar(sa.select(User).where(User.email == address, User.deleted_at.is_(None)))
    if user is None or not limits.reset_mail_allowed(address):
        return
    link = url_for("auth.reset_password", token=make_reset_token(user), _external=True)
    minutes = int(current_app.config["PASSWORD_RESET_MAX_AGE"]) // 60
    send_mail(
        user.email or address,
        "Reset your Village password",
        f"Hello {user.pseudonym},\n\n"
        f"Someone (we hope you) asked to reset the password of your Village account.\n"
        f"Choose a new password here within {minutes} minutes:\n\n{link}\n\n"
        "The link works once. If you didn't ask for this, you can ignore this message; "
        "your password stays the same.\n\n"
        "Village",
    )


def reset_password(token: str, new_password: str) -> User:
    """Set a new password from a reset link, which then stops working; signs out every browser."""
    user = user_for_reset_token(token)
    errors = _password_errors(new_password, pseudonym=user.pseudonym, email=user.email or "")
    if errors:
        raise ValidationFailed(errors)
    user.password_hash = hash_password(new_password)
    user.credentials_version += 1
    sessions.end_other_sessions(user, None)
    db.session.commit()
    limits.forget_account_attempts(f"user:{user.id}")
    return user


def delete_account(user: User, *, password: str, keep_stories: bool) -> None:
    """Delete the member's account; their email and password hash are gone either way."""
    if not verify_password(user.password_hash, password):
        raise ValidationFailed([("password", "That isn't your password.")])
    erase_account(user, keep_stories=keep_stories)


def erase_account(user: User, *, keep_stories: bool) -> None:
    """Turn the account into a tombstone and keep or erase her writing (forum.stories.erasure says exactly
    what each choice does); one transaction, announced through the lifecycle."""
    kept_threads: list[int] = []
    if keep_stories:
        kept_threads = erasure.keep_writing(user)
    else:
        erasure.remove_writing(user)
    erasure.withdraw_reactions(user, keep_on_stories=kept_threads)
    db.session.execute(sa.delete(Draft).where(Draft.user_id == user.id))
    db.session.execute(sa.delete(Notification).where(Notification.user_id == user.id))
    db.session.execute(sa.delete(LoginSession).where(LoginSession.user_id == user.id))
    user.pseudonym = "Former member"
    user.pseudonym_key = f"deleted-{user.id}"
    user.email = None
    user.password_hash = None
    user.deleted_at = utcnow()
    user.credentials_version += 1
    lifecycle.commit()


def set_role(pseudonym: str, role: str) -> User:
    """Give a member a role (member, moderator or admin)."""
    if role not in {r.value for r in Role}:
        raise ValidationFailed([("role", f"Unknown role {role!r}; choose member, moderator or admin.")])
    user = find_by_identifier(pseudonym)
    if user is None:
        raise ValidationFailed([("pseudonym", f"No member is called {pseudonym!r}.")])
    user.role = role
    db.session.commit()
    return user
