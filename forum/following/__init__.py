"""Following stories and tags, the Following feed, "My stories" and what is new since a member last looked."""

from forum.following.routes import bp

__all__ = ["bp"]
