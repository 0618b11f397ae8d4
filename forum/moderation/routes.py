"""Moderation pages: reporting and appeals for members; the queue, actions, words, audit log and team for moderators."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from forum.errors import ForumError, NotFound, ValidationFailed, rerender_on_csrf_error
from forum.extensions import db
from forum.models import Appeal, AuditEntry, Role, Status, Story, User, WatchedWord, utcnow
from forum.moderation import forms, queue, services
from forum.moderation.targets import load_target
from forum.params import row_id

bp = Blueprint("moderation", __name__)


@bp.before_app_request
def end_finished_suspension() -> None:
    """Tell a member, once, that their suspension is over (no query unless they were suspended)."""
    if (
        current_user.is_authenticated
        and current_user.suspended_until is not None
        and current_user.suspended_until <= utcnow()
    ):
        services.end_suspension(current_user)


@bp.app_context_processor
def moderation_helpers() -> dict[str, Any]:
    return {"REASON_LABELS": services.REASON_LABELS, "utcnow": utcnow}


ITEM_ACTIONS = {"dismiss", "hide", "remove", "restore", "approve", "lock", "unlock", "support", "claim"}
MEMBER_ACTIONS = {"warn", "suspend", "unsuspend", "ban"}
AUDIT_PAGE = 50


def moderator_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Signed-in moderators and admins only; everyone else gets a 403."""

    @wraps(view)
    @login_required
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_moderator:
            abort(403)
        return view(*args, **kwargs)

    return wrapper


def _errors_to_flash(error: ForumError) -> None:
    for _field, message in error.errors:
        flash(message, "error")


def _back_to_story(target: Any) -> str:
    return url_for("stories.show", story_id=target.story.id) + target.url_anchor()


@bp.route("/report/<kind>/<int:item_id>", methods=["GET", "POST"])
@login_required
@rerender_on_csrf_error
def report(kind: str, item_id: int) -> Any:
    """A member reports a story, reply or update."""
    target = load_target(kind, item_id)
    if target.item.status != Status.PUBLISHED.value:
        raise NotFound("We couldn't find that post.")
    form = forms.ReportForm()
    if form.validate_on_submit() and not g.get("csrf_expired"):
        try:
            services.report(current_user, target, reason=form.reason.data, note=form.note.data or "")
        except ForumError as error:
            form.form_errors.extend(message for _f, message in error.errors)
        else:
            flash(
                "Thank you. A moderator will look at this soon, and we'll let you know what we decided.",
                "success",
            )
            return redirect(_back_to_story(target))
    return render_template("moderation/report.html", form=form, target=target)


@bp.route("/appeal/<kind>/<int:item_id>", methods=["GET", "POST"])
@login_required
@rerender_on_csrf_error
def appeal(kind: str, item_id: int) -> Any:
    """The author of a removed post asks for another look, once."""
    target = load_target(kind, item_id)
    if target.author_id != current_user.id:
        abort(403)
    form = forms.AppealForm()
    if form.validate_on_submit() and not g.get("csrf_expired"):
        try:
            services.appeal(current_user, target, form.message.data)
        except ForumError as error:
            form.form_errors.extend(message for _f, message in error.errors)
        else:
            flash("Your appeal is with the moderators. We'll let you know what they decide.", "success")
            return redirect(url_for("notifications.index"))
    return render_template("moderation/appeal.html", form=form, target=target)


@bp.get("/moderation", endpoint="queue")
@moderator_required
def queue_page() -> str:
    """The review queue: welfare reports first, then everything else by priority."""
    items = queue.open_queue()
    return render_template(
        "moderation/queue.html",
        welfare=[i for i in items if i.welfare],
        items=[i for i in items if not i.welfare],
        pending=queue.pending_approval(),
        appeals=queue.open_appeals(),
        form=forms.ItemActionForm(),
        confirm=forms.ConfirmForm(),
    )


@bp.get("/moderation/<kind>/<int:item_id>")
@moderator_required
def item(kind: str, item_id: int) -> str:
    """One reported item with its thread, reports, author history and notes."""
    target = load_target(kind, item_id)
    flags = [i for i in queue.open_queue() if i.target.kind == kind and i.target.id == item_id]
    # Written as "Anonymous parent": nothing of the member (join date, notes, her other posts' history, her
    # id in a form) reaches the page; only the audited reveal says who it is.
    author = None if target.is_anonymous else target.author
    history = (
        queue.identity_history(target)
        if target.is_anonymous
        else list(
            db.session.scalars(
                sa.select(AuditEntry)
                .where(AuditEntry.subject_id == author.id)
                .order_by(AuditEntry.id.desc())
                .limit(20)
            )
        )
        if author
        else []
    )
    return render_template(
        "moderation/item.html",
        target=target,
        entry=flags[0] if flags else None,
        author=author,
        history=history,
        form=forms.ItemActionForm(),
        member_form=forms.MemberActionForm(),
        note_form=forms.NoteForm(),
        edit_form=forms.TitleTagsForm(
            title=target.story.title, tags=", ".join(t.name for t in target.story.tags)
        ),
        notes=queue_notes(author),
    )


