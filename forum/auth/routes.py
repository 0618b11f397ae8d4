"""Sign-in, registration, password reset, account settings and deletion."""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.wrappers import Response

from forum.auth import forms, limits, services, sessions
from forum.errors import ForumError
from forum.typed_text import TypedText, keeps_typed_text

bp = Blueprint("auth", __name__)

# The browser's device id, kept in its session (across sign-in and sign-out) for the per-browser limits.
DEVICE_KEY = "device"


def _visitor() -> limits.Visitor:
    device = session.get(DEVICE_KEY)
    return limits.Visitor(device=device if isinstance(device, str) else "", address=get_remote_address())


def _give_device_id() -> None:
    if not isinstance(session.get(DEVICE_KEY), str):
        session[DEVICE_KEY] = secrets.token_urlsafe(16)


def _fresh_session() -> None:
    """Empty the session (nothing carried over a sign-in or sign-out) but keep the browser's device id."""
    device = session.get(DEVICE_KEY)
    session.clear()
    if isinstance(device, str):
        session[DEVICE_KEY] = device


def safe_next(target: str | None) -> str | None:
    """Only same-site relative paths, so a link can't send a member off to another site after sign-in."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or any(ord(ch) < 32 for ch in target):
        return None
    return target


def _start_browser_session(sign_in: services.SignIn, remember: bool) -> None:
    _fresh_session()  # nothing carried over from before the sign-in (session fixation)
    login_user(sign_in.user, remember=remember)


@bp.route("/register", methods=["GET", "POST"])
@keeps_typed_text(forms.RegisterForm, template="auth/register.html", members_only=False)
def register(typed: TypedText) -> Any:
    """Create an account with a pseudonym."""
    if current_user.is_authenticated:
        return redirect(url_for("feeds.home"))
    form = typed.form

    def create() -> services.SignIn:
        visitor = _visitor()
        limits.check_registration(visitor)
        services.register_member(
            pseudonym=form.pseudonym.data, email=form.email.data, password=form.password.data
        )
        limits.account_created(visitor)
        return services.authenticate(form.pseudonym.data, form.password.data, request.user_agent.string)

    sign_in = typed.attempt(create)
    if sign_in is not None:
        _start_browser_session(sign_in, remember=False)
        flash(f"Welcome to Village, {sign_in.user.pseudonym}.", "success")
        return redirect(url_for("feeds.home"))
    _give_device_id()
    return typed.render()


@bp.route("/login", methods=["GET", "POST"])
@keeps_typed_text(forms.LoginForm, template="auth/login.html", members_only=False)
def login(typed: TypedText) -> Any:
    """Sign in with pseudonym or email."""
    form = typed.form
    if request.method == "GET":
        form.next.data = safe_next(request.args.get("next")) or ""
    if current_user.is_authenticated and request.method == "GET":
        return redirect(safe_next(form.next.data) or url_for("feeds.home"))

    def sign_in_now() -> services.SignIn:
        limits.check_sign_in(_visitor())
        return services.authenticate(form.identifier.data, form.password.data, request.user_agent.string)

    sign_in = typed.attempt(sign_in_now)
    if sign_in is not None:
        _start_browser_session(sign_in, remember=bool(form.remember.data))
        return redirect(safe_next(form.next.data) or url_for("feeds.home"))
    form.password.data = ""
    _give_device_id()
    return typed.render()


@bp.post("/logout")
def logout() -> Response:
    """Sign out: this browser's session ends on the server too."""
    if current_user.is_authenticated:
        services.sign_out(current_user.get_id())
    logout_user()
    _fresh_session()
    flash("You're signed out. Take care.", "success")
    return redirect(url_for("feeds.home"))


@bp.route("/reset", methods=["GET", "POST"])
@keeps_typed_text(forms.ResetRequestForm, template="auth/reset_request.html", members_only=False)
def request_reset(typed: TypedText) -> Any:
    """Ask for a password-reset link by email."""

    def send_link() -> bool:
        limits.check_reset_request(_visitor())
        services.request_password_reset(typed.form.email.data)
        return True

    if typed.attempt(send_link):
        return render_template("auth/reset_sent.html", email=typed.form.email.data)
    _give_device_id()
    return typed.render()


@bp.route("/reset/<token>", methods=["GET", "POST"])
@keeps_typed_text(forms.NewPasswordForm, template="auth/reset_form.html", members_only=False)
def reset_password(typed: TypedText, token: str) -> Any:
    """Choose a new password from an emailed link."""
    try:
        user = services.user_for_reset_token(token)
    except ForumError as error:
        return render_template("auth/reset_invalid.html", message=error.message), 400

    def reset() -> bool:
        limits.check_new_password(_visitor())
        services.reset_password(token, typed.form.password.data)
        return True

    if typed.attempt(reset):
        flash("Your password is changed. Please sign in with it.", "success")
        return redirect(url_for("auth.login"))
    _give_device_id()
    return typed.render(user=user)


@bp.get("/settings")
@login_required
def settings() -> str:
    """The member's account: pseudonym, email, password and signed-in browsers."""
    return _render_settings()


def _render_settings(password_form: forms.ChangePasswordForm | None = None, status: int = 200) -> Any:
    return render_template(
        "auth/settings.html",
        password_form=password_form or forms.ChangePasswordForm(formdata=None),
        sessions_form=forms.ConfirmForm(formdata=None),
        login_sessions=services.active_sessions(current_user),
        current_token_hash=sessions.hash_token(current_user.get_id() or ""),
    ), status


@bp.post("/settings/password")
@login_required
@keeps_typed_text(forms.ChangePasswordForm, template="auth/settings.html")
def change_password(typed: TypedText) -> Any:
    """Change the password; every other browser is signed out."""
    form = typed.form
    ended = typed.attempt(
        lambda: services.change_password(
            current_user, current=form.current.data, new=form.password.data, keep_token=current_user.get_id()
        )
    )
    if ended is not None:
        flash(f"Password changed. {ended} other browser{'s' if ended != 1 else ''} signed out.", "success")
        return redirect(url_for("auth.settings"))
    return _render_settings(form, 200)


@bp.post("/settings/sessions")
@login_required
def sign_out_elsewhere() -> Response:
    """Sign out every other browser."""
    form = forms.ConfirmForm()
    if form.validate_on_submit():
        ended = services.sign_out_other_sessions(current_user, current_user.get_id())
        flash(f"{ended} other browser{'s' if ended != 1 else ''} signed out.", "success")
    return redirect(url_for("auth.settings"))


@bp.route("/settings/delete", methods=["GET", "POST"])
@login_required
@keeps_typed_text(forms.DeleteAccountForm, template="auth/delete.html")
def delete_account(typed: TypedText) -> Any:
    """Delete the account, choosing what happens to the member's stories."""
    form = typed.form

    def delete() -> bool:
        services.delete_account(
            current_user, password=form.password.data, keep_stories=form.keep_stories.data == "keep"
        )
        return True

    if typed.attempt(delete):
        logout_user()
        session.clear()
        flash("Your account is deleted. Thank you for being part of Village.", "success")
        return redirect(url_for("feeds.home"))
    return typed.render()
