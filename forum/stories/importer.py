"""Import stories from JSON Lines (`{"id", "title", "body", "tags"}` a line) through the stories services."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TypedDict

import sqlalchemy as sa
from flask import current_app

from forum.auth.passwords import hash_password
from forum.errors import ForumError
from forum.extensions import db
from forum.models import User
from forum.stories import services

DEFAULT_AUTHOR = "Imported stories"


class _Fields(TypedDict):
    title: str | None
    body: str
    tags: list[str]


@dataclass
class ImportOutcome:
    line: int
    source_id: str | None
    story_id: int | None = None
    error: str | None = None


def import_author(name: str) -> User:
    """The member imported stories are posted as, created (unable to sign in) if needed."""
    name = " ".join(name.split())[:30] or DEFAULT_AUTHOR
    user = db.session.scalar(sa.select(User).where(User.pseudonym_key == name.lower()))
    if user is None:
        user = User(
            pseudonym=name,
            pseudonym_key=name.lower(),
            email=None,
            password_hash=hash_password(secrets.token_urlsafe(32)),
        )
        db.session.add(user)
        db.session.commit()
    return user


def _parse(raw: str) -> tuple[str | None, _Fields]:
    data = json.loads(raw)
    if not isinstance(data, dict):
        raise ValueError("each line must be a JSON object")
    body, title, tags = data.get("body"), data.get("title"), data.get("tags", [])
    if not isinstance(body, str):
        raise ValueError('"body" must be text')
    if title is not None and not isinstance(title, str):
        raise ValueError('"title" must be text')
    if isinstance(tags, str):
        tags = [tags]
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise ValueError('"tags" must be a list of words')
    source = data.get("id")
    return (str(source) if source is not None else None), {"title": title, "body": body, "tags": tags}


def import_stories(lines: Iterable[str], author_name: str = DEFAULT_AUTHOR) -> Iterator[ImportOutcome]:
    """Publish one story per line; a bad line is reported and skipped, and never half-imported."""
    author = import_author(author_name)
    # An import is a trusted, one-off command: the per-member write limits are for people, not for it.
    current_app.config["RATELIMIT_ENABLED"] = False
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            source_id, fields = _parse(raw)
            story = services.publish_story(
                author,
                title=fields["title"],
                body=fields["body"],
                tags=fields["tags"],
            )
        except (ValueError, ForumError) as error:
            db.session.rollback()
            message = error.message if isinstance(error, ForumError) else str(error)
            yield ImportOutcome(number, None, error=message)
            continue
        yield ImportOutcome(number, source_id, story.id)
