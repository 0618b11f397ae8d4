"""The installable app: web app manifest, service worker and offline page (offline posting is in app.js)."""

from forum.pwa.routes import bp

__all__ = ["bp"]
