"""The review queue: tabs, filters, one-tap decisions (alone or in bulk), claims, assignment, item pages."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from forum.errors import ForumError
from forum.extensions import db
from forum.models import FlagReason, User
from forum.moderation import alerts, claims, decisions, forms, queries, queue, services
from forum.moderation.routes import bp, errors_to_flash, form_errors_to_flash, safe_back
from forum.moderation.targets import Target, load_target
from forum.params import row_id
from forum.permissions import moderator_required

ITEM_ACTIONS = {
    "dismiss",
    "hide",
    "remove",
    "restore",
    "approve",
    "lock",
    "unlock",
    "support",
    "claim",
    "takeover",
}
BULK_LIMIT = 100


def _moderators() -> list[User]:
    return list(db.session.scalars(queries.staff(include_deleted=False)))


@bp.get("/moderation", endpoint="queue")
@moderator_required
def queue_page() -> str:
    """The queue: needs review / reviewed / all, filtered and sorted; held posts and appeals below."""
    filters = queue.Filters.from_args(request.args)
    items = queue.load_queue(filters, current_user)
    return render_template(
        "moderation/queue.html",
        filters=filters,
        items=items,
        pending=queue.pending_approval() if filters.tab != "reviewed" else [],
        appeals=queue.open_appeals() if filters.tab != "reviewed" else [],
        waiting=alerts.waiting_count(),
        form=forms.DecisionForm(),
        confirm=forms.ConfirmForm(),
        moderators=_moderators(),
        decision_labels=decisions.LABELS,
        durations=decisions.DURATIONS,
    )


def _entry(target: Target) -> queue.QueueItem | None:
    """The item's open reports, or else its reviewed ones."""
    for tab in ("open", "reviewed"):
        entries = queue.load_queue(queue.Filters(tab=tab), current_user, only=(target.kind, target.id))
        if entries:
            return entries[0]
    return None


@bp.get("/moderation/<kind>/<int:item_id>")
@moderator_required
def item(kind: str, item_id: int) -> str:
    """One reported item with its thread, reports, edit history, author history and notes."""
    target = load_target(kind, item_id)
    # Written as "Anonymous parent": nothing of the member (join date, notes, her other posts' history, her
    # id in a form, her trust level) reaches the page; only the audited reveal says who it is.
    author = None if target.is_anonymous else target.author
    if target.is_anonymous:
        history = queue.identity_history(target)
    elif author:
        history = list(db.session.scalars(queries.member_history(author.id).limit(20)))
    else:
        history = []
    notes = list(db.session.scalars(queries.member_notes(author.id))) if author else []
    return render_template(
        "moderation/item.html",
        target=target,
        entry=_entry(target),
        author=author,
        history=history,
        form=forms.ItemActionForm(),
        decision_form=forms.DecisionForm(),
        decision_labels=decisions.LABELS,
        durations=decisions.DURATIONS,
        member_form=forms.MemberActionForm(),
        note_form=forms.NoteForm(),
        edit_form=forms.TitleTagsForm(
            title=target.story.title, tags=", ".join(t.name for t in target.story.tags)
        ),
        notes=notes,
        moderators=_moderators(),
    )


def _is_welfare(target: Target) -> bool:
    return bool(
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(queue.Flag)
            .where(
                queue.Flag.target_type == target.kind,
                queue.Flag.target_id == target.id,
                queue.Flag.resolved_at.is_(None),
                queue.Flag.reason == FlagReason.AT_RISK.value,
            )
        )
    )


def _confirm_page(targets: list[Target], decision: str, form: forms.DecisionForm, back: str) -> str:
    summary = (
        decisions.spammer_summary(targets[0]) if decision == "delete-spammer" and len(targets) == 1 else ""
    )
    return render_template(
        "moderation/confirm.html",
        targets=targets,
        decision=decision,
        label=decisions.LABELS[decision],
        form=form,
        summary=summary,
        back=back,
        items=request.form.getlist("items"),
    )


@bp.post("/moderation/<kind>/<int:item_id>/decide")
@moderator_required
def decide(kind: str, item_id: int) -> Any:
    """One decision on one item; destructive ones (and any on a welfare item) ask for confirmation first."""
    target = load_target(kind, item_id)
    back = safe_back(url_for("moderation.queue"))
    form = forms.DecisionForm()
    decision = request.form.get("decision", "")
    if decision not in decisions.DECISIONS:
        flash("Please choose what to do.", "error")
        return redirect(back)
    if not form.validate_on_submit():
        form_errors_to_flash(form)
        return redirect(back)
    welfare = _is_welfare(target)
    if decisions.needs_confirmation(decision, welfare=welfare) and request.form.get("confirmed") != "1":
        return _confirm_page([target], decision, form, back)
    try:
        done = decisions.decide(
            current_user,
            target,
            decision,
            reason=form.reason.data or "",
            message=form.message.data or "",
            days=form.days.data or 0,
        )
    except ForumError as error:
        db.session.rollback()
        errors_to_flash(error)
        return redirect(back)
    flash(done, "success")
    return redirect(back)


