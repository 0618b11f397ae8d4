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


def _limited_app(tmp_path, db_url, **overrides):
    return make_app(tmp_path, db_url, RATELIMIT_ENABLED=True, **overrides)


def test_sign_in_limit_counts_the_account_whichever_name_is_typed(tmp_path, db_url):
    """Issue 12, finding 10: ten wrong passwords for the pseudonym left the email free to guess with."""
    app = _limited_app(tmp_path, db_url)
    with app.app_context():
        user = make_user(pseudonym="Locked", email="locked@example.test")
        email = user.email
    for i in range(10):
        app.test_client().post(
            "/login",
            data={"identifier": "Locked", "password": f"guess number {i}"},
            environ_base={"REMOTE_ADDR": f"10.0.0.{i}"},
        )
    by_email = app.test_client().post(
        "/login",
        data={"identifier": email, "password": DEFAULT_PASSWORD},
        environ_base={"REMOTE_ADDR": "10.0.1.1"},
    )
    # Refused like a wrong password, so the refusal can't tie the email to the pseudonym.
    assert by_email.status_code == 200
    assert "don't match" in by_email.get_data(as_text=True).replace("&#39;", "'")


def test_a_locked_account_and_an_unknown_name_answer_alike(tmp_path, db_url):
    app = _limited_app(tmp_path, db_url)
    with app.app_context():
        make_user(pseudonym="Known", email="known@example.test")

    def attempts(identifier, prefix):
        return [
            app.test_client().post(
                "/login",
                data={"identifier": identifier, "password": "not the password"},
                environ_base={"REMOTE_ADDR": f"{prefix}.{i}"},
            )
            for i in range(12)
        ]

    known, unknown = attempts("Known", "10.1.0"), attempts("Nobody", "10.2.0")
    assert [r.status_code for r in known] == [r.status_code for r in unknown] == [200] * 12
    assert _error_text(known[-1]) == _error_text(unknown[-1])
    assert _error_text(known[0]) == _error_text(known[-1])


def _error_text(response) -> str:
    """The form's messages, without the typed name or the CSRF token."""
    html = response.get_data(as_text=True)
    return " ".join(re.findall(r'class="[^"]*error[^"]*"[^>]*>([^<]+)<', html))


def test_a_password_reset_unlocks_the_account(tmp_path, db_url):
    from forum.auth import services

    app = _limited_app(tmp_path, db_url)
    with app.app_context():
        user = make_user(pseudonym="Forgetful")
        for i in range(10):
            app.test_client().post(
                "/login",
                data={"identifier": "Forgetful", "password": "wrong"},
                environ_base={"REMOTE_ADDR": f"10.3.0.{i}"},
            )
        with app.test_request_context():
            services.reset_password(services.make_reset_token(user), "a brand new long password")
    response = app.test_client().post(
        "/login", data={"identifier": "Forgetful", "password": "a brand new long password"}
    )
    assert response.status_code == 302


def test_sign_in_limit_per_browser_keeps_the_form(tmp_path, db_url):
    app = _limited_app(tmp_path, db_url)
    client = app.test_client()
    client.get("/login")
    responses = [
        client.post("/login", data={"identifier": f"someone{i}@example.test", "password": "wrong"})
        for i in range(11)
    ]
    assert [r.status_code for r in responses[:10]] == [200] * 10
    html = responses[-1].get_data(as_text=True)
    assert responses[-1].status_code == 429
    assert "a lot of sign-in attempts" in html and 'value="someone10@example.test"' in html
    # Another browser on the same network is not punished for it.
    assert app.test_client().post("/login", data={"identifier": "x", "password": "y"}).status_code == 200


def _sign_up(client, n, prefix="Parent"):
    return client.post(
        "/register",
        data={
            "pseudonym": f"{prefix} {n}",
            "email": f"{prefix.lower()}{n}@example.test",
            "password": "a long password here",
        },
    )


def _fresh_browser(app):
    client = app.test_client()
    client.get("/register")
    return client


def test_registration_limit_keeps_the_form_and_spares_a_shared_network(tmp_path, db_url):
    """Issue 12, finding 11: the sixth sign-up from one address in an hour showed a bare 429 page."""
    app = _limited_app(tmp_path, db_url)
    client = _fresh_browser(app)
    codes = []
    for n in range(6):
        codes.append(_sign_up(client, n).status_code)
        client.post("/logout")
    assert codes == [302] * 5 + [429]
    html = _sign_up(client, 6).get_data(as_text=True)
    assert "sign-ups have come from this browser or network" in html
    assert 'value="Parent 6"' in html and 'value="parent6@example.test"' in html
    # Other parents on the same Wi-Fi (same address, their own browsers) can still join.
    assert _sign_up(_fresh_browser(app), 1, "Neighbour").status_code == 302


