"""The read-only JSON API: published stories only, anonymous authors never named."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Blueprint, jsonify, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from forum.extensions import db
from forum.feeds import queries
from forum.models import Reaction, Reply, Status, Story, StoryUpdate
from forum.stories.queries import ANONYMOUS_LABEL, FORMER_MEMBER_LABEL
from forum.text import normalise_tag
from forum.visibility import story_hidden


def _author(item: Story | Reply) -> str | None:
    if isinstance(item, Story) and item.anonymous:
        return ANONYMOUS_LABEL
    if item.author is None or item.author.is_deleted:
        return FORMER_MEMBER_LABEL
    return item.author.pseudonym


def story_summary(story: Story) -> dict[str, Any]:
    """The fields a client needs to list a story."""
    return {
        "id": story.id,
        "url": url_for("stories.show", story_id=story.id, _external=True),
        "title": story.title,
        "author": _author(story),
        "anonymous": story.anonymous,
        "created_at": story.created_at.isoformat(),
        "tags": [tag.name for tag in story.tags],
        "setting": story.setting,
        "age_band": story.age_band,
        "content_note": story.content_note,
        "reply_count": story.reply_count,
        "reaction_count": story.reaction_count,
        "update_count": story.update_count,
        "latest_outcome": story.latest_outcome,
    }


def _reaction_counts(story_id: int, reply_ids: list[int]) -> dict[str, dict[str, int]]:
    rows = db.session.execute(
        sa.select(Reaction.story_id, Reaction.reply_id, Reaction.kind, sa.func.count())
        .where(sa.or_(Reaction.story_id == story_id, Reaction.reply_id.in_(reply_ids or [-1])))
        .group_by(Reaction.story_id, Reaction.reply_id, Reaction.kind)
    )
    counts: dict[str, dict[str, int]] = {}
    for _s_id, r_id, kind, n in rows:
        counts.setdefault(f"reply-{r_id}" if r_id else "story", {})[kind] = n
    return counts


def list_stories() -> Response:
    """GET /api/stories?tag=&setting=&age_band=&cursor= — newest published stories, 20 a page."""
    tag = normalise_tag(request.args.get("tag", "")) or None
    filters = queries.FeedFilters.from_args(request.args, tag=tag)
    page = queries.feed_page(filters, request.args.get("cursor"), viewer=current_user)
    return jsonify(stories=[story_summary(s) for s in page.stories], next_cursor=page.next_cursor)


def show_story(story_id: int) -> Response | tuple[Response, int]:
    """GET /api/stories/<id> — one published story with its updates, replies and reaction counts."""
    story = db.session.scalar(queries.visible_stories().where(Story.id == story_id))
    if story is None or story_hidden(story, current_user):
        return jsonify(error="Not found", message="No published story has this id."), 404
    replies = list(
        db.session.scalars(
            sa.select(Reply)
            .where(Reply.story_id == story.id, Reply.status == Status.PUBLISHED.value)
            .order_by(Reply.created_at, Reply.id)
            .limit(500)
        )
    )
    updates = list(
        db.session.scalars(
            sa.select(StoryUpdate)
            .where(StoryUpdate.story_id == story.id, StoryUpdate.status == Status.PUBLISHED.value)
            .order_by(StoryUpdate.created_at)
        )
    )
    counts = _reaction_counts(story.id, [r.id for r in replies])
    data = story_summary(story) | {
        "body": story.body,
        "body_html": story.body_html,
        "reactions": counts.get("story", {}),
        "updates": [
            {"id": u.id, "created_at": u.created_at.isoformat(), "outcome": u.outcome, "body": u.body}
            for u in updates
        ],
        "replies": [
            {
                "id": r.id,
                "created_at": r.created_at.isoformat(),
                "author": _reply_author(story, r),
                "body": r.body,
                "body_html": r.body_html,
                "reactions": counts.get(f"reply-{r.id}", {}),
            }
            for r in replies
        ],
    }
    return jsonify(data)


def _reply_author(story: Story, reply: Reply) -> str | None:
    if story.anonymous and reply.author_id is not None and reply.author_id == story.author_id:
        return f"{ANONYMOUS_LABEL} (who shared this story)"
    return _author(reply)


def register_api(bp: Blueprint) -> None:
    """Add the JSON routes to the feeds blueprint."""
    bp.add_url_rule("/api/stories", view_func=list_stories, methods=["GET"])
    bp.add_url_rule("/api/stories/<int:story_id>", view_func=show_story, methods=["GET"])
