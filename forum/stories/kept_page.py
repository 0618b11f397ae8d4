"""The story page kept whole for signed-in members (forum.memberpages), once per kind of reader.

Most members see a story page exactly as the next one does: the same story, replies and similar stories,
laid out for the same view settings. Before the lookup one statement reads what else decides the page, for
the key: the count and newest id of the reactions on the story and its replies (a reaction does not move the
page cache's generation, and this page names who sent what), and what it shows of this reader: her
reactions on the story and its replies (her buttons' state), her verdicts on its similar stories, whether
she follows it, and what is new to her since her last visit (the unread marker, read by
following.mark_story_read before any view runs). Readers with none of these (most readers of most stories)
share one page; one who reacted gets a page kept for her reactions. Her CSRF token, the reply box's one-time
key, her unread badge and the relative times are slots, filled at each request.

Never kept: a page showing her draft (a saved reply draft, a stash), a quote or a "posted"/"sent" notice (any
query argument but ?page=), and, through note_authors, a page where she wrote the story, a reply or one of
the similar stories (her own "Edit" links and "You" labels, and her own stories are never offered to her).
"""

from __future__ import annotations

import hashlib
from typing import Any

import sqlalchemy as sa
from flask import g, request
from flask_login import current_user

from forum.extensions import db
from forum.models import Draft, Follow, Reaction, Reply, SimilarSignal


def _reader_bits_statement() -> Any:
    """The one statement of reader_bits, built once (building it per request cost more than running it)."""
    me, story_id = sa.bindparam("me", type_=sa.Integer), sa.bindparam("story_id", type_=sa.Integer)
    replies = sa.select(Reply.id).where(Reply.story_id == story_id)
    on_this_story = sa.or_(Reaction.story_id == story_id, Reaction.reply_id.in_(replies))
    return sa.union_all(
        # Everyone's reactions here, as a version: they do not move the page cache's generation (a feed
        # card's count may lag a few seconds), but this page names who sent what.
        sa.select(sa.literal("n"), sa.func.count(Reaction.id), sa.literal("")).where(on_this_story),
        sa.select(sa.literal("m"), sa.func.coalesce(sa.func.max(Reaction.id), 0), sa.literal("")).where(
            on_this_story
        ),
        sa.select(sa.literal("r"), sa.func.coalesce(Reaction.reply_id, 0), Reaction.kind).where(
            Reaction.user_id == me, on_this_story
        ),
        sa.select(sa.literal("v"), SimilarSignal.match_id, SimilarSignal.verdict).where(
            SimilarSignal.user_id == me, SimilarSignal.source_id == story_id
        ),
        sa.select(sa.literal("f"), Follow.id, sa.literal("")).where(
            Follow.user_id == me, Follow.story_id == story_id
        ),
        sa.select(sa.literal("d"), Draft.id, sa.literal("")).where(
            Draft.user_id == me, Draft.key == sa.bindparam("draft_key")
        ),
    )


_READER_BITS = _reader_bits_statement()


def reader_bits() -> str | None:
    """What the story page shows of the reader besides her view settings, as a key part; None when this
    request shows something of her own (a draft, a quote, a notice meant for her) and is not kept."""
    if any(name != "page" for name in request.args):
        return None
    story_id = (request.view_args or {}).get("story_id")
    if not isinstance(story_id, int):
        return None
    rows = db.session.execute(
        _READER_BITS, {"me": current_user.id, "story_id": story_id, "draft_key": f"reply-{story_id}"}
    ).all()
    if any(row[0] == "d" for row in rows):
        return None  # her saved reply is put back in the box
    unread = g.get("unread")
    new = (unread.first_reply_id, unread.count, unread.page) if unread and unread.first_reply_id else None
    bits = sorted((str(tag), int(item_id) if tag != "f" else 0, str(value)) for tag, item_id, value in rows)
    return hashlib.blake2b(repr((bits, new)).encode(), digest_size=12).hexdigest()
