"""A story's, reply's or update's fields cleaned and checked: every message names its field, and the text the
parent typed is never lost (the view re-shows it with the messages)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from forum import text as textlib
from forum.errors import ValidationFailed
from forum.models import CONTENT_NOTES, AgeBand, Outcome, Setting

TITLE_MAX = 150
BODY_MIN, BODY_MAX = 20, 20_000
REPLY_MIN, REPLY_MAX = 2, 10_000
UPDATE_MIN, UPDATE_MAX = 10, 10_000

Errors = list[tuple[str | None, str]]


def length_errors(field: str, value: str, low: int, high: int, what: str) -> Errors:
    n = len(value)
    if n == 0:
        return [(field, f"Please write your {what}; it's empty at the moment.")]
    if n < low:
        return [
            (field, f"Please write a little more: your {what} needs at least {low} characters (it has {n}).")
        ]
    if n > high:
        return [
            (field, f"Your {what} is {n:,} characters; the limit is {high:,}. Please shorten it a little.")
        ]
    return []


def _choice(field: str, value: str | None, allowed: Iterable[str], errors: Errors) -> str | None:
    if not value:
        return None
    if value not in set(allowed):
        errors.append((field, "Please pick one of the options."))
    return value


def validate_story(
    title: str | None,
    body: str,
    tags: str | Iterable[str],
    age_band: str | None,
    setting: str | None,
    content_note: str | None,
) -> dict[str, Any]:
    """A story's fields cleaned and checked; raises ValidationFailed with a message per field."""
    errors: Errors = []
    title = textlib.clean_line(title) or None
    body = textlib.clean_text(body).strip()
    if title and len(title) > TITLE_MAX:
        errors.append(("title", f"Please keep the title to {TITLE_MAX} characters (it has {len(title)})."))
    errors += length_errors("body", body, BODY_MIN, BODY_MAX, "story")
    age_band = _choice("age_band", age_band, (a.value for a in AgeBand), errors)
    setting = _choice("setting", setting, (s.value for s in Setting), errors)
    content_note = _choice("content_note", content_note, CONTENT_NOTES, errors)
    names: list[str] = []
    try:
        names = textlib.parse_tags(tags, body)
    except ValidationFailed as error:
        errors += error.errors
    if errors:
        raise ValidationFailed(errors)
    return {
        "title": title,
        "body": body,
        "tag_names": names,
        "age_band": age_band,
        "setting": setting,
        "content_note": content_note,
    }


def validate_reply(body: str) -> str:
    """A reply's text cleaned and checked."""
    body = textlib.clean_text(body).strip()
    errors = length_errors("body", body, REPLY_MIN, REPLY_MAX, "reply")
    if errors:
        raise ValidationFailed(errors)
    return body


def validate_update(body: str, outcome: str) -> str:
    """An update's text cleaned and checked, with how things are now."""
    body = textlib.clean_text(body).strip()
    errors = length_errors("body", body, UPDATE_MIN, UPDATE_MAX, "update")
    if outcome not in {o.value for o in Outcome}:
        errors.append(("outcome", "Please choose how things are now."))
    if errors:
        raise ValidationFailed(errors)
    return body
