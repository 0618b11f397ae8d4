"""The staff badge beside a moderator's or admin's name, so nobody can pass for one."""

from __future__ import annotations

from typing import Any

from markupsafe import Markup

from forum.models import Reply, Story
from forum.stories.queries import author_label


def staff_badge(item: Story | Reply, viewer: Any = None) -> Markup:
    """A "Moderator" or "Admin" badge after the author's name when the post shows her name; nothing on
    anything shown as "Anonymous parent" (a badge there would tell everyone a moderator wrote it) or as
    "a former member"."""
    author = item.author if item.author_id is not None else None
    if author is None or not author.is_moderator or author_label(item, viewer) != author.pseudonym:
        return Markup("")
    title = "Admin" if author.is_admin else "Moderator"
    return Markup(' <span class="staff-badge" title="A member of Village\'s {} team">{}</span>').format(
        "admin" if author.is_admin else "moderation", title
    )
