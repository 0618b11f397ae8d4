"""You're not alone: similar stories found by meaning (engine, index, and the web side)."""

from forum.similar import store
from forum.similar.routes import bp

store.install()

__all__ = ["bp"]
