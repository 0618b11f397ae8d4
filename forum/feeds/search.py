"""Full-text search over stories, updates and replies: SQLite FTS5 here, PostgreSQL full-text in production.

The index is kept in step by the database itself (FTS5 triggers; PostgreSQL expression indexes), so no write
path can forget it. Only published items under published stories are ever returned.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from markupsafe import Markup, escape
from sqlalchemy.orm import selectinload

from forum.extensions import db
from forum.models import Reply, Story, StoryUpdate
from forum.models.search import KIND_REPLY, KIND_STORY, KIND_UPDATE
from forum.text import clean_text
from forum.visibility import blocks_for, hides_author, muted_tags, note_modes, story_hidden

PAGE_SIZE = 20
MAX_PAGES = 50
MAX_TERMS = 12
MAX_QUERY_CHARS = 500  # what the search page reads of a query


@dataclass
class SearchHit:
    """One matching story, update or reply, with the story it belongs to and a highlighted snippet."""

    kind: str
    story: Story
    item_id: int
    snippet: Markup
    author_id: int | None = None


@dataclass
class SearchPage:
    hits: list[SearchHit]
    page: int
    has_next: bool
    terms: list[str]


def search_terms(query: str) -> list[str]:
    """The words of a query, lower-cased, without operators or punctuation (so no input can break the query)."""
    words = re.findall(r"\w{1,64}", clean_text(query)[:MAX_QUERY_CHARS].lower())
    return list(dict.fromkeys(words))[:MAX_TERMS]


def _sqlite_match(terms: list[str]) -> str:
    # Each term quoted (a phrase of one word), prefix-matched when long enough: "cry" finds "crying".
    return " ".join(f'"{t}"*' if len(t) >= 3 else f'"{t}"' for t in terms)


_VISIBLE_SQLITE = """
  ((search_fts.rowid % 4 = 1 AND EXISTS (SELECT 1 FROM stories s WHERE s.id = search_fts.rowid / 4
        AND s.status = 'published'))
   OR (search_fts.rowid % 4 = 2 AND EXISTS (SELECT 1 FROM replies r JOIN stories s ON s.id = r.story_id
        WHERE r.id = search_fts.rowid / 4 AND r.status = 'published' AND s.status = 'published'))
   OR (search_fts.rowid % 4 = 3 AND EXISTS (SELECT 1 FROM story_updates u JOIN stories s ON s.id = u.story_id
        WHERE u.id = search_fts.rowid / 4 AND u.status = 'published' AND s.status = 'published')))
