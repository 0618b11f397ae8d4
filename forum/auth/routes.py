"""Sign-in, registration, password reset, account settings and deletion."""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, flash, g, redirect, render_template, request, session, url_for
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.wrappers import Response

from forum.auth import badges, forms, limits, services, sessions
from forum.errors import ForumError, put_errors, rerender_on_csrf_error

bp = Blueprint("auth", __name__)
bp.add_app_template_global(badges.staff_badge, "staff_badge")

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


def _submitted(form: Any) -> bool:
    return bool(form.validate_on_submit()) and not g.get("csrf_expired")


def _start_browser_session(sign_in: services.SignIn, remember: bool) -> None:
    _fresh_session()  # nothing carried over from before the sign-in (session fixation)
    login_user(sign_in.user, remember=remember)


@bp.route("/register", methods=["GET", "POST"])
@rerender_on_csrf_error
def register() -> Any:
    """Create an account with a pseudonym."""
    if current_user.is_authenticated:
        return redirect(url_for("feeds.home"))
    form = forms.RegisterForm()
    status = 200
    if _submitted(form):
        visitor = _visitor()
        try:
            limits.check_registration(visitor)
            services.register_member(
                pseudonym=form.pseudonym.data, email=form.email.data, password=form.password.data
            )
            limits.account_created(visitor)
            sign_in = services.authenticate(
                form.pseudonym.data, form.password.data, request.user_agent.string
            )
        except ForumError as error:
            status = put_errors(form, error)
        else:
            _start_browser_session(sign_in, remember=False)
            flash(f"Welcome to Village, {sign_in.user.pseudonym}.", "success")
            return redirect(url_for("feeds.home"))
    _give_device_id()
    return render_template("auth/register.html", form=form), status


@bp.route("/login", methods=["GET", "POST"])
@rerender_on_csrf_error
def login() -> Any:
    """Sign in with pseudonym or email."""
    form = forms.LoginForm()
    if request.method == "GET":
        form.next.data = safe_next(request.args.get("next")) or ""
    if current_user.is_authenticated and request.method == "GET":
        return redirect(safe_next(form.next.data) or url_for("feeds.home"))
    status = 200
    if _submitted(form):
        try:
            limits.check_sign_in(_visitor())
            sign_in = services.authenticate(
                form.identifier.data, form.password.data, request.user_agent.string
            )
        except ForumError as error:
            status = put_errors(form, error)
        else:
            _start_browser_session(sign_in, remember=bool(form.remember.data))
            return redirect(safe_next(form.next.data) or url_for("feeds.home"))
    form.password.data = ""
    _give_device_id()
    return render_template("auth/login.html", form=form), status


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
@rerender_on_csrf_error
def request_reset() -> Any:
    """Ask for a password-reset link by email."""
    form = forms.ResetRequestForm()
    status = 200
    if _submitted(form):
        try:
            limits.check_reset_request(_visitor())
        except ForumError as error:
            status = put_errors(form, error)
        else:
            services.request_password_reset(form.email.data)
            return render_template("auth/reset_sent.html", email=form.email.data)
    _give_device_id()
    return render_template("auth/reset_request.html", form=form), status


@bp.route("/reset/<token>", methods=["GET", "POST"])
@rerender_on_csrf_error
def reset_password(token: str) -> Any:
    """Choose a new password from an emailed link."""
    try:
        user = services.user_for_reset_token(token)
    except ForumError as error:
        return render_template("auth/reset_invalid.html", message=error.message), 400
    form = forms.NewPasswordForm()
    status = 200
    if _submitted(form):
        try:
            limits.check_new_password(_visitor())
            services.reset_password(token, form.password.data)
        except ForumError as error:
            status = put_errors(form, error)
        else:
            flash("Your password is changed. Please sign in with it.", "success")
            return redirect(url_for("auth.login"))
    _give_device_id()
    return render_template("auth/reset_form.html", form=form, user=user), status


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
@rerender_on_csrf_error
def change_password() -> Any:
    """Change the password; every other browser is signed out."""
    form = forms.ChangePasswordForm()
    if _submitted(form):
        try:
            ended = services.change_password(
                current_user,
                current=form.current.data,
                new=form.password.data,
                keep_token=current_user.get_id(),
            )
        except ForumError as error:
            put_errors(form, error)
        else:
            flash(
                f"Password changed. {ended} other browser{'s' if ended != 1 else ''} signed out.", "success"
            )
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
@rerender_on_csrf_error
def delete_account() -> Any:
    """Delete the account, choosing what happens to the member's stories."""
    form = forms.DeleteAccountForm()
    if _submitted(form):
        try:
            services.delete_account(
                current_user, password=form.password.data, keep_stories=form.keep_stories.data == "keep"
            )
        except ForumError as error:
            put_errors(form, error)
        else:
            logout_user()
            session.clear()
            flash("Your account is deleted. Thank you for being part of Village.", "success")
            return redirect(url_for("feeds.home"))
    return render_template("auth/delete.html", form=form)
