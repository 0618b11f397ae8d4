"""A database that is restarting, unreachable or read-only gets a clear, kind page, not a crash."""

from __future__ import annotations

import sqlalchemy as sa

from forum.feeds import queries


def test_an_unavailable_database_answers_503_with_a_kind_message(client, monkeypatch) -> None:
    def unavailable(*_args, **_kwargs):
        raise sa.exc.OperationalError("SELECT 1", {}, Exception("disk I/O error"))

    monkeypatch.setattr(queries, "feed_page", unavailable)
    page = client.get("/")
    assert page.status_code == 503
    assert page.headers["Retry-After"] == "5"
    assert b"Nothing you typed is lost" in page.data
    api = client.get("/api/stories", headers={"Accept": "application/json"})
    assert api.status_code == 503
    assert api.is_json and "Nothing you typed is lost" in api.get_json()["message"]


def test_a_signed_in_member_gets_the_503_page_even_when_loading_them_fails(
    client, member, monkeypatch
) -> None:
    """The error page itself must not need the database: the response headers are chosen from the cookie."""
    from forum.extensions import login_manager
    from tests.factories import login

    login(client, member)

    def unavailable(_token):
        raise sa.exc.OperationalError("SELECT 1", {}, Exception("the database system is shutting down"))

    monkeypatch.setattr(login_manager, "_user_callback", unavailable)
    page = client.get("/")
    assert page.status_code == 503
    assert b"Nothing you typed is lost" in page.data
    assert page.headers["Cache-Control"] == "no-store"


def test_a_connection_that_died_mid_request_still_ends_in_a_503(client, monkeypatch) -> None:
    """PostgreSQL shutting down: the query fails, then so does every rollback on that connection."""
    from forum.extensions import db

    def dead(*_args, **_kwargs):
        raise sa.exc.OperationalError(
            "ROLLBACK", {}, Exception("terminating connection due to administrator command")
        )

    def unavailable(*_args, **_kwargs):
        db.session.execute(sa.text("SELECT 1"))  # the session now holds a connection
        monkeypatch.setattr(sa.engine.Connection, "_rollback_impl", dead)
        raise sa.exc.OperationalError(
            "SELECT 1", {}, Exception("terminating connection due to administrator command")
        )

    monkeypatch.setattr(queries, "feed_page", unavailable)
    page = client.get("/")
    assert page.status_code == 503
    assert b"Nothing you typed is lost" in page.data
