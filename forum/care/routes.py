"""Care pages: "Get support", the writer's support card, and the admin page for resources and phrases."""

from __future__ import annotations

from typing import Any, cast

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from forum.care import forms, resources, services
from forum.care.export import member_export
from forum.care.feedback import record_verdict, verdicts_for
from forum.care.preferences import block_author_of, my_blocks, save_preferences
from forum.care.preferences import unblock as remove_block
from forum.care.privacy import WARNING, identifying_details
from forum.errors import ForumError, ValidationFailed, put_errors
from forum.extensions import db, limiter
from forum.models import CONTENT_NOTES, CarePhrase, Reply, Story, SupportResource
from forum.moderation.services import get_setting, set_setting
from forum.moderation.targets import load_target
from forum.permissions import admin_required, moderator_required
from forum.visibility import NOTE_MODES, muted_tags, note_modes

bp = Blueprint("care", __name__)


def care_verdicts_for(entries: Any) -> dict[tuple[str, int], bool]:
    """Moderators' verdicts already given on these queue entries, by (kind, id)."""
    return verdicts_for([(e.target.kind, e.target.id) for e in entries])


@bp.post("/moderation/<kind>/<int:item_id>/care-verdict")
@moderator_required
def care_verdict(kind: str, item_id: int) -> Response:
    """A moderator says whether a welfare item's post needed the support card (training data)."""
    verdict = request.form.get("verdict")
    if verdict not in ("right", "not-needed") or not forms.ConfirmForm().validate_on_submit():
        abort(400)
    try:
        target = load_target(kind, item_id)
    except ForumError:
        abort(404)
    record_verdict(current_user, target, verdict == "right")
    flash("Thanks: the care detector will learn from this.", "success")
    return redirect(url_for("moderation.queue") + f"#q-{kind}-{item_id}")


def care_card_for(story: Any) -> Any:
    """The story's support card for its author (None for everyone else)."""
    return services.card_for(story, current_user)


def care_watch_url(item: Any) -> str:
    """On the page the writer lands on after posting: where to ask whether her post brings the card, while its
    classifier check is still pending ("" when there is nothing to wait for, or for anyone else)."""
    if not services.awaits_check(item, current_user):
        return ""
    kind = "story" if isinstance(item, Story) else "reply"
    return url_for("care.landing_card", kind=kind, item_id=item.id)


def privacy_warning(text: str | None) -> str:
    """The gentle identifying-details warning for this text, or "" when there is nothing to say."""
    return WARNING if text and identifying_details(text) else ""


def support_resources_by_region() -> list[Any]:
    return resources.by_region()


@bp.get("/settings/export.<any(json, html):kind>")
@login_required
def export(kind: str) -> Response:
    """Download everything you wrote and your account data."""
    data = member_export(current_user)
    response: Response
    if kind == "json":
        response = jsonify(data)
    else:
        response = Response(render_template("care/export.html", data=data), mimetype="text/html")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="village-{current_user.pseudonym_key}.{kind}"'
    )
    return response


@bp.post("/care/block/<any(story, reply):kind>/<int:item_id>")
@login_required
def block(kind: str, item_id: int) -> Response:
    """Stop seeing the author of this story or reply (and they stop seeing you)."""
    # get() cannot tell which of the two models a conditional class gives back
    item = cast(Story | Reply | None, db.session.get(Story if kind == "story" else Reply, item_id))
    if item is None or not forms.ConfirmForm().validate_on_submit():
        abort(404 if item is None else 400)
    try:
        made = block_author_of(current_user, item)
    except ForumError as error:
        flash(error.message, "error")
        return redirect(
            url_for("stories.show", story_id=item.id if isinstance(item, Story) else item.story_id)
        )
    flash(
        "Blocked. You won't see this story or anything its author writes in it as “Anonymous parent”. "
        "You can undo this in your settings."
        if made.blocked_story_id is not None
        else "Blocked. You won't see each other's stories, replies or reactions any more. "
        "You can undo this in your settings.",
        "success",
    )
    return redirect(url_for("feeds.home"))


@bp.post("/settings/blocks/<int:block_id>/delete")
@login_required
def unblock(block_id: int) -> Response:
    if forms.ConfirmForm().validate_on_submit():
        remove_block(current_user, block_id)
        flash("Unblocked.", "success")
    return redirect(url_for("auth.settings") + "#seeing")


@bp.post("/settings/seeing")
@login_required
def save_seeing() -> Response:
    """Muted tags and how stories with each content note are shown."""
    form = forms.ConfirmForm()
    if form.validate_on_submit():
        notes = {note: request.form.get(f"note-{note}", "collapse") for note in CONTENT_NOTES}
        try:
            save_preferences(
                current_user,
                muted=(request.form.get("muted_tags") or "")[:2000],
                notes={n: m for n, m in notes.items() if m in NOTE_MODES},
            )
            flash("Saved.", "success")
        except ForumError as error:
            flash(error.message, "error")
    return redirect(url_for("auth.settings") + "#seeing")


def note_mode(story: Any) -> str:
    """How the viewer wants this story's content note handled: collapse, show or hide."""
    if not story.content_note or not current_user.is_authenticated:
        return "collapse"
    # Looked up once per request, however many stories the page shows.
    modes = getattr(request, "_village_note_modes", None)
    if modes is None:
        modes = note_modes(current_user)
        request._village_note_modes = modes  # type: ignore[attr-defined]
    return modes.get(story.content_note, "collapse")


def care_settings() -> dict[str, Any]:
    """What the settings page shows about blocks, muted tags and content notes."""
    return {
        "blocks": my_blocks(current_user),
        "muted": " ".join(muted_tags(current_user)),
        "modes": note_modes(current_user),
    }