"""


def _sqlite_keys(terms: list[str], limit: int, offset: int) -> list[tuple[int, int]]:
    rows = db.session.execute(
        sa.text(
            f"SELECT rowid FROM search_fts WHERE search_fts MATCH :match AND {_VISIBLE_SQLITE} "  # nosec B608
            "ORDER BY bm25(search_fts, 3.0, 1.0), rowid DESC LIMIT :limit OFFSET :offset"
        ),
        {"match": _sqlite_match(terms), "limit": limit, "offset": offset},
    )
    return [(key % 4, key // 4) for (key,) in rows]


# The story expression must match the GIN index's exactly (STORY_VECTOR in forum/models/search.py) for the
# index to be used; tests/test_search.py checks that it does.
_POSTGRES_SEARCH = """
WITH q AS (SELECT websearch_to_tsquery('english', :query) AS query)
SELECT kind, id FROM (
  SELECT 1 AS kind, s.id, ts_rank(to_tsvector('english', coalesce(s.title, '') || ' ' || s.body), q.query) * 1.5
         AS rank, s.created_at
  FROM stories s, q
  WHERE to_tsvector('english', coalesce(s.title, '') || ' ' || s.body) @@ q.query AND s.status = 'published'
  UNION ALL
  SELECT 2, r.id, ts_rank(to_tsvector('english', r.body), q.query), r.created_at
  FROM replies r JOIN stories s ON s.id = r.story_id, q
  WHERE to_tsvector('english', r.body) @@ q.query AND r.status = 'published' AND s.status = 'published'
  UNION ALL
  SELECT 3, u.id, ts_rank(to_tsvector('english', u.body), q.query), u.created_at
  FROM story_updates u JOIN stories s ON s.id = u.story_id, q
  WHERE to_tsvector('english', u.body) @@ q.query AND u.status = 'published' AND s.status = 'published'
) hits
ORDER BY rank DESC, created_at DESC, id DESC
LIMIT :limit OFFSET :offset
"""


def _postgres_keys(terms: list[str], limit: int, offset: int) -> list[tuple[int, int]]:
    rows = db.session.execute(
        sa.text(_POSTGRES_SEARCH), {"query": " ".join(terms), "limit": limit, "offset": offset}
    )
    return [(kind, item_id) for kind, item_id in rows]


def highlight(text: str, terms: list[str], width: int = 240) -> Markup:
    """A plain-text window around the first match, escaped, with the matched words in <mark>."""
    plain = re.sub(r"\s+", " ", re.sub(r"[*_>`#\[\]]", "", text)).strip()
    if not terms:
        return Markup(escape(plain[:width]))  # nosec B704 - escaped on this line
    pattern = re.compile(r"\b(" + "|".join(re.escape(t) for t in terms) + r")\w*", re.IGNORECASE)
    first = pattern.search(plain)
    start = max(0, (first.start() if first else 0) - width // 3)
    window = plain[start : start + width]
    prefix, suffix = ("…" if start else ""), ("…" if start + width < len(plain) else "")
    escaped = str(escape(window))
    marked = pattern.sub(lambda m: f"<mark>{m.group(0)}</mark>", escaped)
    return Markup(prefix + marked + suffix)  # nosec B704 - escaped text plus our own <mark> tags


def search(query: str, page: int = 1, viewer: Any = None) -> SearchPage:
    """A ranked page of published stories, updates and replies matching the query."""
    terms = search_terms(query)
    page = min(max(page, 1), MAX_PAGES)
    if not terms:
        return SearchPage([], page, False, terms)
    finder = _sqlite_keys if db.engine.dialect.name == "sqlite" else _postgres_keys
    keys = finder(terms, PAGE_SIZE + 1, (page - 1) * PAGE_SIZE)
    has_next = len(keys) > PAGE_SIZE and page < MAX_PAGES
    hits = [hit for hit in _load_hits(keys[:PAGE_SIZE], terms) if _wanted(hit, viewer)]
    return SearchPage(hits, page, has_next, terms)


def _wanted(hit: SearchHit, viewer: Any) -> bool:
    """Leave out what the viewer blocked, muted or chose to hide."""
    blocks = blocks_for(viewer)
    if story_hidden(hit.story, viewer, blocks) or hides_author(hit.story, hit.author_id, viewer, blocks):
        return False
    if set(muted_tags(viewer)) & {t.name for t in hit.story.tags}:
        return False
    return note_modes(viewer).get(hit.story.content_note or "") != "hide"


def _load_hits(keys: list[tuple[int, int]], terms: list[str]) -> list[SearchHit]:
    """Load the matched items in three queries (whatever the page size) and keep the ranked order."""
    ids = {kind: [i for k, i in keys if k == kind] for kind in (KIND_STORY, KIND_REPLY, KIND_UPDATE)}
    replies = {r.id: r for r in db.session.scalars(sa.select(Reply).where(Reply.id.in_(ids[KIND_REPLY])))}
    updates = {
        u.id: u
        for u in db.session.scalars(sa.select(StoryUpdate).where(StoryUpdate.id.in_(ids[KIND_UPDATE])))
    }
    story_ids = (
        set(ids[KIND_STORY]) | {r.story_id for r in replies.values()} | {u.story_id for u in updates.values()}
    )
    stories = {
        s.id: s
        for s in db.session.scalars(
            sa.select(Story)
            .where(Story.id.in_(story_ids))
            .options(selectinload(Story.tags), selectinload(Story.author))
        )
    }
    hits: list[SearchHit] = []
    for kind, item_id in keys:
        if kind == KIND_STORY and item_id in stories:
            story = stories[item_id]
            text = f"{story.title or ''} {story.body}"
            hits.append(SearchHit("story", story, item_id, highlight(text, terms)))
        elif kind == KIND_REPLY and item_id in replies:
            reply = replies[item_id]
            hits.append(
                SearchHit(
                    "reply", stories[reply.story_id], item_id, highlight(reply.body, terms), reply.author_id
                )
            )
        elif kind == KIND_UPDATE and item_id in updates:
            update = updates[item_id]
            hits.append(SearchHit("update", stories[update.story_id], item_id, highlight(update.body, terms)))
    return hits
