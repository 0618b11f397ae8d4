"""A database that is restarting, unreachable or read-only gets a clear, kind page, not a crash."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from forum.feeds import queries


def test_an_unavailable_database_answers_503_with_a_kind_message(client, monkeypatch) -> None:
    def unavailable(*_args, **_kwargs):
        raise sa.exc.OperationalError("SELECT 1", {}, Exception("disk I/O error"))

    monkeypatch.setattr(queries, "feed_rows", unavailable)  # the home page's list
    monkeypatch.setattr(queries, "feed_page", unavailable)  # the API's
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

    monkeypatch.setattr(queries, "feed_rows", unavailable)  # the home page's list
    monkeypatch.setattr(queries, "feed_page", unavailable)  # the API's
    page = client.get("/")
    assert page.status_code == 503
    assert b"Nothing you typed is lost" in page.data


def _app_with_view(tmp_path, db_url, view):
    """A fresh app (routes can't be added to the shared one after its first request) with one test view."""
    from tests.conftest import make_app

    fresh = make_app(tmp_path, db_url)
    fresh.add_url_rule("/test-teardown", "test_teardown", view, methods=["POST"])
    return fresh


def test_a_connection_lost_after_the_commit_does_not_turn_the_answer_into_a_500(
    tmp_path, db_url, member, monkeypatch
) -> None:
    """The request committed; then the connection dies before the teardown's rollback. The answer stands."""
    from forum.extensions import db
    from forum.models import Story

    def view():
        db.session.add(
            Story(author_id=member.id, title="Saved", body="A story that was committed.", body_html="")
        )
        db.session.commit()
        db.session.execute(
            sa.text("SELECT 1")
        )  # a read after the commit: the teardown has a rollback to send

        def dead(*_args, **_kwargs):
            raise sa.exc.OperationalError(
                "ROLLBACK", {}, Exception("terminating connection due to administrator command")
            )

        monkeypatch.setattr(sa.engine.Connection, "_rollback_impl", dead)
        return "posted"

    fresh = _app_with_view(tmp_path, db_url, view)
    response = fresh.test_client().post("/test-teardown")
    monkeypatch.undo()
    assert response.status_code == 200 and response.data == b"posted"
    assert db.session.scalar(sa.select(Story.title)) == "Saved"
    with fresh.app_context():
        db.engine.dispose()


def test_postgresql_terminating_the_connection_before_the_teardown_is_not_a_500(
    tmp_path, db_url, member
) -> None:
    """A real failure: the request's backend is terminated from another connection (as PostgreSQL does when it
    shuts down) between its commit and the teardown's rollback."""
    from forum.extensions import db
    from forum.models import Story

    if not db_url.startswith("postgresql"):
        pytest.skip("needs PostgreSQL (TEST_DATABASE_URL)")

    def view():
        db.session.add(
            Story(author_id=member.id, title="Kept", body="A story committed before the end.", body_html="")
        )
        db.session.commit()
        pid = db.session.scalar(sa.text("SELECT pg_backend_pid()"))  # opens the transaction the teardown ends
        with db.engine.connect() as other:  # and waits (up to 5 s) until it is gone, as a restart does
            assert other.scalar(sa.text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid})
        return "posted"

    fresh = _app_with_view(tmp_path, db_url, view)
    client = fresh.test_client()
    response = client.post("/test-teardown")
    assert response.status_code == 200 and response.data == b"posted"
    assert db.session.scalar(sa.select(Story.title)) == "Kept"
    # The dead connection was discarded: the next request gets a working one.
    assert client.post("/test-teardown").status_code == 200
    with fresh.app_context():
        db.engine.dispose()
