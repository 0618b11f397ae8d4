"""The notifications page, mark as read, the unread count in the header, and the reminder check."""

from __future__ import annotations

import time
from typing import Any

from flask import Blueprint, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from markupsafe import Markup
from werkzeug.wrappers import Response

from forum import memberpages
from forum.extensions import db
from forum.notifications import services
from forum.params import page_arg
from forum.stories.reminders import send_due_reminders

bp = Blueprint("notifications", __name__)
PER_PAGE = 30
# A signed-in member's due update reminders are looked for at most this often, on page loads.
REMINDER_CHECK_SECONDS = 600


def unread_notifications() -> dict[str, Any]:
    """The header's unread count: one COUNT, only for signed-in members."""
    if not current_user.is_authenticated:
        return {"unread_notifications": 0}
    # The sign-in statement counted them already (forum.auth.sessions), unless this request has written a
    # notification since (services: forget_when_written).
    prefetched = getattr(request, "_village_unread", None)
    if prefetched is not None and prefetched[0] == current_user.id:
        return {"unread_notifications": prefetched[1]}
    return {"unread_notifications": services.unread_count(current_user.id)}


def unread_badge(count: int) -> Markup:
    """The header's unread badge (base.html); a slot on a page kept for members (forum.memberpages)."""
    kept = memberpages.slot("unread")
    if kept is not None:
        return kept
    if not count:
        return Markup("")
    return Markup('<span class="badge">{}<span class="visually-hidden"> unread</span></span>').format(count)


def deliver_due_reminders() -> None:
    """Opportunistically deliver the member's due update reminders, so nothing depends on cron."""
    if request.method != "GET" or request.endpoint in (None, "static") or not current_user.is_authenticated:
        return
    now = int(time.time())
    if now - int(session.get("reminders_checked_at", 0)) < REMINDER_CHECK_SECONDS:
        return
    session["reminders_checked_at"] = now
    send_due_reminders(user_id=current_user.id)


def kept_page_version() -> str:
    """What the notifications page shows of hers (forum.memberpages keeps it per member under this): this
    page's notifications as plain columns, whether her address is confirmed, and the unread count."""
    unread = unread_notifications()["unread_notifications"]
    return f"{services.page_version(current_user.id, page_arg(), PER_PAGE)}:{unread}"


@bp.get("/notifications")
@login_required
def index() -> str:
    """The member's notifications, newest first."""
    number = page_arg()
    page = db.paginate(
        services.notifications_for(current_user.id),
        page=number,
        per_page=PER_PAGE,
        error_out=False,
        count=False,
    )
    if number == 1 and len(page.items) < PER_PAGE:
        page.total = len(page.items)  # all of them are on this page: nothing to count (most members)
    else:
        page.total = services.notification_total(current_user.id)
    return render_template("notifications/index.html", page=page, form=FlaskForm())


@bp.post("/notifications/<int:notification_id>/read")
@login_required
def mark_read(notification_id: int) -> Response:
    """Mark one notification as read and go to what it is about."""
    FlaskForm().validate_on_submit()
    services.mark_read(current_user, notification_id)
    target = request.form.get("next") or ""
    return redirect(target if target.startswith("/") and not target.startswith("//") else url_for(".index"))


@bp.post("/notifications/read-all")
@login_required
def mark_all_read() -> Response:
    """Mark every notification as read."""
    services.mark_read(current_user)
    return redirect(url_for(".index"))
