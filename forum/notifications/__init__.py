"""In-site notifications: replies, grouped reactions, update reminders and notices."""

from forum.notifications.routes import bp

__all__ = ["bp"]
