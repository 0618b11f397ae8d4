"""Plain factory functions for test data; they go through the same rules as the app where it matters."""

from __future__ import annotations

import itertools

from flask import Flask
from flask.testing import FlaskClient

from forum.auth.passwords import hash_password
from forum.auth.sessions import start_session
from forum.extensions import db
from forum.models import Flag, Reply, Story, User
from forum.moderation import services as moderation_services
from forum.moderation.targets import target_of
from forum.stories import services as story_services

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


STORY_BODY = "Left him sobbing at nursery this morning and cried in the car afterwards."


def make_story(author: User, **fields: object) -> Story:
    """A story posted through the real service (published unless a write rule holds it)."""
    fields.setdefault("body", STORY_BODY)
    return story_services.publish_story(author, **fields)  # type: ignore[arg-type]


def make_reply(
    author: User, story: Story, body: str = "Same here, it gets easier.", **fields: object
) -> Reply:
    """A reply posted through the real service."""
    return story_services.add_reply(author, story, body=body, **fields)  # type: ignore[arg-type]


def make_flag(reporter: User, item: Story | Reply, reason: str = "unkind", note: str = "") -> Flag:
    """A report through the real service, as the queue receives it."""
    return moderation_services.report(reporter, target_of(item), reason=reason, note=note)


def signed_in_client(app: Flask, user: User) -> FlaskClient:
    """A separate browser signed in as user (each member gets their own cookie jar)."""
    client = app.test_client()
    login(client, user)
    return client
