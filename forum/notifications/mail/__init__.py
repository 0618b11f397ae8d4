"""Mail that brings members back: kinds and settings, the transactional outbox, rendering and the sender."""

from forum.notifications.mail import outbox as _outbox  # noqa: F401  (registers the session listeners)
from forum.notifications.mail.routes import bp

__all__ = ["bp"]