@bp.post("/moderation/bulk")
@moderator_required
def bulk() -> Any:
    """One decision for every ticked item (each in its own transaction; stops at the first refusal)."""
    back = safe_back(url_for("moderation.queue"))
    form = forms.DecisionForm()
    decision = request.form.get("decision") or request.form.get("action", "")
    if decision not in decisions.DECISIONS or decision == "support":
        flash("Please choose what to do with the ticked items.", "error")
        return redirect(back)
    if not form.validate_on_submit():
        form_errors_to_flash(form)
        return redirect(back)
    targets = []
    for key in request.form.getlist("items")[:BULK_LIMIT]:
        kind, _, raw_id = key.partition("-")
        if kind in queue.KINDS and raw_id.isdigit():
            try:
                targets.append(load_target(kind, int(raw_id)))
            except ForumError:
                continue
    if not targets:
        flash("Tick at least one item first.", "error")
        return redirect(back)
    confirm = any(decisions.needs_confirmation(decision, welfare=_is_welfare(t)) for t in targets)
    if confirm and request.form.get("confirmed") != "1":
        return _confirm_page(targets, decision, form, back)
    done = 0
    for target in targets:
        try:
            decisions.decide(
                current_user,
                target,
                decision,
                reason=form.reason.data or "",
                message=form.message.data or "",
                days=form.days.data or 0,
            )
            done += 1
        except ForumError as error:
            db.session.rollback()
            errors_to_flash(error)
            break
    flash(f"{decisions.LABELS[decision]}: {done} item{'s' if done != 1 else ''}.", "success")
    return redirect(back)


@bp.post("/moderation/<kind>/<int:item_id>/act")
@moderator_required
def act(kind: str, item_id: int) -> Response | str:
    """The item page's tools: claim or take over, lock or unlock, and the post decisions."""
    action = request.form.get("action", "")
    form = forms.ItemActionForm()
    if action not in ITEM_ACTIONS:
        flash("Unknown action.", "error")
        return redirect(url_for("moderation.item", kind=kind, item_id=item_id))
    if not form.validate_on_submit():
        form_errors_to_flash(form)
        return redirect(url_for("moderation.item", kind=kind, item_id=item_id))
    target = load_target(kind, item_id)
    # "Send support" sits among these on a welfare item: anything else there is confirmed first.
    if (
        action in decisions.ITEM_DECISIONS
        and decisions.needs_confirmation(action, welfare=_is_welfare(target))
        and request.form.get("confirmed") != "1"
    ):
        back = url_for("moderation.item", kind=kind, item_id=item_id)
        return _confirm_page([target], action, forms.DecisionForm(), back)
    try:
        if action in ("claim", "takeover"):
            claims.claim(current_user, target, take_over=action == "takeover")
        elif action == "support":
            services.send_support(current_user, target)
        else:
            services.act_on_item(
                current_user, target, action, reason=form.reason.data or "", message=form.message.data or ""
            )
    except ForumError as error:
        db.session.rollback()
        errors_to_flash(error)
        return redirect(safe_back(url_for("moderation.item", kind=kind, item_id=item_id)))
    if action in ("claim", "takeover"):
        flash(f"Yours for {claims.CLAIM_MINUTES} minutes.", "success")
    else:
        flash(f"Done: {action}.", "success")
    stay = action in ("claim", "takeover") or request.form.get("back") == "item"
    default = url_for("moderation.item", kind=kind, item_id=item_id) if stay else url_for("moderation.queue")
    return redirect(safe_back(default))


@bp.post("/moderation/<kind>/<int:item_id>/assign")
@moderator_required
def assign(kind: str, item_id: int) -> Response:
    """Assign an item to a moderator."""
    target = load_target(kind, item_id)
    assignee_id = row_id(request.form.get("moderator_id"))
    assignee = db.session.get(User, assignee_id) if assignee_id else None
    if not forms.ConfirmForm().validate_on_submit() or assignee is None:
        flash("Choose a moderator to assign it to.", "error")
    else:
        try:
            claims.assign(current_user, target, assignee)
            flash(f"Assigned to {assignee.pseudonym}.", "success")
        except ForumError as error:
            errors_to_flash(error)
    return redirect(safe_back(url_for("moderation.queue")))


@bp.post("/moderation/<kind>/<int:item_id>/edit")
@moderator_required
def edit_story(kind: str, item_id: int) -> Response:
    """Correct a story's title or tags; the author is told."""
    target = load_target(kind, item_id)
    form = forms.TitleTagsForm()
    if form.validate_on_submit():
        try:
            services.edit_title_and_tags(
                current_user,
                target.story,
                title=form.title.data or "",
                tags=form.tags.data or "",
                reason=form.reason.data or "",
            )
            flash("Title and tags updated; the author has been told.", "success")
        except ForumError as error:
            errors_to_flash(error)
    else:
        form_errors_to_flash(form)
    return redirect(url_for("moderation.item", kind=kind, item_id=item_id))


@bp.post("/moderation/duty")
@moderator_required
def duty() -> Response:
    """A moderator goes on or off duty (welfare alerts by email)."""
    if not forms.ConfirmForm().validate_on_submit():
        abort(400)
    alerts.set_on_duty(current_user, request.form.get("on_duty") == "1")
    flash(
        "You're on duty: welfare reports reach you by email at once."
        if current_user.on_duty
        else "You're off duty: no welfare emails until you turn it back on.",
        "success",
    )
    return redirect(url_for("moderation.queue"))
