"""Kept replies on the story page: a reply's head and body, and its actions as any other member sees them,
rendered once and kept (forum.fragments) by reply id and version; only the reactions between them (the reader's
own, her blocks) are rendered for each reader.

Kept only where nothing in them is the reader's: a published reply by someone else, read by a signed-in member
who is not a moderator (moderators get tools, authors get "Edit" and "You (anonymous)"; those replies are
rendered as before). The times move with the clock and the CSRF token is the reader's, so a kept reply has
slots for them, filled at each request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from markupsafe import Markup, escape

from forum import fragments
from forum.models import Reply, Status, Story

CREATED, EDITED, TOKEN, SPLIT = "\x00c\x00", "\x00e\x00", "\x00t\x00", "\x00|\x00"


@dataclass
class KeptReply:
    reply_id: int
    version: str
    head: str | None = None
    tail: str | None = None

    def show_head(self, created: Markup, edited: Markup) -> Markup:
        # HTML this app rendered (autoescaped) and kept; the slots take rendered Markup.
        return Markup((self.head or "").replace(CREATED, str(created)).replace(EDITED, str(edited)))  # nosec B704

    def show_tail(self, token: str) -> Markup:
        # HTML this app rendered (autoescaped) and kept; the CSRF token is escaped into its slot.
        return Markup((self.tail or "").replace(TOKEN, str(escape(token))))  # nosec B704

    def keep_head(self, html: Markup, created: Markup, edited: Markup) -> Markup:
        self.head = _slot(_slot(str(html), str(created), CREATED), str(edited), EDITED)
        return html

    def keep_tail(self, html: Markup, token: str) -> Markup:
        self.tail = _slot(str(html), str(token), TOKEN)
        if self.head is not None:
            fragments.put("reply", self.reply_id, self.version, self.head + SPLIT + self.tail)
        return html

    @property
    def found(self) -> bool:
        return self.head is not None and self.tail is not None


def _slot(html: str, value: str, slot: str) -> str:
    return html.replace(value, slot) if value else html


def _version(story: Story, reply: Reply, page: int) -> str:
    author = reply.author
    return fragments.version(
        reply.id,
        reply.status,
        reply.created_at,
        reply.edited_at,
        reply.author_id,
        (author.pseudonym, author.role, author.deleted_at) if author is not None else None,
        reply.body_html,
        story.id,
        story.anonymous,
        story.author_id,
        story.status,
        story.locked,
        page,
    )


def kept_replies(story: Story, replies: list[Reply], viewer: Any, page: int) -> dict[int, KeptReply]:
    """Reply id -> its kept parts (found, or to be kept once the page renders them) for the replies whose
    rendering is the same for every such reader; one cache round trip."""
    if not getattr(viewer, "is_authenticated", False) or viewer.is_moderator:
        return {}
    parts = {
        reply.id: KeptReply(reply.id, _version(story, reply, page))
        for reply in replies
        if reply.status == Status.PUBLISHED.value and reply.author_id != viewer.id
    }
    found = fragments.get_many("reply", {i: p.version for i, p in parts.items()})
    for reply_id, html in found.items():
        head, _, tail = html.partition(SPLIT)
        parts[reply_id].head, parts[reply_id].tail = head, tail
    return parts
