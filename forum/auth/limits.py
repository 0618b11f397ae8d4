"""Sign-in and registration limits: per account, per browser and per address.

Parents share addresses (a nursery's or a library's Wi-Fi, a mobile network), so an address gets a ceiling
several browsers' worth high, and each browser its own lower one. A browser is the random device id kept in
its session (views pass it in; a request without one shares a single "no device" allowance with its address).

Guessing at one account is limited per account, however it is named (pseudonym or email), and per typed name
for names with no account. That refusal reads exactly like a wrong password: a refusal of its own would let
anyone tie an email address to a pseudonym (lock the pseudonym, then see whether the address is refused too).
The limits of a browser and an address say what they are, with the form kept, status 429.

Limits are counted in Flask-Limiter's storage (memory, or Redis when configured). If that storage is down,
the limits are skipped (logged) rather than stopping every sign-in, as Flask-Limiter's own are
(RATELIMIT_SWALLOW_ERRORS)."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from limits import RateLimitItem, parse_many
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from forum.errors import RateLimited

SIGN_IN_PER_ACCOUNT = "10 per 15 minutes"
SIGN_IN_PER_DEVICE = "10 per minute; 50 per hour"
SIGN_IN_PER_ADDRESS = "30 per minute; 300 per hour"
# Registration: submitted forms (each may say whether an email has an account), and accounts made.
REGISTER_ATTEMPTS_PER_DEVICE = "20 per hour"
REGISTER_ATTEMPTS_PER_ADDRESS = "100 per hour"
ACCOUNTS_PER_DEVICE = "5 per hour"
ACCOUNTS_PER_ADDRESS = "30 per hour"
# Password resets: asking for a link, and choosing the new password from one (each costs a password hash).
RESET_REQUESTS_PER_DEVICE = "5 per 15 minutes"
RESET_REQUESTS_PER_ADDRESS = "30 per 15 minutes"
RESET_MAILS_PER_EMAIL = "3 per hour"
NEW_PASSWORDS_PER_DEVICE = "10 per 15 minutes"
NEW_PASSWORDS_PER_ADDRESS = "60 per 15 minutes"

SIGN_IN_MESSAGE = (
    "There have been a lot of sign-in attempts from this browser or network. Please wait a few minutes "
    "and try again; your pseudonym or email is still filled in."
)
RESET_MESSAGE = (
    "There have been a lot of password resets from this browser or network. Please wait a few minutes and "
    "try again."
)
REGISTER_MESSAGE = (
    "A lot of sign-ups have come from this browser or network in the last hour. Please wait a little and "
    "try again; your pseudonym and email are still filled in (only the password needs typing again)."
)


@dataclass(frozen=True)
class Visitor:
    """Who is knocking: the browser's device id ("" when it has none) and its network address."""

    device: str
    address: str

    @property
    def device_key(self) -> str:
        return f"device:{self.device}" if self.device else f"no-device:{self.address}"

    @property
    def address_key(self) -> str:
        return f"address:{self.address}"


def _enabled() -> bool:
    return bool(current_app.config.get("RATELIMIT_ENABLED", True))


def _limiter() -> MovingWindowRateLimiter:
    app = current_app
    if "village_auth_limiter" not in app.extensions:
        storage = storage_from_string(app.config.get("RATELIMIT_STORAGE_URI", "memory://"))
        app.extensions["village_auth_limiter"] = MovingWindowRateLimiter(storage)
    limiter: MovingWindowRateLimiter = app.extensions["village_auth_limiter"]
    return limiter


def _checks(*pairs: tuple[str, str]) -> list[tuple[RateLimitItem, str]]:
    return [(item, key) for limits, key in pairs for item in parse_many(limits)]


def _hit(scope: str, *pairs: tuple[str, str]) -> bool:
    """Count one attempt against every limit; False when any is used up. Each limit is counted atomically by
    the storage, so requests racing each other can't slip past it."""
    if not _enabled():
        return True
    try:
        limiter = _limiter()
        return all([limiter.hit(item, scope, key) for item, key in _checks(*pairs)])
    except Exception as error:  # noqa: BLE001 - any storage failure: let people in rather than lock everyone out
        current_app.logger.warning("Sign-in limit storage unavailable: %s", error)
        return True


def _check_visitor(scope: str, visitor: Visitor, per_device: str, per_address: str, message: str) -> None:
    if not _hit(scope, (per_device, visitor.device_key), (per_address, visitor.address_key)):
        raise RateLimited(message)


def check_sign_in(visitor: Visitor) -> None:
    """Count a sign-in attempt from this browser and address; RateLimited when either has had too many."""
    _check_visitor("sign-in", visitor, SIGN_IN_PER_DEVICE, SIGN_IN_PER_ADDRESS, SIGN_IN_MESSAGE)


def check_reset_request(visitor: Visitor) -> None:
    """Count a request for a reset link from this browser and address."""
    _check_visitor(
        "reset-request", visitor, RESET_REQUESTS_PER_DEVICE, RESET_REQUESTS_PER_ADDRESS, RESET_MESSAGE
    )


def check_new_password(visitor: Visitor) -> None:
    """Count a new password chosen from a reset link, from this browser and address."""
    _check_visitor(
        "new-password", visitor, NEW_PASSWORDS_PER_DEVICE, NEW_PASSWORDS_PER_ADDRESS, RESET_MESSAGE
    )


def reset_mail_allowed(email: str) -> bool:
    """Count a reset mail to this address: a few an hour, so nobody can flood a member's inbox. Over it the
    mail is silently not sent (the page says the same either way, so it tells nobody the address has an
    account)."""
    return _hit("reset-mail", (RESET_MAILS_PER_EMAIL, email))


def account_attempt_allowed(account_key: str) -> bool:
    """Count a sign-in attempt on one account ("user:<id>") or on a typed name that has none."""
    return _hit("sign-in-account", (SIGN_IN_PER_ACCOUNT, account_key))


def forget_account_attempts(account_key: str) -> None:
    """Start the account's count afresh (after a password reset proves who is signing in)."""
    if not _enabled():
        return
    try:
        for item in parse_many(SIGN_IN_PER_ACCOUNT):
            _limiter().clear(item, "sign-in-account", account_key)
    except Exception as error:  # noqa: BLE001 - the count simply runs out on its own
        current_app.logger.warning("Sign-in limit storage unavailable: %s", error)


def check_registration(visitor: Visitor) -> None:
    """Count a registration attempt; RateLimited when this browser or address has made too many attempts or
    accounts in the last hour."""
    if not _enabled():
        return
    if not _room_for_account(visitor) or not _hit(
        "register",
        (REGISTER_ATTEMPTS_PER_DEVICE, visitor.device_key),
        (REGISTER_ATTEMPTS_PER_ADDRESS, visitor.address_key),
    ):
        raise RateLimited(REGISTER_MESSAGE)


def _room_for_account(visitor: Visitor) -> bool:
    try:
        limiter = _limiter()
        checks = _checks(
            (ACCOUNTS_PER_DEVICE, visitor.device_key), (ACCOUNTS_PER_ADDRESS, visitor.address_key)
        )
        return all(limiter.test(item, "account", key) for item, key in checks)
    except Exception as error:  # noqa: BLE001 - as in _hit
        current_app.logger.warning("Sign-in limit storage unavailable: %s", error)
        return True


def account_created(visitor: Visitor) -> None:
    """Count an account made from this browser and address."""
    _hit("account", (ACCOUNTS_PER_DEVICE, visitor.device_key), (ACCOUNTS_PER_ADDRESS, visitor.address_key))
