"""Look-alike pseudonyms and staff labels (issue 12, finding 6): nobody can register a name that reads as
another member's, as one of Village's own labels or as staff; staff are marked on their named posts only."""

from __future__ import annotations

from html import unescape
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from forum import names
from forum.auth import services
from forum.extensions import db
from forum.models import User
from tests.conftest import count_rows, make_app
from tests.factories import make_reply, make_story, make_user
from tests.test_migrations import empty_database_url  # noqa: F401 - a scratch database of the kind under test


def register(client, pseudonym, email="new@example.test", password="a long password here"):
    return client.post("/register", data={"pseudonym": pseudonym, "email": email, "password": password})


@pytest.mark.parametrize(
    "lookalike",
    [
        "\u0391liceA",  # Greek capital Alpha
        "\uff21liceA",  # full-width A
        "Al\u0456ceA",  # Cyrillic small i
        "AIiceA",  # capital I for l
        "A1iceA",  # digit one for l
        "Alice A",
        "Alice.A",
        "alice_a",
        "\U0001d400liceA",  # mathematical bold A
    ],
)
def test_lookalikes_of_a_member_are_refused_with_the_form_kept(client, lookalike):
    make_user(pseudonym="AliceA")
    response = register(client, lookalike)
    html = unescape(response.get_data(as_text=True))
    assert response.status_code == 200
    assert "looks too much like another member's name" in html
    assert f'value="{lookalike}"' in html and 'value="new@example.test"' in html
    assert count_rows(User) == 1


def test_a_cyrillic_lookalike_of_a_staff_name_is_refused(client):
    make_user(pseudonym="AuditAdmin", role="admin")
    response = register(client, "Audit\u0410dmin")  # Cyrillic capital A
    assert response.status_code == 200 and count_rows(User) == 1


@pytest.mark.parametrize(
    "label",
    [
        "Admin",
        "ADMIN",
        "admin",
        "Adm1n",
        "\u0410dmin",
        "A d m i n",
        "Moderator",
        "MODERATOR",
        "Mod\u0435rator",  # Cyrillic e
        "Village Team",
        "village_team",
        "VillageTeam",
        "Anonymous parent",
        "Anonymous Parent",
        "AnonymousParent",
        "Former member",
        "A former member",
        "Jane Moderator",
        "AdminSam",
        "deleted-12",
    ],
)
def test_village_labels_and_staff_titles_are_reserved(client, label):
    response = register(client, label)
    html = unescape(response.get_data(as_text=True))
    assert response.status_code == 200
    assert "reads like one of Village's own labels or a staff title" in html
    assert f'value="{label}"' in html
    assert count_rows(User) == 0


@pytest.mark.parametrize(
    "name", ["Badminton mum", "Sam", "Zo\u00eb", "\u0410\u043d\u043d\u0430", "Parent 42"]
)
def test_ordinary_names_are_welcome(client, name):
    make_user(pseudonym="Pam")
    assert register(client, name).status_code == 302


def test_the_same_name_in_other_capitals_is_taken(client):
    make_user(pseudonym="AliceA")
    html = register(client, "ALICEA").get_data(as_text=True)
    assert "That pseudonym is taken" in html and count_rows(User) == 1


def test_lookalike_key_folds_scripts_case_digits_and_separators():
    key = names.lookalike_key
    assert key("AliceA") == key("\u0391liceA") == key("\uff21liceA") == key("al1ce a") == key("A.L.I.C.E.A")
    assert key("admin") == key("ADMIN") == key("Adm1n") == key("adrnin")
    assert key("Sam") != key("Pam") and key("Zoe") != key("Zo\u00eb")
    assert len(key("m" * 30)) <= names.KEY_LENGTH


def test_a_lookalike_registered_at_the_same_moment_is_refused_by_the_unique_index(client, monkeypatch):
    """Two sign-ups racing: both pass the look-up, the second commit meets the unique key and becomes a field
    error, not a 500."""
    real_errors = services.pseudonym_errors
    raced = []

    def check_then_lose_the_race(pseudonym, **kwargs):
        errors = real_errors(pseudonym, **kwargs)
        if not raced:
            raced.append(True)
            make_user(pseudonym="\u0391liceA", email="first@example.test")  # the other request commits first
        return errors

    monkeypatch.setattr(services, "pseudonym_errors", check_then_lose_the_race)
    response = register(client, "AliceA")
    html = unescape(response.get_data(as_text=True))
    assert response.status_code == 200
    assert "looks too much like another member's name" in html and 'value="AliceA"' in html
    assert count_rows(User) == 1


