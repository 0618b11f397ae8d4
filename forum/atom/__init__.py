"""Atom 1.0 feeds: newest stories, each tag's stories, each story's replies."""

from forum.atom.routes import bp

__all__ = ["bp"]