def queue_notes(author: User | None) -> list[Any]:
    from forum.models import ModeratorNote

    if author is None:
        return []
    return list(
        db.session.scalars(
            sa.select(ModeratorNote)
            .where(ModeratorNote.member_id == author.id)
            .order_by(ModeratorNote.created_at.desc())
        )
    )


def _item_action(target: Any, action: str, form: forms.ItemActionForm) -> None:
    if action == "claim":
        services.claim(current_user, target)
    elif action == "support":
        services.send_support(current_user, target)
    else:
        services.act_on_item(
            current_user, target, action, reason=form.reason.data or "", message=form.message.data or ""
        )


@bp.post("/moderation/<kind>/<int:item_id>/act")
@moderator_required
def act(kind: str, item_id: int) -> Response:
    """Act on one item (dismiss, hide, remove, restore, approve, lock, unlock, send support, claim)."""
    action = request.form.get("action", "")
    form = forms.ItemActionForm()
    if action not in ITEM_ACTIONS or not form.validate_on_submit():
        abort(400)
    target = load_target(kind, item_id)
    try:
        _item_action(target, action, form)
    except ForumError as error:
        _errors_to_flash(error)
        return redirect(url_for("moderation.item", kind=kind, item_id=item_id))
    flash("Claimed for 15 minutes." if action == "claim" else f"Done: {action}.", "success")
    stay = action == "claim" or request.form.get("back") == "item"
    return redirect(
        url_for("moderation.item", kind=kind, item_id=item_id) if stay else url_for("moderation.queue")
    )


@bp.post("/moderation/bulk")
@moderator_required
def bulk() -> Response:
    """Apply one action (dismiss, hide, remove, restore) to every ticked item."""
    action = request.form.get("action", "")
    form = forms.ItemActionForm()
    if action not in {"dismiss", "hide", "remove", "restore"} or not form.validate_on_submit():
        abort(400)
    done = 0
    for key in request.form.getlist("items")[:100]:
        kind, _, raw_id = key.partition("-")
        try:
            _item_action(load_target(kind, int(raw_id)), action, form)
            done += 1
        except (ValueError, ForumError) as error:
            if isinstance(error, ForumError):
                _errors_to_flash(error)
            break
    flash(f"{action.capitalize()}: {done} item{'s' if done != 1 else ''}.", "success")
    return redirect(url_for("moderation.queue"))


@bp.post("/moderation/<kind>/<int:item_id>/edit")
@moderator_required
def edit_story(kind: str, item_id: int) -> Response:
    """Correct a story's title or tags."""
    target = load_target(kind, item_id)
    form = forms.TitleTagsForm()
    if form.validate_on_submit():
        try:
            services.edit_title_and_tags(
                current_user, target.story, title=form.title.data or "", tags=form.tags.data or ""
            )
            flash("Title and tags updated.", "success")
        except ForumError as error:
            _errors_to_flash(error)
    return redirect(url_for("moderation.item", kind=kind, item_id=item_id))


@bp.post("/moderation/members/<int:user_id>/act")
@moderator_required
def member_action(user_id: int) -> Response:
    """Warn, suspend, lift a suspension or ban a member."""
    member = db.get_or_404(User, user_id)
    action = request.form.get("action", "")
    form = forms.MemberActionForm()
    if action not in MEMBER_ACTIONS or not form.validate_on_submit():
        abort(400)
    kind, raw_id = request.form.get("kind"), request.form.get("item_id", "")
    target = load_target(kind, int(raw_id)) if kind and raw_id.isdigit() else None
    try:
        services.act_on_member(
            current_user,
            member,
            action,
            reason=form.reason.data or "",
            days=form.days.data or 0,
            target=target,
        )
        flash(f"Done: {action}.", "success")
    except ForumError as error:
        _errors_to_flash(error)
    return redirect(
        request.referrer
        if request.referrer and request.referrer.startswith(request.host_url)
        else url_for("moderation.queue")
    )