def test_key_follows_the_name_and_a_deleted_members_name_is_free_again(client):
    user = make_user(pseudonym="AliceA")
    assert user.pseudonym_skeleton == names.lookalike_key("AliceA")
    user.pseudonym = "Bobby"
    db.session.commit()
    assert user.pseudonym_skeleton == names.lookalike_key("Bobby")
    services.erase_account(user, keep_stories=False)
    assert db.session.get(User, user.id).pseudonym_skeleton is None
    services.erase_account(make_user(pseudonym="Carol"), keep_stories=False)  # tombstones don't collide
    assert register(client, "Bobby").status_code == 302


def test_migration_fills_keys_oldest_first_and_keeps_existing_lookalikes(
    tmp_path: Path,
    empty_database_url: str,  # noqa: F811 - the fixture imported above
):
    app = make_app(tmp_path, empty_database_url)
    with app.app_context():
        upgrade(revision="0003")
        rows = [
            ("AliceA", "alicea", None),
            ("\u0391liceA", "\u03b1licea", None),  # registered before look-alikes were refused
            ("Gone", "deleted-3", "2024-01-01 00:00:00"),
            ("Sam", "sam", None),
        ]
        for n, (pseudonym, key, deleted_at) in enumerate(rows, start=1):
            db.session.execute(
                sa.text(
                    "INSERT INTO users (id, pseudonym, pseudonym_key, role, created_at, deleted_at, "
                    "credentials_version) VALUES (:id, :p, :k, 'member', '2024-01-01 00:00:00', :d, 0)"
                ),
                {"id": n, "p": pseudonym, "k": key, "d": deleted_at},
            )
        db.session.commit()
        upgrade(revision="0004")
        keys = dict(db.session.execute(sa.text("SELECT id, pseudonym_skeleton FROM users")).all())
        assert keys == {1: names.lookalike_key("AliceA"), 2: None, 3: None, 4: names.lookalike_key("Sam")}
        with pytest.raises(sa.exc.IntegrityError):
            db.session.execute(
                sa.text("UPDATE users SET pseudonym_skeleton = :k WHERE id = 4"), {"k": keys[1]}
            )
        db.session.rollback()
        db.session.remove()
        db.engine.dispose()


def test_staff_badge_on_named_posts_only(client, moderator, admin, member):
    named = make_story(moderator, title="From the moderator", body="We are here to help, " * 3)
    anonymous = make_story(
        moderator, title="Mine, anonymously", body="Something hard to share. " * 3, anonymous=True
    )
    make_reply(moderator, anonymous, body="Thank you all, this helps me.")  # her own anonymous thread
    make_reply(admin, named, body="Welcome, everyone, glad you're here.")
    make_reply(member, named, body="Thank you for this, it helps.")

    page = client.get(f"/stories/{named.id}").get_data(as_text=True)
    assert page.count('class="staff-badge"') == 2  # the moderator's story and the admin's reply
    assert ">Moderator</span>" in page and ">Admin</span>" in page

    hidden = client.get(f"/stories/{anonymous.id}").get_data(as_text=True)
    assert "staff-badge" not in hidden and moderator.pseudonym not in hidden

    feed = client.get("/").get_data(as_text=True)
    assert feed.count('class="staff-badge"') == 1  # on the named story's card, not the anonymous one


def test_staff_badge_in_notifications(app, moderator, member):
    from tests.factories import signed_in_client

    story = make_story(member, title="Mine", body="A hard week with the baby, " * 3)
    make_reply(moderator, story, body="Thinking of you, you're not alone.")
    page = signed_in_client(app, member).get("/notifications").get_data(as_text=True)
    assert moderator.pseudonym in page and ">Moderator</span>" in page


def test_a_name_typed_with_combining_marks_is_the_composed_name(client):
    assert register(client, "Zoe\u0308 B").status_code == 302  # e + combining diaeresis
    user = db.session.scalar(sa.select(User))
    assert user.pseudonym == "Zo\u00eb B"
    client.post("/logout")
    signed_in = client.post("/login", data={"identifier": "Zoe\u0308 b", "password": "a long password here"})
    assert signed_in.status_code == 302
