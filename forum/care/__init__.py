"""Care and safety: gentle signposting to support, and the support resources."""

from forum.care import preferences, services
from forum.care.routes import bp

services.install()
preferences.install()

__all__ = ["bp"]
