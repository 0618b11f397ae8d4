"""You're not alone: similar stories found by meaning (engine, index, and the web side)."""

from forum.similar.routes import bp

__all__ = ["bp"]
