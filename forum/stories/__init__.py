"""Stories: posting, reading, replying, reacting, updates and drafts."""

from forum.stories.routes import bp

__all__ = ["bp"]
