"""Accounts: registration, sign-in, password reset, settings and account deletion."""

from forum.auth.routes import bp

__all__ = ["bp"]
