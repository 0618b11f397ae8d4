"""Feed pages: home, tag pages, the tag directory and search."""

from __future__ import annotations

from flask import Blueprint, render_template, request, url_for
from flask_login import current_user
from werkzeug.exceptions import NotFound as HTTPNotFound

from forum.extensions import limiter
from forum.feeds import cards, queries
from forum.feeds import search as search_service
from forum.feeds.api import register_api
from forum.params import page_arg
from forum.text import normalise_tag

bp = Blueprint("feeds", __name__)
register_api(bp)


def feed_link(filters: queries.FeedFilters, **changes: str) -> str:
    """This feed page's URL with its filters kept and some changed (sort, cursor)."""
    args = {**(request.view_args or {}), **filters.query_args(), **changes}
    if args.get("sort") == "newest":
        args.pop("sort")
    return url_for(request.endpoint or "feeds.home", **args)


@bp.get("/")
def home() -> str:
    """Newest stories (or active, or needing support), filterable by setting, age and updates."""
    filters = queries.FeedFilters.from_args(request.args)
    page = cards.feed_cards(filters, request.args.get("cursor"), viewer=current_user)
    return render_template("feeds/home.html", page=page, filters=filters, trending=queries.trending_tags(8))


@bp.get("/tags")
def tag_directory() -> str:
    """Every tag with its number of stories, and what's trending this week."""
    return render_template(
        "feeds/tags.html", tags=queries.tag_directory(), trending=queries.trending_tags(12)
    )


@bp.get("/tags/<path:tag>")
def tag_page(tag: str) -> str:
    """Stories with one tag."""
    name = normalise_tag(tag)
    found = queries.tag_named(name) if name else None
    if found is None:
        raise HTTPNotFound(f"No stories are tagged #{name or tag} yet.")
    filters = queries.FeedFilters.from_args(request.args, tag=found.name, tag_stories=found.story_count)
    page = cards.feed_cards(filters, request.args.get("cursor"), viewer=current_user)
    return render_template("feeds/tag.html", tag=found, page=page, filters=filters)


# Searching reads the index and highlights every hit: limited per address (an empty search is free).
SEARCH_LIMITS = "30 per minute;300 per hour"


@bp.get("/search")
@limiter.limit(SEARCH_LIMITS, exempt_when=lambda: not (request.args.get("q") or "").strip())
def search() -> str:
    """Full-text search over stories, updates and replies."""
    query = (request.args.get("q") or "")[: search_service.MAX_QUERY_CHARS]
    page_number = page_arg(max_page=search_service.MAX_PAGES)
    results = search_service.search(query, page_number, viewer=current_user) if query.strip() else None
    return render_template("feeds/search.html", query=query, results=results)
