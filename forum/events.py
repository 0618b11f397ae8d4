"""The signals sent after a post's write is committed: what the page cache, the similar-stories index and
other listeners subscribe to. A lower module than every feature, so the page cache (a bottom layer) can
listen without importing the stories package.

- content_created (sender, item): a story, reply or update was posted.
- content_changed (sender, item): one was edited.
- post_visibility_changed (sender, changes): the status of posts changed (published, pending, hidden,
  removed, deleted); sent once per committed transaction, only by forum.stories.lifecycle.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from flask.signals import Namespace

if TYPE_CHECKING:
    from forum.models import Reply, Story, StoryUpdate

_signals = Namespace()
content_created = _signals.signal("content-created")
content_changed = _signals.signal("content-changed")
post_visibility_changed = _signals.signal("post-visibility-changed")


@dataclass(frozen=True)
class Change:
    """One post's status change inside a committed transaction."""

    item: Story | Reply | StoryUpdate
    before: str | None
    after: str
