"""Moderation pages for members (reporting, appeals) and the moderators' words, audit log, settings and team.

The queue and its decisions are in queue_routes, actions on members in member_routes; all on this blueprint.
"""

from __future__ import annotations

from typing import Any

import click
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from forum.errors import ForumError, NotFound, put_errors
from forum.extensions import db
from forum.jobs import services as job_services
from forum.models import Status, WatchedWord, utcnow
from forum.moderation import alerts, forms, members, queries, services, trust, words
from forum.moderation.targets import load_target
from forum.params import row_id
from forum.permissions import moderator_required
from forum.typed_text import TypedText, keeps_typed_text

bp = Blueprint("moderation", __name__)


def end_finished_restrictions() -> None:
    """Tell a member, once, that their suspension or silence is over (no query unless they had one)."""
    if not current_user.is_authenticated:
        return
    now = utcnow()
    if any(
        until is not None and until <= now
        for until in (current_user.suspended_until, current_user.silenced_until)
    ):
        members.end_finished_restrictions(current_user)


def moderation_helpers() -> dict[str, Any]:
    return {
        "REASON_LABELS": services.REASON_LABELS,
        "TRUST_LABELS": trust.LABELS,
        "utcnow": utcnow,
        # the header badge: a function, so pages that never show it never count
        "moderation_waiting": alerts.waiting_count,
    }


AUDIT_PAGE = 50


@bp.cli.command("digest")
def digest_command() -> None:
    """Tell every on-duty moderator how many items wait (the daily digest of non-welfare reports)."""
    told = alerts.queue_moderator_digest()
    db.session.commit()
    click.echo(f"Told {told} moderator{'s' if told != 1 else ''}.")


def errors_to_flash(error: ForumError) -> None:
    for _field, message in error.errors:
        flash(message, "error")


def form_errors_to_flash(form: Any) -> None:
    """A form that did not validate: each message by its field's label (never a bare 400)."""
    for name, messages in form.errors.items():
        if name == "csrf_token":
            flash("This page was open too long. Please try again.", "error")
            continue
        label = getattr(form, name).label.text if hasattr(form, name) else name
        for message in messages:
            flash(f"{label}: {message}", "error")


def safe_back(default: str) -> str:
    """The page the form came from when it is on this site, else default."""
    target = request.form.get("next") or ""
    if target.startswith("/") and not target.startswith("//"):
        return target
    return default


def _back_to_story(target: Any) -> str:
    return url_for("stories.show", story_id=target.story.id) + target.url_anchor()


@bp.route("/report/<kind>/<int:item_id>", methods=["GET", "POST"])
@login_required
@keeps_typed_text(forms.ReportForm, template="moderation/report.html")
def report(typed: TypedText, kind: str, item_id: int) -> Any:
    """A member reports a story, reply or update."""
    target = load_target(kind, item_id)
    if target.item.status != Status.PUBLISHED.value:
        raise NotFound("We couldn't find that post.")
    form = typed.form
    sent = typed.attempt(
        lambda: services.report(current_user, target, reason=form.reason.data, note=form.note.data or "")
    )
    if sent is not None:
        flash(
            "Thank you. A moderator will look at this soon, and we'll let you know what we decided.",
            "success",
        )
        return redirect(_back_to_story(target))
    return typed.render(target=target)


@bp.route("/appeal/<kind>/<int:item_id>", methods=["GET", "POST"])
@login_required
@keeps_typed_text(forms.AppealForm, template="moderation/appeal.html")
def appeal(typed: TypedText, kind: str, item_id: int) -> Any:
    """The author of a removed post asks for another look, once."""
    target = load_target(kind, item_id)
    if target.author_id != current_user.id:
        abort(403)
    if typed.attempt(lambda: services.appeal(current_user, target, typed.form.message.data)) is not None:
        flash("Your appeal is with the moderators. We'll let you know what they decide.", "success")
        return redirect(url_for("notifications.index"))
    return typed.render(target=target)


