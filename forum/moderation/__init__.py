"""Moderation: reports, the review queue, decisions, restrictions on members, trust, alerts, the audit log."""

from forum.moderation import member_routes, protection, queue_routes  # noqa: F401  (their views join bp)
from forum.moderation.routes import bp

protection.install()

__all__ = ["bp"]
