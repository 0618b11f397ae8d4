"""Moderators' actions on members (warn, suspend, silence, ban), notes, appeals and the audited reveal."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from forum.errors import ForumError, ValidationFailed
from forum.extensions import db
from forum.models import Appeal, Story, User
from forum.moderation import forms, members, services
from forum.moderation.routes import bp, errors_to_flash, form_errors_to_flash
from forum.moderation.targets import Target, load_target
from forum.params import row_id
from forum.permissions import moderator_required


def _referrer_or_queue() -> str:
    if request.referrer and request.referrer.startswith(request.host_url):
        return request.referrer
    return url_for("moderation.queue")


@bp.post("/moderation/members/<int:user_id>/act")
@moderator_required
def member_action(user_id: int) -> Response:
    """Warn, suspend, silence, lift either, or ban a member."""
    member = db.get_or_404(User, user_id)
    action = request.form.get("action", "")
    form = forms.MemberActionForm()
    if action not in members.MEMBER_ACTIONS:
        flash("Unknown action.", "error")
        return redirect(_referrer_or_queue())
    if not form.validate_on_submit():
        form_errors_to_flash(form)
        return redirect(_referrer_or_queue())
    kind, item_id = request.form.get("kind"), row_id(request.form.get("item_id"))
    try:
        target = load_target(kind, item_id) if kind and item_id else None
    except ForumError as error:
        errors_to_flash(error)
        return redirect(_referrer_or_queue())
    _act(member, action, form, target)
    return redirect(_referrer_or_queue())


def _act(member: User | None, action: str, form: forms.MemberActionForm, target: Target | None) -> None:
    """Apply one member action with the form's reason and days, and say how it went."""
    try:
        if member is None:
            raise ValidationFailed([(None, "This post has no member to act on.")])
        members.act_on_member(
            current_user,
            member,
            action,
            reason=form.reason.data or "",
            days=form.days.data or 0,
            target=target,
        )
        flash(f"Done: {action}.", "success")
    except ForumError as error:
        db.session.rollback()
        errors_to_flash(error)


@bp.post("/moderation/<kind>/<int:item_id>/author")
@moderator_required
def author_action(kind: str, item_id: int) -> Response:
    """Warn, suspend, silence or ban the author of an anonymous post without learning (or sending back) who
    it is."""
    target = load_target(kind, item_id)
    action = request.form.get("action", "")
    form = forms.MemberActionForm()
    back = url_for("moderation.item", kind=kind, item_id=item_id)
    if action not in {"warn", "suspend", "silence", "ban"}:
        flash("Unknown action.", "error")
        return redirect(back)
    if not form.validate_on_submit():
        form_errors_to_flash(form)
        return redirect(back)
    _act(target.author, action, form, target)
    return redirect(back)


@bp.post("/moderation/members/<int:user_id>/notes")
@moderator_required
def add_note(user_id: int) -> Response:
    """Add a private note about a member."""
    member = db.get_or_404(User, user_id)
    form = forms.NoteForm()
    if form.validate_on_submit():
        services.add_note(current_user, member, form.body.data)
        flash("Note saved.", "success")
    else:
        form_errors_to_flash(form)
    return redirect(_referrer_or_queue())


@bp.post("/moderation/appeals/<int:appeal_id>")
@moderator_required
def decide_appeal(appeal_id: int) -> Response:
    """Restore the post or uphold its removal."""
    entry = db.get_or_404(Appeal, appeal_id)
    if entry.decided_at is not None or not forms.ConfirmForm().validate_on_submit():
        flash("That appeal has already been decided.", "error")
        return redirect(url_for("moderation.queue"))
    try:
        services.decide_appeal(
            current_user,
            entry,
            load_target(entry.target_type, entry.target_id),
            restore=request.form.get("decision") == "restore",
        )
        flash("Appeal decided.", "success")
    except ForumError as error:
        errors_to_flash(error)
    return redirect(url_for("moderation.queue"))


@bp.post("/moderation/stories/<int:story_id>/reveal")
@moderator_required
def reveal(story_id: int) -> Any:
    """See who wrote an anonymous story (recorded in the audit log)."""
    story = db.get_or_404(Story, story_id)
    if not forms.ConfirmForm().validate_on_submit():
        abort(400)
    author = services.reveal_author(current_user, story)
    flash(
        f"This story was written by {author.pseudonym if author else 'a former member'}. "
        "Your look is recorded in the audit log.",
        "info",
    )
    return redirect(url_for("stories.show", story_id=story.id))