@bp.route("/moderation/words", methods=["GET", "POST"])
@moderator_required
def watched_words() -> Any:
    """Manage watched words and phrases."""
    form = forms.WatchedWordForm()
    if form.validate_on_submit():
        try:
            word = words.add_watched_word(current_user, form.phrase.data, form.action.data)
        except ForumError as error:
            db.session.rollback()
            put_errors(form, error)
        else:
            flash(f"“{word.phrase}” added.", "success")
            return redirect(url_for("moderation.watched_words"))
    watched = list(db.session.scalars(queries.watched_words()))
    return render_template("moderation/words.html", form=form, words=watched, confirm=forms.ConfirmForm())


@bp.post("/moderation/words/<int:word_id>/delete")
@moderator_required
def delete_word(word_id: int) -> Response:
    """Take a phrase off the watched list."""
    word = db.get_or_404(WatchedWord, word_id)
    if forms.ConfirmForm().validate_on_submit():
        words.remove_watched_word(current_user, word)
    return redirect(url_for("moderation.watched_words"))


@bp.get("/moderation/audit")
@moderator_required
def audit_log() -> str:
    """Browse and filter the audit log (read-only: nothing here can edit or delete it)."""
    query = queries.audit_entries(
        action=request.args.get("action", ""),
        moderator=request.args.get("moderator", ""),
        member=request.args.get("member", ""),
        before=row_id(request.args.get("before")),
    )
    entries = list(db.session.scalars(query.limit(AUDIT_PAGE)))
    actions = list(db.session.scalars(queries.audit_actions()))
    return render_template("moderation/audit.html", entries=entries, actions=actions, page_size=AUDIT_PAGE)


@bp.route("/moderation/settings", methods=["GET", "POST"])
@moderator_required
def settings() -> Any:
    """The welfare message and whether new members' first posts need approval."""
    form = forms.SettingsForm()
    if form.validate_on_submit():
        services.set_setting(current_user, "welfare_message", form.welfare_message.data.strip())
        services.set_setting(
            current_user, "approve_first_posts", "1" if form.approve_first_posts.data else "0"
        )
        flash("Settings saved.", "success")
        return redirect(url_for("moderation.settings"))
    if request.method == "GET":
        form.welfare_message.data = services.welfare_message()
        form.approve_first_posts.data = services.get_setting("approve_first_posts") == "1"
    return render_template("moderation/settings.html", form=form, resources=services.support_resources())


@bp.route("/moderation/team", methods=["GET", "POST"])
@moderator_required
def team() -> Any:
    """Admins promote members to moderators and back."""
    if not current_user.is_admin:
        abort(403)
    form = forms.ConfirmForm()
    if request.method == "POST" and form.validate_on_submit():
        member = db.session.scalar(queries.member_named(request.form.get("pseudonym") or ""))
        if member is None:
            flash("No member has that pseudonym.", "error")
        else:
            try:
                services.set_role(current_user, member, request.form.get("role", ""))
                flash(f"{member.pseudonym} is now a {member.role}.", "success")
            except ForumError as error:
                errors_to_flash(error)
        return redirect(url_for("moderation.team"))
    staff = list(db.session.scalars(queries.staff()))
    failed = list(db.session.scalars(job_services.failed_jobs()))
    return render_template(
        "moderation/team.html", staff=staff, form=form, job_counts=job_services.counts(), failed_jobs=failed
    )


@bp.post("/moderation/team/jobs/retry")
@moderator_required
def retry_jobs() -> Response:
    """Admins send background jobs that failed every attempt round again (one, or all)."""
    if not current_user.is_admin:
        abort(403)
    if forms.ConfirmForm().validate_on_submit():
        job_id = row_id(request.form.get("job_id"))
        count = job_services.retry_failed(None if job_id is None else [job_id])
        flash(f"{count} job(s) queued again.", "success")
    return redirect(url_for("moderation.team"))
