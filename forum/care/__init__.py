"""Care and safety: gentle signposting to support, and the support resources."""

from forum.care.routes import bp

__all__ = ["bp"]
