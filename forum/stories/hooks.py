"""Extension points other features use: checks before every write, and signals after every commit."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flask.signals import Namespace

if TYPE_CHECKING:
    from forum.models import Reply, Story, StoryUpdate, User

# check(author, kind, text, target) -> "pending" to hold the item for approval, else None; may raise ForumError.
BeforeWrite = Callable[["User", str, str, Any], "str | None"]

KINDS = frozenset({"story", "reply", "update", "reaction", "report"})

before_write: list[BeforeWrite] = []

_signals = Namespace()
content_created = _signals.signal("content-created")  # (sender, item) after a story/reply/update is committed
content_changed = _signals.signal("content-changed")  # (sender, item) after an edit is committed
# (sender, changes: tuple[Change, ...]) once after the commit of a transaction that changed posts' status;
# sent only by forum.stories.lifecycle. The page cache and the similar-stories index listen to it.
post_visibility_changed = _signals.signal("post-visibility-changed")
visibility_changed = post_visibility_changed  # the older name


@dataclass(frozen=True)
class Change:
    """One post's status change inside a committed transaction (before is None for a new post)."""

    item: Story | Reply | StoryUpdate
    before: str | None
    after: str


def register_before_write(check: BeforeWrite) -> BeforeWrite:
    """Add a check run before every story, reply, update, reaction or report (usable as a decorator)."""
    if check not in before_write:
        before_write.append(check)
    return check


def run_before_write(
    author: User, kind: str, text: str, target: Story | Reply | StoryUpdate | None = None
) -> bool:
    """Run every check; True when one of them asks to hold the item for approval. Checks may raise ForumError."""
    assert kind in KINDS, kind
    pending = False
    for check in list(before_write):
        if check(author, kind, text, target) == "pending":
            pending = True
    return pending
