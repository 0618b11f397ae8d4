"""Shared fixtures: the app on SQLite (or PostgreSQL via TEST_DATABASE_URL), a clean database per test."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask, g, request_started
from flask.testing import FlaskClient, FlaskCliRunner
from flask_caching.backends.simplecache import SimpleCache

from forum import create_app, fragments
from forum.config import TestConfig, normalise_database_url
from forum.extensions import cache, db, limiter
from forum.models import User
from tests import factories

# The suite runs on the small sentence model (its own tests ask for MPNet by name): the default one is
# several times slower and larger.
os.environ.setdefault("SIMILAR_MODEL", "minilm")


def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """TEST_DATABASE_URL when set (PostgreSQL in CI), otherwise a fresh SQLite file."""
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return normalise_database_url(url)
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


def make_app(tmp_path: Path, url: str, **overrides: object) -> Flask:
    """An app with the test configuration and the given overrides."""
    return create_app(TestConfig(instance_path=tmp_path, SQLALCHEMY_DATABASE_URI=url, **overrides))


@pytest.fixture(scope="session")
def db_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return database_url(tmp_path_factory)


@pytest.fixture(scope="session")
def app(tmp_path_factory: pytest.TempPathFactory, db_url: str) -> Iterator[Flask]:
    """One app for the session; the schema is created once."""
    application = make_app(tmp_path_factory.mktemp("instance"), db_url)
    with application.app_context():
        db.drop_all()
        db.create_all()
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


def empty_tables() -> None:
    """Delete every row, children first, so each test starts from an empty database."""
    db.session.rollback()
    for table in reversed(db.metadata.sorted_tables):
        db.session.execute(table.delete())
    db.session.commit()


def _forget_loaded_member(sender: Flask, **_extra: object) -> None:
    # Requests reuse the test's app context, so Flask-Login's cached member in `g`
    # would otherwise leak from one request (or client) to the next.
    g.pop("_login_user", None)


@pytest.fixture(autouse=True)
def _app_context(app: Flask) -> Iterator[None]:
    """Run each test inside an app context and empty the tables afterwards."""
    request_started.connect(_forget_loaded_member, app)
    with app.app_context():
        yield
        empty_tables()
        db.session.remove()
    request_started.disconnect(_forget_loaded_member, app)


@pytest.fixture(autouse=True)
def _shared_limiter_restored(monkeypatch: pytest.MonkeyPatch) -> None:
    """Put the shared Flask-Limiter back after each test: an app built with limits on re-initialises it,
    and the session's app would otherwise start answering 429 in later tests."""
    for name in ("enabled", "initialized", "_storage", "_limiter"):
        monkeypatch.setattr(limiter, name, getattr(limiter, name, None), raising=False)


@pytest.fixture
def embed_on_write(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """New stories are embedded in the request, into a similar index this test starts afresh."""
    monkeypatch.setitem(app.config, "SIMILAR_EMBED_ON_WRITE", True)
    app.extensions.pop("similar_index", None)
    yield
    app.extensions.pop("similar_index", None)


@pytest.fixture
def page_cache(app: Flask) -> Iterator[SimpleCache]:
    """A real (in-process) cache in place of the tests' NullCache, so members' pages are kept."""
    original = app.extensions["cache"][cache]
    backend = SimpleCache(default_timeout=30)
    app.extensions["cache"][cache] = backend
    fragments.clear_local()
    yield backend
    app.extensions["cache"][cache] = original


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


@pytest.fixture
def member(app: Flask) -> User:
    return factories.make_user(pseudonym="SunnyMum")


@pytest.fixture
def other_member(app: Flask) -> User:
    return factories.make_user(pseudonym="RainyDad")


@pytest.fixture
def moderator(app: Flask) -> User:
    return factories.make_user(pseudonym="KindMod", role="moderator")


@pytest.fixture
def admin(app: Flask) -> User:
    return factories.make_user(pseudonym="SiteAdmin", role="admin")


class Auth:
    """Sign a test client in as a member without going through the sign-in form."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def login(self, user: User) -> User:
        factories.login(self.client, user)
        return user

    def logout(self) -> None:
        with self.client.session_transaction() as session:
            session.clear()


@pytest.fixture
def auth(client: FlaskClient) -> Auth:
    return Auth(client)


def count_rows(model: type) -> int:
    """How many rows a model's table holds."""
    return int(db.session.scalar(sa.select(sa.func.count()).select_from(model)) or 0)
