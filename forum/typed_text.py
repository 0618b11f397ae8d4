"""One way to keep what a parent typed, for every form view that takes text.

`@keeps_typed_text(FormClass, template=...)` gives the view a `TypedText`: the form, whether it was really
sent (an expired CSRF token is not a send: errors.py runs the view again and it re-renders with the text and
a "security check expired" message), `attempt(service call)` which puts a service's ForumError back on the
form's fields, and `render(...)` which keeps the form's one-time submission key across re-renders, so
sending twice creates one item. With `draft_key`, a post that arrives after the login session ended is
stashed server-side for this browser and restored after sign-in (forum.drafts). Every decorated view is
listed by `guarded_views(app)`, so one test checks them all."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import Flask, current_app, g, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import HiddenField

from forum import drafts
from forum.errors import ForumError, put_errors, rerender_on_csrf_error

T = TypeVar("T")


def new_submission_key() -> str:
    """A random key for one rendering of a form, so a double tap creates one item."""
    return secrets.token_urlsafe(24)


class KeyedForm(FlaskForm):
    """A form whose send creates something: it carries a one-time submission key."""

    submission_key = HiddenField()

    def ensure_key(self) -> None:
        """Keep the key across re-renders; make one on first render."""
        if not self.submission_key.data:
            self.submission_key.data = new_submission_key()


@dataclass(frozen=True)
class Guard:
    """How a form view keeps typed text: its form, its template, and (for posts that may outlive the login
    session) the stash key and where to come back to after sign-in."""

    form: type[FlaskForm]
    template: str
    draft_key: Callable[..., str] | None = None
    come_back_to: Callable[..., str] | None = None
    members_only: bool = True


class TypedText:
    """The form of one request, and what happened to it."""

    def __init__(self, guard: Guard, form: FlaskForm) -> None:
        self.guard = guard
        self.form = form
        self.status = 200

    @property
    def expired(self) -> bool:
        """The form came back with an expired security token: show it again, send nothing."""
        return bool(g.get("csrf_expired"))

    @property
    def submitted(self) -> bool:
        return bool(self.form.validate_on_submit()) and not self.expired

    def attempt(self, action: Callable[[], T]) -> T | None:
        """Run the service if the form was sent and is valid; its ForumError goes onto the form's fields
        (and the status to re-render with), never losing the text."""
        if not self.submitted:
            return None
        try:
            return action()
        except ForumError as error:
            self.status = put_errors(self.form, error)
            return None

    def render(self, template: str | None = None, **context: Any) -> tuple[str, int]:
        """The form's page, with the text as typed and the same submission key."""
        if isinstance(self.form, KeyedForm):
            self.form.ensure_key()
        return render_template(template or self.guard.template, form=self.form, **context), self.status

    def fill(self, saved: Any) -> None:
        fill(self.form, saved)


def fill(form: FlaskForm, saved: Any) -> None:
    """Put a saved draft or restored stash back into a form."""
    for name in ("title", "body", "tags"):
        if name in form._fields and getattr(saved, name, None):
            form[name].data = getattr(saved, name)
    for name, value in (saved.extra or {}).items():
        if name in form._fields and name != "csrf_token":
            form[name].data = value in ("y", "True", "true", "on") if name == "anonymous" else value


def restore(form: FlaskForm, key: str) -> Any:
    """The stash posted while signed out (?restore=<token>, this browser only), else the member's saved
    draft under key, put into the form; returns it (or None)."""
    saved = drafts.take_stash(request.args.get("restore"), key, stash_owner()) or drafts.get_draft(
        current_user, key
    )
    if saved is not None:
        fill(form, saved)
    return saved


def stash_owner() -> str | None:
    return drafts.stash_owner_from_cookie(request.cookies.get(drafts.STASH_COOKIE))


def _from_this_site() -> bool:
    """The post came from one of our pages: its Origin (or, without one, its Referer) is this host. Browsers
    send Origin with every cross-site post, so another site cannot plant text to be "restored" here."""
    source = request.headers.get("Origin") or request.headers.get("Referer")
    return source is None or urlsplit(source).netloc == request.host


def stash_and_sign_in(kind: str, after: str) -> Response:
    """The login session ended while writing: keep the text server-side (for this browser only, a few hours,
    within a per-address limit) and come back to it after sign-in."""
    owner = stash_owner() or drafts.new_stash_owner()
    token = None
    if _from_this_site():  # the CSRF token has expired with the session: the origin is what is left to check
        address = request.remote_addr or ""
        token = drafts.stash_form(kind, request.form.to_dict(), owner=owner, address=address)
    if token is None:  # over the limit or from elsewhere: the browser's own copy of the draft is all there is
        return redirect(url_for("auth.login", next=after))
    response = redirect(url_for("auth.login", next=f"{after}{'&' if '?' in after else '?'}restore={token}"))
    response.set_cookie(
        drafts.STASH_COOKIE,
        drafts.stash_owner_cookie(owner),
        max_age=int(drafts.STASH_MAX_AGE.total_seconds()),
        httponly=True,
        samesite="Lax",
        secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")) or request.is_secure,
    )
    return response


def keeps_typed_text(
    form: type[FlaskForm],
    *,
    template: str,
    draft_key: Callable[..., str] | None = None,
    come_back_to: Callable[..., str] | None = None,
    members_only: bool = True,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorate a form view `view(typed: TypedText, **view_args)`: see the module docstring. members_only
    views send visitors to sign in (a post with draft_key is stashed first)."""
    guard = Guard(form, template, draft_key, come_back_to, members_only)

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def guarded(**view_args: Any) -> Any:
            if members_only and not current_user.is_authenticated:
                if request.method == "POST" and draft_key is not None and come_back_to is not None:
                    return stash_and_sign_in(draft_key(**view_args), come_back_to(**view_args))
                return current_app.login_manager.unauthorized()  # type: ignore[attr-defined]
            return view(TypedText(guard, form()), **view_args)

        guarded.typed_text_guard = guard  # type: ignore[attr-defined]
        return rerender_on_csrf_error(guarded)

    return decorate


def guarded_views(app: Flask) -> dict[str, Guard]:
    """Every view of the app that keeps typed text, by endpoint."""
    found = {}
    for endpoint, view in app.view_functions.items():
        guard = getattr(view, "typed_text_guard", None)
        if isinstance(guard, Guard):
            found[endpoint] = guard
    return found
