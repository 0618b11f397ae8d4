"""Accounts through HTTP: registration, sign-in, sign-out, settings, password reset, deletion, roles."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from forum.auth import services
from forum.extensions import db
from forum.mail import message_sent
from forum.models import LoginSession, Reaction, Status, Story, User
from tests.factories import DEFAULT_PASSWORD, make_user

NEW_PASSWORD = "a brand new long password"


def register(client, pseudonym="Sunny Mum", email="sunny@example.test", password="a long password here"):
    return client.post("/register", data={"pseudonym": pseudonym, "email": email, "password": password})


def login(client, identifier, password=DEFAULT_PASSWORD, **extra):
    return client.post("/login", data={"identifier": identifier, "password": password, **extra})


def test_register_signs_in_and_only_pseudonym_is_public(client):
    response = register(client)
    assert response.status_code == 302
    settings = client.get("/settings").get_data(as_text=True)
    assert "Sunny Mum" in settings and "sunny@example.test" in settings
    user = db.session.scalar(sa.select(User).where(User.pseudonym_key == "sunny mum"))
    assert user.password_hash.startswith("$argon2id$")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"pseudonym": "ab"}, "3 to 30 characters"),
        ({"pseudonym": "<script>"}, "Use letters, numbers"),
        ({"email": "not-an-email"}, "look like an email"),
        ({"password": "short"}, "at least 10 characters"),
        ({"password": "Sunny Mum is great"}, "pseudonym or email"),
    ],
)
def test_register_errors_keep_what_was_typed(client, data, message):
    fields = {
        "pseudonym": "Sunny Mum",
        "email": "sunny@example.test",
        "password": "a long password here",
        **data,
    }
    response = client.post("/register", data=fields)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert message in html.replace("&#39;", "'")
    assert 'value="sunny@example.test"' in html or fields["email"] in html
    assert f'value="{fields["password"]}"' not in html  # passwords are never echoed back


def test_pseudonym_and_email_are_unique_case_insensitively(client, member):
    response = register(client, pseudonym=member.pseudonym.upper(), email=member.email.upper())
    html = response.get_data(as_text=True)
    assert "pseudonym is taken" in html and "already uses this email" in html
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 1


@pytest.mark.parametrize(
    "identifier", ["SunnyMum", "sunnymum", "sunnymum@example.test", "SUNNYMUM@example.test"]
)
def test_login_with_pseudonym_or_email(client, member, identifier):
    assert login(client, identifier).status_code == 302
    assert client.get("/settings").status_code == 200


def test_failed_login_never_says_whether_account_exists(client, member):
    wrong_password = login(client, member.pseudonym, "not the password at all").get_data(as_text=True)
    no_account = login(client, "nobody-here", "not the password at all").get_data(as_text=True)
    message = "don&#39;t match"
    assert message in wrong_password and message in no_account
    assert "nobody-here" in no_account  # what was typed is kept


@pytest.mark.parametrize(
    "target", ["//evil.example/", "https://evil.example/", "/\\evil.example", "javascript:alert(1)"]
)
def test_login_next_never_leaves_the_site(client, member, target):
    response = login(client, member.pseudonym, next=target)
    assert response.status_code == 302
    assert response.location == "/"


def test_login_follows_local_next_with_query(client, member):
    response = login(client, member.pseudonym, next="/settings?tab=1")
    assert response.location == "/settings?tab=1"


def test_logout_ends_session_on_server(app, client, member):
    login(client, member.pseudonym)
    cookie = client.get_cookie("village_session").value
    assert client.post("/logout").status_code == 302
    assert db.session.scalar(sa.select(sa.func.count()).select_from(LoginSession)) == 0
    replay = app.test_client()
    replay.set_cookie("village_session", cookie)
    assert replay.get("/settings").status_code == 302  # the copied cookie no longer signs anyone in


def test_remember_me_sets_cookie(client, member):
    response = login(client, member.pseudonym, remember="y")
    assert any(
        c.startswith("remember_token=") and "HttpOnly" in c for c in response.headers.getlist("Set-Cookie")
    )


def test_change_password_signs_out_other_browsers(app, client, member):
    login(client, member.pseudonym)
    other = app.test_client()
    login(other, member.pseudonym)
    response = client.post(
        "/settings/password",
        data={"current": DEFAULT_PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    assert response.status_code == 302
    assert client.get("/settings").status_code == 200
    assert other.get("/settings").status_code == 302
    client.post("/logout")
    assert login(client, member.pseudonym, NEW_PASSWORD).status_code == 302


def test_change_password_needs_current_one(client, auth, member):
    auth.login(member)
    response = client.post(
        "/settings/password",
        data={"current": "wrong password here", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    assert "current password" in response.get_data(as_text=True)


def test_sign_out_everywhere_else(app, client, member):
    login(client, member.pseudonym)
    other = app.test_client()
    login(other, member.pseudonym)
    client.post("/settings/sessions")
    assert other.get("/settings").status_code == 302
    assert client.get("/settings").status_code == 200


@pytest.fixture
def outbox(app):
    messages = []

    def record(sender, message, **extra):
        messages.append(message)

    message_sent.connect(record, app)
    yield messages
    message_sent.disconnect(record, app)


def reset_link(message) -> str:
    return re.search(r"http://localhost(/reset/\S+)", message.get_content()).group(1)


def test_password_reset_round_trip_single_use(client, member, outbox):
    response = client.post("/reset", data={"email": member.email.upper()})
    assert "Check your email" in response.get_data(as_text=True)
    (message,) = outbox
    assert message["To"] == member.email and "Reset your Village password" in message["Subject"]
    link = reset_link(message)
    assert client.get(link).status_code == 200
    done = client.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert done.status_code == 302
    assert login(client, member.pseudonym, NEW_PASSWORD).status_code == 302
    again = client.get(link)
    assert again.status_code == 400 and "already been used" in again.get_data(as_text=True)


def test_reset_for_unknown_email_looks_the_same(client, outbox):
    response = client.post("/reset", data={"email": "nobody@example.test"})
    assert "Check your email" in response.get_data(as_text=True)
    assert outbox == []


def test_expired_and_forged_reset_links_are_refused(app, client, member, monkeypatch):
    token = services.make_reset_token(member)
    with monkeypatch.context() as patch:
        patch.setitem(app.config, "PASSWORD_RESET_MAX_AGE", -1)
        assert "expired" in client.get(f"/reset/{token}").get_data(as_text=True)
    assert "isn&#39;t valid" in client.get(f"/reset/{token}x").get_data(as_text=True)


def test_delete_account_keeping_stories(client, auth, member, other_member):
    from forum.stories.services import publish_story, toggle_reaction

    story = publish_story(member, body="A story long enough to be kept after I leave Village.", title="Kept")
    toggle_reaction(
        member, kind="hugs", story=publish_story(other_member, body="Another story that got a hug from me.")
    )
    auth.login(member)
    response = client.post("/settings/delete", data={"keep_stories": "keep", "password": DEFAULT_PASSWORD})
    assert response.status_code == 302
    db.session.expire_all()
    user = db.session.get(User, member.id)
    assert user.email is None and user.password_hash is None and user.deleted_at is not None
    kept = db.session.get(Story, story.id)
    assert kept.status == Status.PUBLISHED.value and kept.author_id is None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Reaction)) == 0
    page = client.get(f"/stories/{story.id}").get_data(as_text=True)
    assert "former member" in page and "SunnyMum" not in page
    assert login(client, "sunnymum@example.test").status_code == 200  # can't sign in any more


def test_delete_account_removing_stories(client, auth, member):
    from forum.stories.services import publish_story

    story = publish_story(member, body="A story I want gone when I delete my account.", title="Gone")
    auth.login(member)
    client.post("/settings/delete", data={"keep_stories": "remove", "password": DEFAULT_PASSWORD})
    db.session.expire_all()
    removed = db.session.get(Story, story.id)
    assert removed.status == Status.DELETED.value and removed.body == "" and removed.title is None


def test_delete_account_needs_password(client, auth, member):
    auth.login(member)
    response = client.post("/settings/delete", data={"keep_stories": "keep", "password": "not my password!"})
    assert "isn&#39;t your password" in response.get_data(as_text=True)
    assert db.session.get(User, member.id).email is not None


@pytest.mark.parametrize("path", ["/settings", "/settings/delete"])
def test_account_pages_need_sign_in(client, path):
    response = client.get(path)
    assert response.status_code == 302 and "/login" in response.location


@pytest.mark.parametrize("path", ["/settings/password", "/settings/sessions", "/settings/delete"])
def test_account_actions_need_sign_in(client, path):
    response = client.post(path, data={})
    assert response.status_code == 302 and "/login" in response.location


def test_create_admin_command(runner):
    result = runner.invoke(
        args=[
            "users",
            "create-admin",
            "--pseudonym",
            "Boss",
            "--email",
            "boss@example.test",
            "--password",
            "a long admin password",
        ]
    )
    assert result.exit_code == 0, result.output
    assert db.session.scalar(sa.select(User.role).where(User.pseudonym_key == "boss")) == "admin"
    again = runner.invoke(
        args=[
            "users",
            "create-admin",
            "--pseudonym",
            "Boss",
            "--email",
            "b2@example.test",
            "--password",
            "a long admin password",
        ]
    )
    assert again.exit_code == 1 and "taken" in again.output


def test_set_role_command(runner, member):
    result = runner.invoke(args=["users", "set-role", member.pseudonym, "moderator"])
    assert result.exit_code == 0
    db.session.expire_all()
    assert db.session.get(User, member.id).is_moderator


def test_banned_member_cannot_sign_in(client, member):
    from forum.models import utcnow

    member.banned_at = utcnow()
    db.session.commit()
    response = login(client, member.pseudonym)
    assert "closed by the moderators" in response.get_data(as_text=True)
    assert client.get("/settings").status_code == 302


def test_make_user_factory_password_works(client):
    user = make_user(pseudonym="Factory")
    assert login(client, user.pseudonym).status_code == 302


def test_reset_mail_is_delivered_over_smtp(tmp_path, db_url):
    """Real SMTP delivery to an in-process sink (aiosmtpd), as with MAIL_SERVER in production."""
    import email
    import email.policy
    import socket
    import time

    from aiosmtpd.controller import Controller

    from tests.conftest import make_app

    class Sink:
        def __init__(self) -> None:
            self.messages: list = []

        async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, N802 - aiosmtpd's hook name
            self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
            return "250 OK"

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        app = make_app(tmp_path, db_url, MAIL_SERVER="127.0.0.1", MAIL_PORT=port)
        with app.app_context():
            user = make_user(pseudonym="MailMum")
            address = user.email
        app.test_client().post("/reset", data={"email": address})
        for _ in range(50):
            if sink.messages:
                break
            time.sleep(0.05)
        (message,) = sink.messages
        assert message["To"] == address and message["Subject"] == "Reset your Village password"
        assert re.search(r"http://localhost/reset/\S+", message.get_body().get_content())
    finally:
        controller.stop()
        with app.app_context():
            from tests.conftest import empty_tables

            empty_tables()


def test_an_unknown_name_costs_one_password_check_like_a_known_one(client, member, monkeypatch):
    """A sign-in with an unknown name used to hash a dummy password and then check it (two argon2 runs against
    one for a known name), so its timing told that the name had no account."""
    from argon2 import PasswordHasher

    calls = []
    for name in ("hash", "verify"):
        real = getattr(PasswordHasher, name)
        monkeypatch.setattr(
            PasswordHasher,
            name,
            lambda self, *a, _real=real, _name=name: calls.append(_name) or _real(self, *a),
        )
    login(client, "nobody-here", "wrong password")  # the first one may make the dummy hash
    calls.clear()
    login(client, "nobody-here", "wrong password")
    unknown = list(calls)
    calls.clear()
    login(client, member.pseudonym, "wrong password")
    assert unknown == calls == ["verify"]
