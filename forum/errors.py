"""Domain errors and the friendly error pages."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy.exc as sa_exc
from flask import Flask, current_app, g, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from forum.extensions import db


class ForumError(Exception):
    """Root of every domain error. Carries (field, message) pairs so a view can put them back on its form."""

    status_code = 400

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    @property
    def errors(self) -> list[tuple[str | None, str]]:
        return [(self.field, self.message)]


class ValidationFailed(ForumError):
    """The input broke a rule; the message says which, kindly."""

    def __init__(self, errors: list[tuple[str | None, str]]) -> None:
        super().__init__(errors[0][1], errors[0][0])
        self._errors = errors

    @property
    def errors(self) -> list[tuple[str | None, str]]:
        return self._errors


class NotAllowed(ForumError):
    """The member may not do this."""

    status_code = 403


class NotFound(ForumError):
    """No such thing, or not visible to this member."""

    status_code = 404


class RateLimited(ForumError):
    """Too many writes in a short time."""

    status_code = 429


def put_errors(form: Any, error: ForumError) -> int:
    """Copy a service's (field, message) pairs onto a form; returns the HTTP status to re-render it with."""
    for name, message in error.errors:
        field = form._fields.get(name) if name else None
        if field is not None:
            field.errors = [*field.errors, message]
        else:
            form.form_errors.append(message)
    return 200 if isinstance(error, ValidationFailed) else error.status_code


ERROR_TITLES = {
    400: "That request didn't make sense",
    403: "You can't do that",
    404: "We couldn't find that page",
    405: "That doesn't work here",
    413: "That was too much to send at once",
    429: "Slow down a little",
    500: "Something went wrong on our side",
    503: "Village is having a short break",
}

ERROR_MESSAGES = {
    400: "Something in the request wasn't right. Please go back and try again.",
    403: "You don't have permission to do that. If you think this is a mistake, please sign in and try again.",
    404: "The page may have been moved or deleted, or the link may be mistyped.",
    405: "That action isn't available on this page.",
    413: "What you sent is larger than Village accepts. Please shorten it and try again; "
    "if you were writing a story, your text is still saved in this browser.",
    429: "You've done that a lot in a short time. Please wait a minute and try again.",
    500: "We've been told about it. Please try again in a moment; your drafts are saved in this browser.",
    503: "The site is busy or being updated. Please try again in a moment; nothing you wrote has been lost.",
}

# Views that can show their form again, text intact, when its CSRF token has expired.
_CSRF_RERENDER: set[str] = set()


def rerender_on_csrf_error(view: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a form view: on an expired CSRF token it is called again with g.csrf_expired set."""
    _CSRF_RERENDER.add(f"{view.__module__}.{view.__qualname__}")
    return view


def wants_json() -> bool:
    """API clients get JSON errors; browsers get pages."""
    return request.path.startswith("/api/") or (
        request.accept_mimetypes.best == "application/json" and not request.accept_mimetypes.accept_html
    )


def error_response(code: int, message: str | None = None) -> tuple[Any, int]:
    """Render an error in the site's layout, or as JSON for the API."""
    text = message or ERROR_MESSAGES.get(code, ERROR_MESSAGES[500])
    if wants_json():
        return jsonify(error=ERROR_TITLES.get(code, "Error"), message=text), code
    template = "errors/error.html"
    return render_template(template, code=code, title=ERROR_TITLES.get(code, "Error"), message=text), code


def _handle_http_exception(error: HTTPException) -> Any:
    code = error.code or 500
    response = error.get_response()
    body, status = error_response(code, _custom_description(error))
    if wants_json():
        body.headers.update({k: v for k, v in response.headers.items() if k in ("Allow", "Retry-After")})
        return body, status
    return body, status, {k: v for k, v in response.headers.items() if k in ("Allow", "Retry-After")}


def _custom_description(error: HTTPException) -> str | None:
    # Our own abort(…, "message") calls pass a user-facing description; Werkzeug's defaults are not friendly.
    default = type(error).description
    return error.description if error.description and error.description != default else None


def _handle_csrf_error(error: CSRFError) -> Any:
    view = current_app.view_functions.get(request.endpoint or "")
    if request.method == "POST" and view is not None:
        target = getattr(view, "__wrapped__", view)
        name = f"{target.__module__}.{target.__qualname__}"
        if name in _CSRF_RERENDER or f"{view.__module__}.{view.__qualname__}" in _CSRF_RERENDER:
            g.csrf_expired = True
            # The view runs inside this error handler, so its own errors (a rate limit, a refused write)
            # must be turned into responses here: nothing further up would catch them.
            try:
                return current_app.ensure_sync(view)(**(request.view_args or {}))
            except HTTPException as error:
                return _handle_http_exception(error)
            except ForumError as error:
                return _handle_forum_error(error)
    return error_response(
        400,
        "This page was open for a long time and its security check expired. Please go back, reload and try again.",
    )


def _handle_forum_error(error: ForumError) -> Any:
    return error_response(error.status_code, error.message)


def _handle_server_error(error: Exception) -> Any:
    db.session.rollback()
    return error_response(500)


def _handle_database_unavailable(error: Exception) -> Any:
    # A restarting, unreachable or read-only database: say so plainly; the browser still holds what was typed.
    current_app.logger.error("database unavailable: %s", error)
    message = (
        "Village can't save or load this just now. Nothing you typed is lost: go back, wait a few seconds "
        "and try again."
    )
    try:
        db.session.rollback()
    except Exception:  # noqa: BLE001 - the connection itself is gone (e.g. PostgreSQL shutting down)
        # Drop it without another rollback, or the teardown's rollback fails again and becomes a 500.
        db.session().invalidate()
    try:
        body, status = error_response(503, message)
    except Exception:  # noqa: BLE001 - the layout itself may need the database (the signed-in member)
        db.session().invalidate()
        body, status = current_app.response_class(message, mimetype="text/plain"), 503
    return body, status, {"Retry-After": "5"}


def _handle_unreadable_value(error: Exception) -> Any:
    # A value the database refuses to compare or store (a NUL byte in a URL or a form, on PostgreSQL):
    # the request itself is malformed, so answer it as one instead of failing as a 500.
    current_app.logger.info("database refused a request value: %s", error)
    db.session.rollback()
    return error_response(
        400, "That request had characters Village can't read. Please check it and try again."
    )


def register_error_handlers(app: Flask) -> None:
    """Friendly pages for HTTP errors, domain errors and crashes; the session is rolled back on 500."""
    app.register_error_handler(CSRFError, _handle_csrf_error)
    app.register_error_handler(HTTPException, _handle_http_exception)
    app.register_error_handler(ForumError, _handle_forum_error)
    app.register_error_handler(500, _handle_server_error)
    app.register_error_handler(sa_exc.OperationalError, _handle_database_unavailable)
    app.register_error_handler(sa_exc.DataError, _handle_unreadable_value)