@bp.post("/moderation/<kind>/<int:item_id>/author")
@moderator_required
def author_action(kind: str, item_id: int) -> Response:
    """Warn, suspend or ban the author of an anonymous post without learning (or sending back) who it is."""
    target = load_target(kind, item_id)
    action = request.form.get("action", "")
    form = forms.MemberActionForm()
    author = target.author
    if action not in {"warn", "suspend", "ban"} or not form.validate_on_submit():
        abort(400)
    try:
        if author is None:
            raise ValidationFailed([(None, "This post has no member to act on.")])
        services.act_on_member(
            current_user,
            author,
            action,
            reason=form.reason.data or "",
            days=form.days.data or 0,
            target=target,
        )
        flash(f"Done: {action}.", "success")
    except ForumError as error:
        _errors_to_flash(error)
    return redirect(url_for("moderation.item", kind=kind, item_id=item_id))


@bp.post("/moderation/members/<int:user_id>/notes")
@moderator_required
def add_note(user_id: int) -> Response:
    """Add a private note about a member."""
    member = db.get_or_404(User, user_id)
    form = forms.NoteForm()
    if form.validate_on_submit():
        services.add_note(current_user, member, form.body.data)
        flash("Note saved.", "success")
    return redirect(
        request.referrer
        if request.referrer and request.referrer.startswith(request.host_url)
        else url_for("moderation.queue")
    )


@bp.post("/moderation/appeals/<int:appeal_id>")
@moderator_required
def decide_appeal(appeal_id: int) -> Response:
    """Restore the post or uphold its removal."""
    entry = db.get_or_404(Appeal, appeal_id)
    if entry.decided_at is not None or not forms.ConfirmForm().validate_on_submit():
        abort(400)
    try:
        services.decide_appeal(
            current_user,
            entry,
            load_target(entry.target_type, entry.target_id),
            restore=request.form.get("decision") == "restore",
        )
        flash("Appeal decided.", "success")
    except ForumError as error:
        _errors_to_flash(error)
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


@bp.route("/moderation/words", methods=["GET", "POST"])
@moderator_required
def watched_words() -> Any:
    """Manage watched words and phrases."""
    form = forms.WatchedWordForm()
    if form.validate_on_submit():
        phrase = " ".join(form.phrase.data.split()).casefold()
        if db.session.scalar(sa.select(WatchedWord.id).where(WatchedWord.phrase == phrase)):
            form.phrase.errors = [*form.phrase.errors, "That phrase is already on the list."]
        else:
            db.session.add(WatchedWord(phrase=phrase, action=form.action.data))
            services.audit(current_user, "watched-word", reason=f"added {phrase!r} ({form.action.data})")
            db.session.commit()
            flash(f"“{phrase}” added.", "success")
            return redirect(url_for("moderation.watched_words"))
    words = list(db.session.scalars(sa.select(WatchedWord).order_by(WatchedWord.phrase)))
    return render_template("moderation/words.html", form=form, words=words, confirm=forms.ConfirmForm())


@bp.post("/moderation/words/<int:word_id>/delete")
@moderator_required
def delete_word(word_id: int) -> Response:
    """Take a phrase off the watched list."""
    word = db.get_or_404(WatchedWord, word_id)
    if forms.ConfirmForm().validate_on_submit():
        services.audit(current_user, "watched-word", reason=f"removed {word.phrase!r}")
        db.session.delete(word)
        db.session.commit()
    return redirect(url_for("moderation.watched_words"))


@bp.get("/moderation/audit")
@moderator_required
def audit_log() -> str:
    """Browse and filter the audit log (read-only: nothing here can edit or delete it)."""
    query = sa.select(AuditEntry).order_by(AuditEntry.id.desc())
    action = request.args.get("action", "")
    if action:
        query = query.where(AuditEntry.action == action)
    for arg, column in (("moderator", AuditEntry.actor_id), ("member", AuditEntry.subject_id)):
        name = (request.args.get(arg) or "").strip().lower()
        if name:
            query = query.where(column.in_(sa.select(User.id).where(User.pseudonym_key == name)))
    before = row_id(request.args.get("before"))
    if before:
        query = query.where(AuditEntry.id < before)
    entries = list(db.session.scalars(query.limit(AUDIT_PAGE)))
    actions = list(db.session.scalars(sa.select(AuditEntry.action).distinct().order_by(AuditEntry.action)))
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
        member = db.session.scalar(
            sa.select(User).where(
                User.pseudonym_key == (request.form.get("pseudonym") or "").strip().lower(),
                User.deleted_at.is_(None),
            )
        )
        if member is None:
            flash("No member has that pseudonym.", "error")
        else:
            try:
                services.set_role(current_user, member, request.form.get("role", ""))
                flash(f"{member.pseudonym} is now a {member.role}.", "success")
            except ForumError as error:
                _errors_to_flash(error)
        return redirect(url_for("moderation.team"))
    staff = list(
        db.session.scalars(
            sa.select(User)
            .where(User.role.in_([Role.MODERATOR.value, Role.ADMIN.value]))
            .order_by(User.pseudonym_key)
        )
    )
    return render_template("moderation/team.html", staff=staff, form=form)
