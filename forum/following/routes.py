"""Follow buttons, the Following feed, "My stories", and the unread marker on a story page."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, g, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from werkzeug.exceptions import NotFound
from werkzeug.wrappers import Response

from forum.extensions import db
from forum.feeds import queries as feed_queries
from forum.following import services
from forum.notifications.mail.render import excerpt
from forum.params import page_arg
from forum.stories import queries
from forum.text import normalise_tag

bp = Blueprint("following", __name__)
PER_PAGE = 20


def follow_helpers() -> dict[str, Any]:
    return {"follows_story": services.follows_story, "follows_tag": services.follows_tag}


def excerpt_filter(markdown: str, limit: int = 160) -> str:
    """The start of a post as plain text, quoted lines left out (notification cards)."""
    return excerpt(markdown or "", limit)


def mark_story_read() -> None:
    """On a signed-in member's story page: remember what was new (for the marker) and move her visit on."""
    if request.method != "GET" or request.endpoint != "stories.show" or not current_user.is_authenticated:
        return
    story_id = (request.view_args or {}).get("story_id")
    if isinstance(story_id, int):
        g.unread = services.open_story(current_user, story_id, per_page=queries.REPLIES_PER_PAGE)


def _back(default: str) -> Response:
    target = request.form.get("next") or ""
    return redirect(target if target.startswith("/") and not target.startswith("//") else default)


@bp.post("/stories/<int:story_id>/follow")
@login_required
def follow_story(story_id: int) -> Response:
    FlaskForm().validate_on_submit()
    story = queries.get_story(story_id, current_user)
    services.follow_story(current_user, story, request.form.get("on") == "1")
    return _back(url_for("stories.show", story_id=story.id))


@bp.post("/tags/<tag>/follow")
@login_required
def follow_tag(tag: str) -> Response:
    FlaskForm().validate_on_submit()
    name = normalise_tag(tag)
    found = feed_queries.tag_named(name) if name else None
    if found is None:
        raise NotFound("No stories are tagged with that yet.")
    services.follow_tag(current_user, found, request.form.get("on") == "1")
    return _back(url_for("feeds.tag_page", tag=found.name))


@bp.get("/following")
@login_required
def feed() -> str:
    page = db.paginate(
        services.following_feed(current_user), page=page_arg(), per_page=PER_PAGE, error_out=False
    )
    return render_template("following/feed.html", page=page, tags=services.followed_tags(current_user))


@bp.get("/me")
@login_required
def mine() -> str:
    return render_template(
        "following/mine.html",
        mine=services.my_stories(current_user),
        replied=services.replied_stories(current_user),
    )
