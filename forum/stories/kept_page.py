"""The story page kept whole for signed-in members (forum.memberpages), once per kind of reader.

Most members see a story page exactly as the next one does: the same story, replies and similar stories,
laid out for the same view settings. Before the lookup one statement reads what else decides the page, for
the key: the count and newest id of the reactions on the story and on this page's replies (a reaction does not move the
page cache's generation, and this page names who sent what), and what it shows of this reader: her
reactions on the story and its replies (her buttons' state), her verdicts on its similar stories, whether
she follows it, and what is new to her since her last visit (the unread marker, read by
following.mark_story_read before any view runs). Readers with none of these (most readers of most stories)
share one page; one who reacted gets a page kept for her reactions. Her CSRF token, the reply box's one-time
key, her unread badge and the relative times are slots, filled at each request.

Never kept: a page showing her draft (a saved reply draft, a stash), her reply waiting for a moderator or her
support card (forum.care: it shows on every page of the story whose post raised it, for her alone), a
quote or a "posted"/"sent" notice (any query argument but ?page=), and, through note_authors, a page where she
wrote the story, a reply or one of the similar stories (her own "Edit" links and "You" labels, and her own
stories are never offered to her).
"""

from __future__ import annotations

import hashlib
from typing import Any

import sqlalchemy as sa
from flask import g, request
from flask_login import current_user

from forum.database import (
    FIELD_SEPARATOR,
    ROW_SEPARATOR,
    KeptForRequest,
    row_text,
    rows_text,
    sql_constant,
    text_rows,
)
from forum.models import CareCard, Draft, Follow, Reaction, Reply, SimilarSignal, Status
from forum.params import page_arg
from forum.stories.queries import REPLIES_PER_PAGE

# The replies whose reactions the key reads: this page's window of published replies, with a margin for replies a
# reader's blocks hide before it (a window over all the story's replies cost 7 ms on PostgreSQL for a thread of
# 2,000 replies, per view).
WINDOW_MARGIN = REPLIES_PER_PAGE


