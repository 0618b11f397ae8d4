"""Sign-in, registration and account settings (being built)."""
from __future__ import annotations

from flask import Blueprint, redirect, url_for
from flask_login import logout_user
from werkzeug.wrappers import Response

bp = Blueprint("auth", __name__)


@bp.route("/login", methods=["GET", "POST"])
def login() -> Response:
    return redirect(url_for("pages.home"))


@bp.route("/register", methods=["GET", "POST"])
def register() -> Response:
    return redirect(url_for("pages.home"))


@bp.post("/logout")
def logout() -> Response:
    logout_user()
    return redirect(url_for("pages.home"))


@bp.get("/settings")
def settings() -> Response:
    return redirect(url_for("pages.home"))
