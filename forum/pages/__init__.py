"""Plain pages: community guidelines and privacy."""

from forum.pages.routes import bp

__all__ = ["bp"]