def reader_bits_text(me: Any) -> Any:
    """What reader_bits reads, for the member `me` (a bound "me", or her id inside her sign-in statement:
    forum.auth.sessions.SIGNED_IN_ID), as one text (forum.database.row_text rows, aggregated) in a scalar
    subquery. Built once (building it per request cost more than running it). Its constants are written into
    the SQL and the page's window of replies is one CTE, read three times: every bound parameter is processed
    again at each execution (48 of them, and an expanding NOT IN, cost more CPU than the query itself)."""
    story_id = sa.bindparam("story_id", type_=sa.Integer)
    offset = sa.bindparam("offset", type_=sa.Integer)
    window = (
        sa.select(Reply.id)
        .where(Reply.story_id == story_id, Reply.status == _PUBLISHED)
        .order_by(Reply.created_at, Reply.id)
        .offset(offset)
        .limit(REPLIES_PER_PAGE + WINDOW_MARGIN)
        .cte("page_window")
    )
    empty = sql_constant("")
    # A reaction is on the story (story_id) or on a reply (reply_id): two conditions kept apart, each read
    # through its own index (joined by OR, PostgreSQL scanned every reaction on the site).
    on_the_story = Reaction.story_id == story_id
    on_the_replies = Reaction.reply_id.in_(sa.select(window.c.id))
    parts = []
    for tag, where in (("s", on_the_story), ("p", on_the_replies)):
        # Everyone's reactions here, as a version (their count, newest id and newest time, in one scan): they do
        # not move the page cache's generation (a feed card's count may lag a few seconds), but this page names
        # who sent what. The time too, as SQLite gives a new row the id of the newest one deleted: a hug taken
        # back and another member's given would leave count and id as they were.
        newest = sa.func.coalesce(
            sa.cast(sa.func.max(Reaction.id), sa.String)
            + sql_constant("@")
            + sa.cast(sa.func.max(Reaction.created_at), sa.String),
            empty,
        )
        version = sa.select(_tag(tag + "n"), sa.func.count(Reaction.id).label("item"), newest.label("value"))
        parts.append(version.where(where))
        # Hers: her buttons' state.
        mine = sa.select(_tag("r"), sa.func.coalesce(Reaction.reply_id, sql_constant(0)), Reaction.kind)
        parts.append(mine.where(Reaction.user_id == me, where))
    waiting = sa.and_(  # her replies a moderator has not published yet: shown to her alone
        Reply.author_id == me,
        Reply.story_id == story_id,
        Reply.status != _PUBLISHED,
        Reply.status != sql_constant(Status.DELETED.value),
    )
    rows = sa.union_all(
        *parts,
        sa.select(_tag("v"), SimilarSignal.match_id, SimilarSignal.verdict).where(
            SimilarSignal.user_id == me, SimilarSignal.source_id == story_id
        ),
        sa.select(_tag("f"), Follow.id, empty).where(Follow.user_id == me, Follow.story_id == story_id),
        sa.select(_tag("d"), Draft.id, empty).where(
            Draft.user_id == me, Draft.key == sa.bindparam("draft_key")
        ),
        sa.select(_tag("d"), Reply.id, empty).where(waiting),
        # Her support card for this story, not yet closed: hers alone, and the post that raised it may be on
        # another page of the story (a kept page of this one, without it, would hide it from her).
        sa.select(_tag("c"), CareCard.id, empty).where(
            CareCard.user_id == me, CareCard.story_id == story_id, CareCard.dismissed_at.is_(None)
        ),
    ).subquery("reader_bits")
    # Prefixed with the story's id and page: what the rows are of.
    return sa.select(
        row_text(story_id, offset) + sql_constant(ROW_SEPARATOR) + rows_text(tuple(rows.c), sa.true())
    ).scalar_subquery()


def _tag(name: str) -> Any:
    return sql_constant(name).label("tag")


_PUBLISHED = sql_constant(Status.PUBLISHED.value)


# Read with her sign-in on a story page (forum.auth.sessions.read_with_sign_in), or else on its own.
READER_BITS_KEPT = KeptForRequest(
    Reaction, SimilarSignal, Follow, Draft, Reply, CareCard, attribute="_village_story_reader_bits"
)
_READER_BITS = sa.select(reader_bits_text(sa.bindparam("me", type_=sa.Integer)))


def reader_bits_params(story_id: int) -> dict[str, Any]:
    return {
        "story_id": story_id,
        "draft_key": f"reply-{story_id}",
        "offset": (page_arg() - 1) * REPLIES_PER_PAGE,
    }


def reader_bits() -> str | None:
    """What the story page shows of the reader besides her view settings, as a key part; None when this
    request shows something of her own (a draft, a quote, a notice meant for her) and is not kept."""
    if any(name != "page" for name in request.args):
        return None
    story_id = (request.view_args or {}).get("story_id")
    if not isinstance(story_id, int):
        return None
    params = reader_bits_params(story_id)
    what = f"{story_id}{FIELD_SEPARATOR}{params['offset']}{ROW_SEPARATOR}"
    text = READER_BITS_KEPT.get_or_read(
        current_user.id, _READER_BITS, {"me": current_user.id} | params, of=what
    )
    rows = text_rows(text.removeprefix(what))
    if any(row[0] in ("d", "c") for row in rows):
        return None  # her saved reply is put back in the box, her reply waiting for a moderator or her card shown
    unread = g.get("unread")
    new = (unread.first_reply_id, unread.count, unread.page) if unread and unread.first_reply_id else None
    # A follow's row id says nothing to the page: only that she follows.
    bits = sorted((tag, "" if tag == "f" else item_id, value) for tag, item_id, value in rows)
    return hashlib.blake2b(repr((bits, new)).encode(), digest_size=12).hexdigest()