def test_registration_has_a_higher_ceiling_per_address(tmp_path, db_url):
    app = _limited_app(tmp_path, db_url)
    codes = [_sign_up(_fresh_browser(app), n).status_code for n in range(31)]
    assert codes == [302] * 30 + [429]
    # A different address is unaffected.
    other = app.test_client()
    other.get("/register", environ_base={"REMOTE_ADDR": "10.9.9.9"})
    assert (
        other.post(
            "/register",
            data={
                "pseudonym": "Elsewhere",
                "email": "elsewhere@example.test",
                "password": "a long password here",
            },
            environ_base={"REMOTE_ADDR": "10.9.9.9"},
        ).status_code
        == 302
    )


def test_posts_without_a_browser_id_share_one_allowance_per_address(tmp_path, db_url):
    app = _limited_app(tmp_path, db_url)
    codes = []
    for n in range(6):
        client = app.test_client()  # a script that keeps no cookies: never the same browser twice
        codes.append(_sign_up(client, n, "Script").status_code)
    assert codes == [302] * 5 + [429]


def test_an_expired_form_never_fails_over_a_limit(tmp_path, db_url):
    """The expired-token path shows the form again by calling the view (found by wapiti: a forged token on the
    twelfth sign-in gave a 500). A form with an expired token does nothing, so it counts against no limit."""
    app = _limited_app(tmp_path, db_url, WTF_CSRF_ENABLED=True)
    client = app.test_client()
    responses = [
        client.post(
            "/login",
            data={"csrf_token": "forged", "identifier": "target", "password": "wrong"},
            environ_base={"REMOTE_ADDR": "10.0.2.1"},
        )
        for i in range(12)
    ]
    assert [r.status_code for r in responses] == [200] * 12
    assert 'value="target"' in responses[-1].get_data(as_text=True)
    responses = [
        client.post(
            "/register",
            data={
                "csrf_token": "forged",
                "pseudonym": f"Late{i}",
                "email": "a@b.example",
                "password": "long enough password",
            },
        )
        for i in range(8)
    ]
    assert [r.status_code for r in responses] == [200] * 8
    assert 'value="Late7"' in responses[-1].get_data(as_text=True)


def test_a_real_token_over_the_limit_keeps_the_form_text(tmp_path, db_url):
    app = _limited_app(tmp_path, db_url, WTF_CSRF_ENABLED=True)
    client = app.test_client()
    for i in range(10):
        token = csrf_token(client.get("/login").get_data(as_text=True))
        client.post("/login", data={"csrf_token": token, "identifier": f"who{i}", "password": "wrong"})
    token = csrf_token(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"csrf_token": token, "identifier": "who10", "password": "wrong"})
    assert response.status_code == 429 and 'value="who10"' in response.get_data(as_text=True)


def test_reset_request_limit_keeps_the_form(tmp_path, db_url):
    app = _limited_app(tmp_path, db_url)
    client = app.test_client()
    client.get("/reset")
    codes = [client.post("/reset", data={"email": f"who{i}@example.test"}).status_code for i in range(6)]
    assert codes == [200] * 5 + [429]
    html = client.post("/reset", data={"email": "who6@example.test"}).get_data(as_text=True)
    assert "a lot of password resets" in html and 'value="who6@example.test"' in html
    assert app.test_client().post("/reset", data={"email": "x@example.test"}).status_code == 200


def test_reset_mails_to_one_address_are_capped_silently(tmp_path, db_url):
    from forum.mail import message_sent

    app = _limited_app(tmp_path, db_url)
    with app.app_context():
        email = make_user(pseudonym="Inbox").email
    sent = []

    def record(sender, message, **extra):
        sent.append(message)

    with message_sent.connected_to(record, app):
        pages = [
            app.test_client().post(
                "/reset", data={"email": email}, environ_base={"REMOTE_ADDR": f"10.4.0.{i}"}
            )
            for i in range(5)
        ]
    assert len(sent) == 3
    assert len({page.get_data(as_text=True).count("reset") for page in pages}) == 1  # the same page each time


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
