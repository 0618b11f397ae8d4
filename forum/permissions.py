"""Permission predicates shared by views and templates, so a hidden button and a 403 never disagree."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import abort
from flask_login import current_user, login_required

from forum.errors import NotAllowed

# name -> predicate(user, obj) ; features register their own rules here.
_RULES: dict[str, Callable[[Any, Any], bool]] = {}


def rule(name: str) -> Callable[[Callable[[Any, Any], bool]], Callable[[Any, Any], bool]]:
    """Register a permission predicate under a name usable as can(name, obj) in templates."""

    def register(func: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
        _RULES[name] = func
        return func

    return register


def can(name: str, obj: Any = None, user: Any = None) -> bool:
    """True when user (the current member by default) may do `name` on obj."""
    if user is None:
        user = current_user
    if not getattr(user, "is_authenticated", False):
        return False
    return bool(_RULES[name](user, obj))


def require(name: str, obj: Any = None, user: Any = None) -> None:
    """Raise NotAllowed unless can(name, obj, user)."""
    if not can(name, obj, user):
        raise NotAllowed("You don't have permission to do that.")


@rule("moderate")
def _moderate(user: Any, _obj: Any) -> bool:
    return bool(user.is_moderator)


@rule("administer")
def _administer(user: Any, _obj: Any) -> bool:
    return bool(user.is_admin)


def _view_guard(name: str, doc: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def guard(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        @login_required
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not can(name):
                abort(403)
            return view(*args, **kwargs)

        return wrapper

    guard.__doc__ = doc
    return guard


# View decorators: visitors are sent to sign in, signed-in members without the role get a 403.
moderator_required = _view_guard(
    "moderate", "Signed-in moderators and admins only; everyone else gets a 403."
)
admin_required = _view_guard("administer", "Signed-in admins only; everyone else gets a 403.")
