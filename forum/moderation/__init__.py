"""Moderation: reports, the review queue, actions, automatic protection and the audit log."""

from forum.moderation import protection
from forum.moderation.routes import bp

protection.install()

__all__ = ["bp"]