@bp.get("/support")
def support() -> str:
    """Every support resource, grouped by region."""
    return render_template(
        "care/support.html", regions=resources.by_region(), emergency=resources.EMERGENCY_NOTE
    )


@bp.post("/care/check")
@login_required
@limiter.limit("20 per minute")
def check_draft() -> Response | tuple[Response, int]:
    """The compose page asks whether its draft should show the card; the text is checked and forgotten."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict) or not isinstance(data.get("text"), str):
        return jsonify(error="Bad request", message='Send JSON like {"text": "..."}.'), 400
    result = services.check(data["text"])
    if not result.signpost:
        return jsonify(signpost=False)
    services.record_shown("compose")
    return jsonify(signpost=True, html=render_template("care/_card_body.html", regions=resources.by_region()))


@bp.get("/care/posts/<any(story, reply):kind>/<int:item_id>/card")
@limiter.limit("30 per minute")
def landing_card(kind: str, item_id: int) -> Response:
    """The landing page asks (a few times) whether the writer's just-posted story or reply brings the card.
    Reads stored state only; anyone but the writer gets the answer of a checked post with no card."""
    story, pending = services.landing_card(current_user, kind, item_id)
    if story is None:
        response = jsonify(card=False, pending=pending)
    else:
        response = jsonify(
            card=True, pending=False, html=render_template("care/_story_card.html", story=story)
        )
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.post("/care/cards/<int:card_id>/dismiss")
@login_required
def dismiss(card_id: int) -> Response:
    """Close the support card on your story."""
    if forms.ConfirmForm().validate_on_submit():
        services.dismiss_card(current_user, card_id)
    back = request.form.get("next") or ""
    return redirect(back if back.startswith("/stories/") else url_for("feeds.home"))


@bp.route("/admin/care", methods=["GET", "POST"])
@admin_required
def admin() -> Any:
    """Support resources, extra crisis phrases and the welfare-report switch."""
    settings_form = forms.CareSettingsForm(prefix="settings")
    if settings_form.validate_on_submit() and request.form.get("form") == "settings":
        set_setting(
            current_user, services.WELFARE_SETTING, "1" if settings_form.welfare_reports.data else "0"
        )
        flash("Saved.", "success")
        return redirect(url_for("care.admin"))
    settings_form.welfare_reports.data = get_setting(services.WELFARE_SETTING, "1") == "1"
    return render_template(
        "care/admin.html",
        resources=resources.all_resources(),
        resource_form=forms.ResourceForm(prefix="new"),
        phrase_form=forms.PhraseForm(),
        settings_form=settings_form,
        confirm=forms.ConfirmForm(),
        phrases=list(db.session.scalars(services.admin_phrases())),
        counts=services.shown_counts(),
        status=services.detector_status(),
    )


@bp.route("/admin/care/resources/<int:resource_id>", methods=["GET", "POST"])
@admin_required
def edit_resource(resource_id: int) -> Any:
    """Edit one support resource."""
    resource = db.get_or_404(SupportResource, resource_id)
    form = forms.ResourceForm(obj=resource, checked=not resource.needs_check)
    if form.validate_on_submit():
        try:
            services.save_resource(current_user, resource, **_resource_fields(form))
        except ForumError as error:
            db.session.rollback()
            put_errors(form, error)
        else:
            flash(f"{resource.name} saved.", "success")
            return redirect(url_for("care.admin"))
    return render_template("care/resource.html", form=form, resource=resource)


def _resource_fields(form: forms.ResourceForm) -> dict[str, Any]:
    fields = {name: getattr(form, name).data or "" for name in services.RESOURCE_FIELDS}
    return {"checked": bool(form.checked.data), "position": form.position.data, **fields}


@bp.post("/admin/care/resources")
@admin_required
def add_resource() -> Any:
    """Add a support resource."""
    form = forms.ResourceForm(prefix="new")
    if not form.validate_on_submit():
        return render_template("care/resource.html", form=form, resource=None), 200
    try:
        resource = services.save_resource(current_user, None, **_resource_fields(form))
    except ForumError as error:
        db.session.rollback()
        put_errors(form, error)
        return render_template("care/resource.html", form=form, resource=None), 200
    flash(f"{resource.name} added.", "success")
    return redirect(url_for("care.admin"))


@bp.post("/admin/care/resources/<int:resource_id>/delete")
@admin_required
def delete_resource(resource_id: int) -> Response:
    resource = db.get_or_404(SupportResource, resource_id)
    if forms.ConfirmForm().validate_on_submit():
        services.delete_resource(current_user, resource)
    return redirect(url_for("care.admin"))


@bp.post("/admin/care/phrases")
@admin_required
def add_phrase() -> Response:
    """Add a phrase to the reviewed crisis list."""
    form = forms.PhraseForm()
    try:
        if not form.validate_on_submit():
            raise ValidationFailed([("phrase", "Please enter a phrase of 3 to 200 characters.")])
        phrase = services.add_phrase(current_user, form.phrase.data)
    except ForumError as error:
        flash(error.message, "error")
    else:
        flash(f"“{phrase}” added.", "success")
    return redirect(url_for("care.admin"))


@bp.post("/admin/care/phrases/<int:phrase_id>/delete")
@admin_required
def delete_phrase(phrase_id: int) -> Response:
    phrase = db.get_or_404(CarePhrase, phrase_id)
    if forms.ConfirmForm().validate_on_submit():
        services.delete_phrase(current_user, phrase)
    return redirect(url_for("care.admin"))
