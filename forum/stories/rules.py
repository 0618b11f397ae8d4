"""Permission predicates for stories, replies and reactions, shared by views (require) and templates (can)."""

from __future__ import annotations

from typing import Any

from forum.models import Status
from forum.permissions import rule

_GONE = (Status.DELETED.value, Status.REMOVED.value)


def _owns(user: Any, item: Any) -> bool:
    return item is not None and item.author_id is not None and item.author_id == user.id


@rule("edit_story")
def edit_story(user: Any, story: Any) -> bool:
    return _owns(user, story) and story.status not in _GONE


@rule("delete_story")
def delete_story(user: Any, story: Any) -> bool:
    return _owns(user, story) and story.status != Status.DELETED.value


@rule("add_update")
def add_update(user: Any, story: Any) -> bool:
    return _owns(user, story) and story.status not in _GONE


@rule("reply")
def reply(user: Any, story: Any) -> bool:
    return story.status == Status.PUBLISHED.value and not story.locked


@rule("edit_reply")
def edit_reply(user: Any, reply_: Any) -> bool:
    return _owns(user, reply_) and reply_.status not in _GONE


@rule("delete_reply")
def delete_reply(user: Any, reply_: Any) -> bool:
    return _owns(user, reply_) and reply_.status != Status.DELETED.value


@rule("react")
def react(user: Any, item: Any) -> bool:
    return item.status == Status.PUBLISHED.value
