"""Moderation: reports, the review queue, decisions, restrictions on members, trust, alerts, the audit log."""

import forum.moderation.member_routes  # noqa: F401  (its views join bp)
import forum.moderation.queue_routes  # noqa: F401  (its views join bp)
from forum.moderation.routes import bp

__all__ = ["bp"]
