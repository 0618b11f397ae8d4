"""The feed URLs, with ETag and Last-Modified so a feed reader polling an unchanged feed gets a 304."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask import Blueprint, Response, request, url_for
from sqlalchemy.orm import selectinload
from werkzeug.exceptions import NotFound

from forum.atom.build import Entry, document, etag_for
from forum.extensions import db
from forum.models import CONTENT_NOTES, Reply, Status, Story, Tag, story_tags, utcnow
from forum.stories.queries import author_label, visible_stories
from forum.text import normalise_tag

bp = Blueprint("atom", __name__)
PER_FEED = 30
LIVE = Status.PUBLISHED.value


def feed_links() -> dict[str, list[tuple[str, str]]]:
    """<link rel="alternate" type="application/atom+xml"> for the page being shown (base.html)."""
    endpoint, args = request.endpoint or "", request.view_args or {}
    links = [("Village: newest stories", url_for("atom.stories"))]
    if endpoint == "feeds.tag_page" and args.get("tag"):
        name = str(args["tag"]).strip().lstrip("#").lower()
        links.insert(0, (f"Stories tagged #{name}", url_for("atom.tag", tag=name)))
    elif endpoint == "stories.show" and args.get("story_id"):
        links.insert(0, ("Replies to this story", url_for("atom.replies", story_id=args["story_id"])))
    return {"atom_feeds": links}


def _story_entry(story: Story) -> Entry:
    url = url_for("stories.show", story_id=story.id, _external=True)
    if story.content_note:
        note = CONTENT_NOTES.get(story.content_note, "a content note")
        title = f"A story with the content note “{note}”"
        html = f'<p>This story has a content note: {note}. <a href="{url}">Read it on Village</a>.</p>'
    else:
        title = story.title or "A story"
        html = story.body_html
    updated = max(d for d in (story.created_at, story.edited_at) if d is not None)
    return Entry(f"story-{story.id}", title, url, author_label(story), story.created_at, updated, html)


def _respond(body_key: str, entries: list[Entry], build: dict) -> Response:
    etag = etag_for(body_key, entries)
    last = max((e.updated for e in entries), default=None)
    response = Response(mimetype="application/atom+xml")
    response.set_etag(etag)
    if last is not None:
        response.last_modified = last.replace(microsecond=0)
    response.cache_control.public = True
    response.cache_control.max_age = 300
    response.make_conditional(request)
    if response.status_code == 304:
        return response
    response.set_data(document(entries=entries, **build))
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


def _stories(query: sa.Select) -> list[Story]:
    return list(
        db.session.scalars(
            query.options(selectinload(Story.author))
            .order_by(Story.created_at.desc(), Story.id.desc())
            .limit(PER_FEED)
        )
    )


@bp.get("/feeds/stories.atom")
def stories() -> Response:
    entries = [_story_entry(s) for s in _stories(visible_stories())]
    return _respond(
        "stories",
        entries,
        {
            "key": "stories",
            "title": "Village: newest stories",
            "self_url": url_for(".stories", _external=True),
            "html_url": url_for("feeds.home", _external=True),
            "empty_updated": datetime(2025, 1, 1, tzinfo=utcnow().tzinfo),
        },
    )


@bp.get("/feeds/tags/<tag>.atom")
def tag(tag: str) -> Response:
    name = normalise_tag(tag)
    found = db.session.scalar(sa.select(Tag).where(Tag.name == name)) if name else None
    if found is None:
        raise NotFound(f"No stories are tagged #{tag} yet.")
    tagged = sa.select(story_tags.c.story_id).where(story_tags.c.tag_id == found.id)
    entries = [_story_entry(s) for s in _stories(visible_stories().where(Story.id.in_(tagged)))]
    return _respond(
        f"tag-{found.id}",
        entries,
        {
            "key": f"tag/{found.name}",
            "title": f"Village: stories tagged #{found.name}",
            "self_url": url_for(".tag", tag=found.name, _external=True),
            "html_url": url_for("feeds.tag_page", tag=found.name, _external=True),
            "empty_updated": datetime(2025, 1, 1, tzinfo=utcnow().tzinfo),
        },
    )


@bp.get("/stories/<int:story_id>/replies.atom")
def replies(story_id: int) -> Response:
    story = db.session.scalar(visible_stories().where(Story.id == story_id))
    if story is None:
        raise NotFound("We couldn't find that story. It may have been removed.")
    first = _story_entry(story)
    named = first.title if not story.content_note else "a story with a content note"
    rows = list(
        db.session.scalars(
            sa.select(Reply)
            .where(Reply.story_id == story.id, Reply.status == LIVE)
            .options(selectinload(Reply.author), selectinload(Reply.story))
            .order_by(Reply.created_at.desc(), Reply.id.desc())
            .limit(PER_FEED)
        )
    )
    entries = []
    for reply in rows:
        who = author_label(reply)
        updated = max(d for d in (reply.created_at, reply.edited_at) if d is not None)
        html = reply.body_html if not story.content_note else "<p>A reply on a story with a content note.</p>"
        entries.append(
            Entry(
                f"reply-{reply.id}",
                f"{who} replied",
                url_for("stories.show", story_id=story.id, _anchor=f"reply-{reply.id}", _external=True),
                who,
                reply.created_at,
                updated,
                html,
            )
        )
    return _respond(
        f"replies-{story.id}",
        entries,
        {
            "key": f"story-{story.id}/replies",
            "title": f"Village: replies to {named}",
            "self_url": url_for(".replies", story_id=story.id, _external=True),
            "html_url": first.url,
            "empty_updated": story.created_at,
        },
    )
