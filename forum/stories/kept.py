"""Kept replies on the story page: each reply, its reactions included, rendered once as any other member sees
it and kept (forum.fragments) by reply id and version; at each request only a few slots are filled in.

Kept only where nothing in them is the reader's: a published reply by someone else, read by a signed-in member
who is not a moderator (moderators get tools, authors get "Edit" and "You (anonymous)"; those replies are
rendered as before). The version covers everything a kept reply shows that is not a slot: the reply, its
author's name and role, the story's state, the page, and who reacted how. Slots, filled at each request: the
times (they move with the clock), the reader's CSRF token, and whether each reaction button is hers ("mine":
the button's state). A reader whose blocks hide some of a reply's reactions gets those replies rendered for her
(her list of names differs), and they are never kept.

A kept reply is a string with slots between NUL characters ("\\x00c\\x00" ...): filling it is one split and
one join, no template.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from markupsafe import Markup, escape

from forum import fragments
from forum.models import Reply, Status, Story
from forum.stories.queries import ReactionSummary

CREATED, EDITED, TOKEN = "c", "e", "t"  # slot names (forum.fragments.slot)


class SlottedSummary(ReactionSummary):
    """A reply's reactions with slots where the reader's own state goes (rendered into a kept reply)."""

    def want(self, kind: str) -> str:
        return fragments.state_slots(kind)[0]

    def on_class(self, kind: str) -> str:
        return fragments.state_slots(kind)[1]

    def pressed(self, kind: str) -> str:
        return fragments.state_slots(kind)[2]


def slot_values(
    summary: ReactionSummary, kinds: Any, created: str, edited: str, token: str
) -> dict[str, str]:
    """What fills a kept reply's slots for this reader."""
    values = {CREATED: created, EDITED: edited, TOKEN: str(escape(token))}
    for kind in kinds:
        values.update(
            fragments.state_values(kind, summary.want(kind), summary.on_class(kind), summary.pressed(kind))
        )
    return values


@dataclass
class KeptReply:
    reply_id: int
    version: str
    summary: ReactionSummary
    html: str | None = None  # kept, with slots

    def slotted(self) -> SlottedSummary:
        """The summary to render for keeping: the same names and counts, slots for the reader's state."""
        return SlottedSummary(people=self.summary.people)

    def keep(self, html: Markup, created: Markup, edited: Markup, token: str, kinds: Any) -> Markup:
        """Keep a reply just rendered with slots for the reader's state, and give it back filled in for her."""
        text = str(html)
        for value, name in ((str(created), CREATED), (str(edited), EDITED), (str(token), TOKEN)):
            text = fragments.slotted(text, value, name)
        filled = fragments.fill(text, slot_values(self.summary, kinds, str(created), str(edited), token))
        fragments.put("reply", self.reply_id, self.version, text)
        return filled


def _version(story: Story, reply: Reply, page: int, summary: ReactionSummary) -> str:
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
        sorted((kind, tuple(names)) for kind, names in summary.people.items() if names),
    )


def kept_replies(
    story: Story, replies: list[Reply], viewer: Any, page: int, reactions: dict[str, ReactionSummary]
) -> dict[int, KeptReply]:
    """Reply id -> its kept form (found, or to be kept once the page renders it) for the replies whose
    rendering is the same for every such reader; one cache round trip."""
    if not getattr(viewer, "is_authenticated", False) or viewer.is_moderator or not fragments.enabled():
        return {}
    parts = {}
    for reply in replies:
        summary = reactions[f"reply-{reply.id}"]
        # Her own replies, unpublished ones, and replies whose reactions her blocks thin out are hers alone.
        if reply.status != Status.PUBLISHED.value or reply.author_id == viewer.id or summary.filtered:
            continue
        parts[reply.id] = KeptReply(reply.id, _version(story, reply, page, summary), summary)
    found = fragments.get_many("reply", {i: p.version for i, p in parts.items()})
    for reply_id, html in found.items():
        parts[reply_id].html = html
    return parts


def ready_replies(
    replies: list[Reply], parts: dict[int, KeptReply], token: str, kinds: Any
) -> dict[int, Markup]:
    """Reply id -> the page's HTML of each reply found kept, its slots filled for this reader."""
    from forum.templating import time_tag  # the template filter (forum.templating imports the story views)

    ready: dict[int, Markup] = {}
    for reply in replies:
        part = parts.get(reply.id)
        if part is None or part.html is None:
            continue
        values = slot_values(
            part.summary, kinds, str(time_tag(reply.created_at)), str(time_tag(reply.edited_at)), token
        )
        try:
            ready[reply.id] = fragments.fill(part.html, values)
        except KeyError:  # kept by an older release with other slots: render it again
            part.html = None
    return ready
