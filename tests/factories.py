"""Plain factory functions for test data; they go through the same rules as the app where it matters."""

from __future__ import annotations

import itertools

from flask.testing import FlaskClient

from forum.auth.passwords import hash_password
from forum.auth.sessions import start_session
from forum.extensions import db
from forum.models import User

DEFAULT_PASSWORD = "correct horse battery"
_sequence = itertools.count(1)


def make_user(
    pseudonym: str | None = None,
    email: str | None = None,
    role: str = "member",
    password: str = DEFAULT_PASSWORD,
) -> User:
    """A committed member with a known password."""
    n = next(_sequence)
    pseudonym = pseudonym or f"Parent{n}"
    user = User(
        pseudonym=pseudonym,
        pseudonym_key=pseudonym.lower(),
        email=email or f"{pseudonym.lower()}@example.test",
        password_hash=hash_password(password),
        role=role,
    )
    db.session.add(user)
    db.session.commit()
    return user


def login(client: FlaskClient, user: User) -> str:
    """Start a server-side login session for user and put it in the client's session cookie."""
    token = start_session(user, "pytest")
    db.session.commit()
    with client.session_transaction() as session:
        session["_user_id"] = token
        session["_fresh"] = True
    return token
