"""Routes for Village's plain information pages."""

from __future__ import annotations

from flask import Blueprint, render_template

bp = Blueprint("pages", __name__)


@bp.get("/guidelines")
def guidelines() -> str:
    """How we look after each other here."""
    return render_template("pages/guidelines.html")


@bp.get("/privacy")
def privacy() -> str:
    """What Village stores and who can see it."""
    return render_template("pages/privacy.html")
