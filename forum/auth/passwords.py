"""Password hashing with argon2id (memory-hard); cost comes from the app config."""

from __future__ import annotations

from functools import lru_cache

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


@lru_cache(maxsize=8)
def _dummy_hash(time_cost: int, memory_cost: int, parallelism: int) -> str:
    # Made once per cost setting: hashing it on every failed sign-in made an unknown name take twice as long.
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism).hash(
        _DUMMY_PASSWORD
    )


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when password matches; without a hash, spends the same time (one check) and returns False."""
    hasher = _hasher()
    if not password_hash:
        try:
            hasher.verify(_dummy_hash(hasher.time_cost, hasher.memory_cost, hasher.parallelism), password)
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
