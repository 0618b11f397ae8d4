"""Extension points other features use: checks before every write, and (from forum.events) the signals
after every commit."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from forum.events import Change, content_changed, content_created, post_visibility_changed

if TYPE_CHECKING:
    from forum.models import Reply, Story, StoryUpdate, User

__all__ = [
    "BeforeWrite",
    "Change",
    "content_changed",
    "content_created",
    "post_visibility_changed",
    "register_before_write",
    "run_before_write",
]

# check(author, kind, text, target) -> "pending" to hold the item for approval, else None; may raise
# ForumError.
BeforeWrite = Callable[["User", str, str, Any], "str | None"]

KINDS = frozenset({"story", "reply", "update", "reaction", "report"})

before_write: list[BeforeWrite] = []


def register_before_write(check: BeforeWrite) -> BeforeWrite:
    """Add a check run before every story, reply, update, reaction or report (usable as a decorator)."""
    if check not in before_write:
        before_write.append(check)
    return check


def run_before_write(
    author: User, kind: str, text: str, target: Story | Reply | StoryUpdate | None = None
) -> bool:
    """Run every check; True when one of them asks to hold the item for approval (checks may raise
    ForumError)."""
    assert kind in KINDS, kind
    pending = False
    for check in list(before_write):
        if check(author, kind, text, target) == "pending":
            pending = True
    return pending
