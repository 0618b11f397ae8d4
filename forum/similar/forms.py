"""Forms of the similar-stories admin page."""

from __future__ import annotations

from flask_wtf import FlaskForm


class RetrainForm(FlaskForm):
    """The retrain button (CSRF protection)."""
