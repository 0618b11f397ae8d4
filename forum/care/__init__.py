"""Care and safety: gentle signposting to support, and the support resources."""
from forum.care import services
from forum.care.routes import bp

services.install()

__all__ = ["bp"]
