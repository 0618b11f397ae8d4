"""You're not alone: similar stories found by meaning (engine, index, and the web side)."""

import forum.similar.feedback_routes  # noqa: F401  (its views join bp)
from forum.similar.routes import bp

__all__ = ["bp"]
