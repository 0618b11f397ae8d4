"""Browsing: the home feed, tag pages, search and the read-only JSON API."""

from forum.feeds.routes import bp

__all__ = ["bp"]
