"""Members' "this helped" / "not like mine" on the similar-stories panel, and the re-ranking's admin page."""

from __future__ import annotations

from typing import Any

from flask import flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from forum.extensions import limiter
from forum.permissions import admin_required
from forum.similar import feedback, learning
from forum.similar.forms import RetrainForm
from forum.similar.routes import bp
from forum.stories.queries import get_story

SIGNAL_LIMITS = "30 per minute;300 per hour"


def _member_key() -> str:
    return f"member:{current_user.id}" if current_user.is_authenticated else request.remote_addr or ""


@bp.post("/stories/<int:story_id>/similar/<int:match_id>/signal")
@login_required
@limiter.limit(SIGNAL_LIMITS, key_func=_member_key)
def signal(story_id: int, match_id: int) -> Any:
    """Say privately that a story shown beside this one helped, or isn't like it; an empty verdict takes the
    answer back. A form post comes back to the story; fetch gets JSON."""
    source = get_story(story_id, current_user)
    match = get_story(match_id, current_user)
    verdict = feedback.record_signal(current_user, source, match, request.form.get("verdict") or None)
    message = feedback.MESSAGES[verdict]
    if request.accept_mimetypes.best == "application/json":
        return jsonify(verdict=verdict, message=message)
    flash(message, "success")
    return redirect(url_for("stories.show", story_id=source.id, _anchor="similar-title"))


@bp.get("/admin/similar")
@admin_required
def admin() -> str:
    """The learned re-ranking: its version, when it was trained, signal counts and its held-back figures."""
    ranker = learning.stored_ranker()
    return render_template(
        "similar/admin.html",
        ranker=ranker,
        weights=list(zip(ranker.features, ranker.weights, strict=False)) if ranker else [],
        counts=feedback.signal_counts(),
        form=RetrainForm(),
        min_held_pairs=learning.MIN_HELD_PAIRS,
    )


@bp.post("/admin/similar/retrain")
@admin_required
def retrain() -> Any:
    """Train the re-ranking again from the signals so far (the same as `flask similar learn`)."""
    if RetrainForm().validate_on_submit():
        ranker = feedback.retrain()
        if ranker is None:
            flash("Not enough signals yet to learn anything; the plain ranking stays.", "info")
        elif ranker.applied:
            flash(
                f"Version {ranker.version} trained; it beat the plain order on later signals and is in use.",
                "success",
            )
        else:
            flash(
                f"Version {ranker.version} trained; it did not clearly beat the plain order, which stays.",
                "info",
            )
    return redirect(url_for("similar.admin"))
