"""Story cards for the feed pages (home, tag pages): read as plain rows, each card rendered once and kept.

A card is kept (forum.fragments) under the story's id and a version: a digest of the row it was rendered
from, the story's tag names and whether the reader chose to see its content note ("show"), which is all a card
shows that can differ. The reader's own stories are rendered for her and never kept ("You (posted
anonymously)" is hers alone); every kept card is exactly what any other member sees. The relative time ("3
hours ago") moves with the clock, so a kept card has a slot for it, filled at each request.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import request
from markupsafe import Markup

from forum import fragments, memberpages
from forum.feeds import queries
from forum.models import Role
from forum.visibility import note_modes

SLOT = "\x00when\x00"


@dataclass(frozen=True)
class CardAuthor:
    """What a card reads of a named author (the same properties as User)."""

    pseudonym: str
    role: str
    deleted_at: datetime | None

    @property
    def is_moderator(self) -> bool:
        return self.role in (Role.MODERATOR.value, Role.ADMIN.value)

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN.value

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


@dataclass(frozen=True)
class CardTag:
    name: str


@dataclass
class CardStory:
    """A story as its card reads it (the attributes of Story that _partials/story_card.html uses)."""

    id: int
    author_id: int | None
    anonymous: bool
    title: str | None
    age_band: str | None
    setting: str | None
    content_note: str | None
    created_at: datetime
    edited_at: datetime | None
    reply_count: int
    reaction_count: int
    latest_outcome: str | None
    author: CardAuthor | None
    tags: list[CardTag] = field(default_factory=list)
    body: str = ""

    @classmethod
    def from_row(cls, row: Any, tag_names: list[str]) -> CardStory:
        named = not row.anonymous and row.author_pseudonym is not None
        return cls(
            id=row.id,
            author_id=row.author_id,
            anonymous=row.anonymous,
            title=row.title,
            age_band=row.age_band,
            setting=row.setting,
            content_note=row.content_note,
            created_at=row.created_at,
            edited_at=row.edited_at,
            reply_count=row.reply_count,
            reaction_count=row.reaction_count,
            latest_outcome=row.latest_outcome,
            # An anonymous story's card never needs its author: her name is not even in memory for it.
            author=CardAuthor(row.author_pseudonym, row.author_role, row.author_deleted_at)
            if named
            else None,
            tags=[CardTag(name) for name in tag_names],
        )


@dataclass
class Card:
    story: CardStory
    version: str | None  # None: the reader's own story, rendered for her and never kept
    html: str | None = None  # the kept card, with SLOT for the time

    def show(self, when: Markup) -> Markup:
        """The kept card with the time filled in."""
        return Markup((self.html or "").replace(SLOT, str(when)))  # nosec B704 - see .ci/qa-exceptions.md

    def keep(self, html: Markup, when: Markup) -> Markup:
        """Keep a card just rendered (unless it is the reader's own) and give it back for the page."""
        kept = str(html).replace(str(when), SLOT, 1)
        if self.version is not None:
            fragments.put("card", self.story.id, self.version, kept)
        return html


@dataclass
class CardPage:
    cards: list[Card]
    next_cursor: str | None
    filters: queries.FeedFilters


def _signed_in_id(viewer: Any) -> int | None:
    return viewer.id if getattr(viewer, "is_authenticated", False) else None


def _note_modes(viewer: Any) -> dict[str, str]:
    # Read once per request and left where care's note_mode() (the card template) looks first.
    modes = getattr(request, "_village_note_modes", None)
    if modes is None:
        modes = note_modes(viewer)
        request._village_note_modes = modes  # type: ignore[attr-defined]
    return dict(modes)


def feed_cards(filters: queries.FeedFilters, cursor: str | None = None, viewer: Any = None) -> CardPage:
    """One feed page as cards: kept ones as they are, the others with their bodies read and rendered by the
    template (story_list.html). Two statements with every card kept, three otherwise."""
    rows, next_cursor, tags = queries.feed_rows(filters, cursor, viewer=viewer)
    memberpages.note_authors(row.author_id for row in rows)  # a page holding her own story is hers alone
    viewer_id = _signed_in_id(viewer)
    modes = _note_modes(viewer) if viewer_id is not None else {}
    return CardPage(cards_from_rows(rows, tags, modes, viewer_id), next_cursor, filters)


def cards_from_rows(
    rows: Iterable[Any], tags: dict[int, list[str]], modes: dict[str, str], viewer_id: int | None
) -> list[Card]:
    """Cards for rows that start with CARD_COLUMNS (any further columns are the caller's): kept ones as they
    are, the others with their bodies read (one statement) for the template to render. The viewer's own
    stories are never kept. Every page that shows cards shares the kept ones, so the version is taken from the
    card columns alone."""
    width = len(queries.CARD_COLUMNS)
    cards = []
    for row in rows:
        story = CardStory.from_row(row, tags[row.id])
        own = viewer_id is not None and row.author_id == viewer_id
        show_note = bool(row.content_note) and modes.get(row.content_note) == "show"
        version = None if own else fragments.version(tuple(row)[:width], tags[row.id], show_note)
        cards.append(Card(story, version))
    kept = fragments.get_many("card", {c.story.id: c.version for c in cards if c.version is not None})
    for card in cards:
        card.html = kept.get(card.story.id)
    bodies = queries.story_bodies([c.story.id for c in cards if c.html is None])
    for card in cards:
        card.story.body = bodies.get(card.story.id, card.story.body)
    return cards
