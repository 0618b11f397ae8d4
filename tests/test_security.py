"""The security baseline: CSRF, cookies, headers, body limits, friendly error pages, rate limits."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask

from forum.extensions import db
from tests.conftest import make_app
from tests.factories import DEFAULT_PASSWORD, make_user


def csrf_token(html: str) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)


@pytest.fixture
def csrf_app(tmp_path: Path, db_url: str) -> Flask:
    """The same database as the suite, with CSRF protection on."""
    return make_app(tmp_path, db_url, WTF_CSRF_ENABLED=True)


def test_post_without_token_is_rejected(csrf_app):
    client = csrf_app.test_client()
    response = client.post("/logout")
    assert response.status_code == 400
    assert "security check expired" in response.get_data(as_text=True)


def test_expired_token_reshows_register_form_with_text(csrf_app):
    client = csrf_app.test_client()
    client.get("/register")
    response = client.post(
        "/register",
        data={
            "csrf_token": "stale-token",
            "pseudonym": "Sunny Mum",
            "email": "sunny@example.test",
            "password": "a long password here",
        },
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "security check expired" in html
    assert 'value="Sunny Mum"' in html and 'value="sunny@example.test"' in html
    assert 'value="a long password here"' not in html
    assert csrf_token(html) != "stale-token"


def test_expired_token_reshows_login_form(csrf_app):
    client = csrf_app.test_client()
    response = client.post(
        "/login", data={"csrf_token": "x", "identifier": "sunny@example.test", "password": "pw"}
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and 'value="sunny@example.test"' in html


def test_real_token_works(csrf_app):
    with csrf_app.app_context():
        user = make_user(pseudonym="TokenUser")
        pseudonym = user.pseudonym
    client = csrf_app.test_client()
    token = csrf_token(client.get("/login").get_data(as_text=True))
    response = client.post(
        "/login", data={"csrf_token": token, "identifier": pseudonym, "password": DEFAULT_PASSWORD}
    )
    assert response.status_code == 302


def test_session_cookie_flags(client, member):
    response = client.post("/login", data={"identifier": member.pseudonym, "password": DEFAULT_PASSWORD})
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("village_session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie


def test_session_cookie_secure_over_https(client, member):
    response = client.post(
        "/login",
        data={"identifier": member.pseudonym, "password": DEFAULT_PASSWORD},
        base_url="https://localhost",
    )
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("village_session="))
    assert "Secure" in cookie
    assert (
        "max-age"
        in client.get("/guidelines", base_url="https://localhost").headers["Strict-Transport-Security"]
    )


@pytest.mark.parametrize("path", ["/guidelines", "/login", "/no-such-page"])
def test_headers_on_every_page(client, path):
    headers = client.get(path).headers
    csp = headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert headers["X-Frame-Options"] == "DENY"


def test_huge_body_gets_friendly_413(client):
    response = client.post("/login", data={"identifier": "x" * (400 * 1024), "password": "pw"})
    assert response.status_code == 413
    assert "larger than Village accepts" in response.get_data(as_text=True)


def test_wrong_method_gets_friendly_405(client):
    response = client.get("/logout")
    assert response.status_code == 405
    assert "<main" in response.get_data(as_text=True)


def test_crash_gets_friendly_500_and_rolls_back(tmp_path, db_url):
    app = make_app(tmp_path, db_url, PROPAGATE_EXCEPTIONS=False)

    @app.get("/boom")
    def boom() -> str:
        raise RuntimeError("boom")

    response = app.test_client().get("/boom")
    assert response.status_code == 500
    html = response.get_data(as_text=True)
    assert "Something went wrong on our side" in html and "RuntimeError" not in html


def test_forbidden_page_is_friendly(tmp_path, db_url):
    from flask import abort

    app = make_app(tmp_path, db_url)

    @app.get("/secret")
    def secret() -> str:
        abort(403)

    response = app.test_client().get("/secret")
    assert response.status_code == 403 and "You can&#39;t do that" in response.get_data(as_text=True)


def test_login_is_rate_limited_per_account(tmp_path, db_url):
    app = make_app(tmp_path, db_url, RATELIMIT_ENABLED=True)
    client = app.test_client()
    codes = [
        client.post(
            "/login",
            data={"identifier": "target", "password": "wrong password"},
            environ_base={"REMOTE_ADDR": f"10.0.0.{i}"},
        ).status_code
        for i in range(12)
    ]
    assert codes[:10] == [200] * 10
    assert codes[-1] == 429
    assert "Slow down" in client.post(
        "/login", data={"identifier": "target", "password": "x"}, environ_base={"REMOTE_ADDR": "10.0.1.1"}
    ).get_data(as_text=True)


def test_registration_is_rate_limited_per_address(tmp_path, db_url):
    app = make_app(tmp_path, db_url, RATELIMIT_ENABLED=True)
    client = app.test_client()
    codes = [
        client.post("/register", data={"pseudonym": f"Rate{i}", "email": "bad", "password": "x"}).status_code
        for i in range(6)
    ]
    assert codes[-1] == 429 and codes[0] == 200


def test_an_expired_form_over_the_rate_limit_gets_429_not_500(tmp_path, db_url):
    """The expired-token path shows the form again by calling the view, which is itself rate-limited
    (found by wapiti: a forged token on the twelfth sign-in gave a 500)."""
    app = make_app(tmp_path, db_url, RATELIMIT_ENABLED=True, WTF_CSRF_ENABLED=True)
    client = app.test_client()
    codes = [
        client.post(
            "/login",
            data={"csrf_token": "forged", "identifier": "target", "password": "wrong"},
            environ_base={"REMOTE_ADDR": f"10.0.2.{i}"},
        ).status_code
        for i in range(12)
    ]
    assert 500 not in codes
    assert codes[0] == 200 and codes[-1] == 429
    codes = [
        client.post(
            "/register",
            data={
                "csrf_token": "forged",
                "pseudonym": f"Late{i}",
                "email": "a@b.example",
                "password": "long enough password",
            },
        ).status_code
        for i in range(8)
    ]
    assert 500 not in codes and codes[-1] == 429


def test_production_refuses_to_start_without_secret_key(monkeypatch, tmp_path):
    from forum import create_app
    from forum.config import ConfigError, ProductionConfig

    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(ConfigError):
        create_app(ProductionConfig(instance_path=tmp_path))


def test_development_secret_key_is_generated_once(monkeypatch, tmp_path):
    from forum.config import Config

    monkeypatch.delenv("SECRET_KEY", raising=False)
    first = Config(instance_path=tmp_path).SECRET_KEY
    assert first == Config(instance_path=tmp_path).SECRET_KEY and len(first) >= 32
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_sqlite_pragmas(app):
    import sqlalchemy as sa

    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite only")
    with db.engine.connect() as connection:
        assert connection.execute(sa.text("PRAGMA foreign_keys")).scalar() == 1
        assert connection.execute(sa.text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(sa.text("PRAGMA busy_timeout")).scalar() == 15000
