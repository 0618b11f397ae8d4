"""Password hashing with argon2id (memory-hard); cost comes from the app config."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app

# A hash of a random password, verified against when no account matches, so a failed
# sign-in takes the same time whether or not the account exists.
_DUMMY_PASSWORD = "not-a-real-password-used-for-timing"


def _hasher() -> PasswordHasher:
    config = current_app.config
    return PasswordHasher(
        time_cost=int(config["ARGON2_TIME_COST"]),
        memory_cost=int(config["ARGON2_MEMORY_COST"]),
        parallelism=int(config["ARGON2_PARALLELISM"]),
    )


def hash_password(password: str) -> str:
    """An argon2id hash of password."""
    return _hasher().hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when password matches; without a hash, spends the same time and returns False."""
    hasher = _hasher()
    if not password_hash:
        try:
            hasher.verify(hasher.hash(_DUMMY_PASSWORD), password)
        except VerificationError:
            pass
        return False
    try:
        return hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with weaker settings than the current ones."""
    return _hasher().check_needs_rehash(password_hash)
