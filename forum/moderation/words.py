"""Watched words: moderators add and remove them, audited, one commit each (protection.py applies them)."""

from __future__ import annotations

import sqlalchemy as sa

from forum.errors import NotAllowed, ValidationFailed
from forum.extensions import db
from forum.models import User, WatchedWord
from forum.moderation.auditlog import audit

ACTIONS = ("block", "hold", "flag")


def _require_moderator(actor: User) -> None:
    if not actor.is_moderator:
        raise NotAllowed("Only moderators can change the watched words.")


def add_watched_word(moderator: User, phrase: str, action: str) -> WatchedWord:
    """Watch a word or phrase (stored with its spaces collapsed and case folded, as it is matched)."""
    _require_moderator(moderator)
    phrase = " ".join(phrase.split()).casefold()
    if not phrase:
        raise ValidationFailed([("phrase", "Please enter a word or phrase.")])
    if action not in ACTIONS:
        raise ValidationFailed([("action", "Please choose what happens to a post with it.")])
    if db.session.scalar(sa.select(WatchedWord.id).where(WatchedWord.phrase == phrase)):
        raise ValidationFailed([("phrase", "That phrase is already on the list.")])
    word = WatchedWord(phrase=phrase, action=action)
    db.session.add(word)
    audit(moderator, "watched-word", reason=f"added {phrase!r} ({action})")
    db.session.commit()
    return word


def remove_watched_word(moderator: User, word: WatchedWord) -> None:
    """Stop watching a phrase."""
    _require_moderator(moderator)
    audit(moderator, "watched-word", reason=f"removed {word.phrase!r}")
    db.session.delete(word)
    db.session.commit()
