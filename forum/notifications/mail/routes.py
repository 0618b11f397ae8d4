"""Mail settings, confirming an address, and one-click unsubscribe (which needs no sign-in)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from forum.errors import ForumError, put_errors
from forum.extensions import csrf, limiter
from forum.notifications.mail import kinds as K
from forum.notifications.mail import prefs as P
from forum.notifications.mail import services
from forum.notifications.mail.forms import ChangeEmailForm, MailSettingsForm

bp = Blueprint("mail", __name__)


def mail_helpers() -> dict[str, Any]:
    def mail_confirmed() -> bool:
        """Whether the signed-in member's address is confirmed (read only where a template asks)."""
        return bool(current_user.is_authenticated and P.is_verified(current_user, P.get(current_user.id)))

    return {"mail_confirmed": mail_confirmed}


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _render(form: MailSettingsForm, status: int = 200, email_form: ChangeEmailForm | None = None) -> Any:
    prefs = P.get(current_user.id)
    return render_template(
        "notifications/settings.html",
        form=form,
        email_form=email_form or ChangeEmailForm(formdata=None),
        verified=P.is_verified(current_user, prefs),
        resend_form=FlaskForm(formdata=None),
        site_timezone=P.site_timezone_name(),
    ), status


def _filled_settings() -> MailSettingsForm:
    prefs = P.get(current_user.id)
    form = MailSettingsForm(formdata=None)
    for kind in K.KINDS:
        form[f"kind_{kind}"].data = P.mode(prefs, kind)
    form.digest.data = prefs.digest
    form.timezone.data = prefs.timezone
    form.quiet_start.data, form.quiet_end.data = _hhmm(prefs.quiet_start), _hhmm(prefs.quiet_end)
    form.follow_replied.data = prefs.follow_replied
    return form


@bp.get("/settings/mail")
@login_required
def settings() -> Any:
    return _render(_filled_settings())


@bp.post("/settings/mail/email")
@login_required
@limiter.limit("10 per hour", methods=["POST"])
def change_email() -> Any:
    """A new address; it is confirmed by a link sent to it before any notification mail goes there."""
    form = ChangeEmailForm()
    if not form.validate_on_submit():
        return _render(_filled_settings(), 400 if form.csrf_token.errors else 200, email_form=form)
    try:
        changed = services.change_email(
            current_user, email=form.email.data or "", password=form.password.data or ""
        )
    except ForumError as error:
        status = put_errors(form, error)
        return _render(_filled_settings(), status, email_form=form)
    if changed:
        flash("Your email is changed. Please confirm it: we've sent a link to the new address.", "success")
    return redirect(url_for(".settings"))


@bp.post("/settings/mail")
@login_required
def save_settings() -> Any:
    form = MailSettingsForm()
    if not form.validate_on_submit():
        return _render(form, 400 if form.csrf_token.errors else 200)
    try:
        P.update(
            current_user,
            modes={kind: form[f"kind_{kind}"].data for kind in K.KINDS},
            timezone=form.timezone.data or "",
            quiet_start=form.quiet_start.data or "",
            quiet_end=form.quiet_end.data or "",
            digest=form.digest.data,
            follow_replied=bool(form.follow_replied.data),
        )
    except ForumError as error:
        return _render(form, put_errors(form, error))
    flash("Your mail settings are saved.", "success")
    return redirect(url_for(".settings"))


@bp.post("/settings/mail/confirm")
@login_required
@limiter.limit("5 per hour", methods=["POST"])
def resend_confirmation() -> Response:
    FlaskForm().validate_on_submit()
    if services.request_confirmation(current_user):
        flash("We've sent a new confirmation link. It may take a minute or two to arrive.", "success")
    else:
        flash("Your address is already confirmed.", "success")
    return redirect(url_for(".settings"))


@bp.get("/mail/confirm/<token>")
def verify(token: str) -> Any:
    """The link in the confirmation mail; works signed in or not (the token names member and address)."""
    ok = services.confirm_email(token)
    return render_template("notifications/confirmed.html", ok=ok), 200 if ok else 400


@bp.route("/mail/unsubscribe/<token>", methods=["GET", "POST"])
# The signed token is the authority: RFC 8058 one-click POSTs come from mail providers, not from our pages.
@csrf.exempt  # nosemgrep - see .ci/qa-exceptions.md
@limiter.limit("30 per minute", methods=["POST"])
def unsubscribe(token: str) -> Any:
    """GET asks (link scanners must not unsubscribe anyone); POST turns that kind of mail off."""
    found = services.read_unsubscribe(token)
    if found is None:
        return render_template("notifications/unsubscribe.html", invalid=True), 400
    user_id, kind = found
    label = K.KINDS[kind].label if kind in K.KINDS else "The digest"
    if request.method == "POST":
        services.unsubscribe(user_id, kind)
        return render_template("notifications/unsubscribe.html", done=True, label=label)
    return render_template("notifications/unsubscribe.html", label=label, token=token)
