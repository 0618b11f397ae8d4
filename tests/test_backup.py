"""`flask backup` / `flask restore`: a round trip keeps every row; restore guards the live data."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa

from forum import backup as backup_module
from forum import backup_tools
from forum.extensions import db
from forum.models import Draft, Reply, SiteSetting, Story, User
from forum.moderation import services as mod
from forum.moderation.targets import target_of
from forum.stories import services
from tests.conftest import count_rows, empty_tables
from tests.factories import make_user

BODY = "We tried a new bedtime routine with a story and a song, and after a week she settles."


def snapshot() -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table in the app's metadata, ordered by primary key."""
    db.session.rollback()
    rows = {}
    for table in db.metadata.sorted_tables:
        query = sa.select(table).order_by(*table.primary_key.columns)
        rows[table.name] = [tuple(row) for row in db.session.execute(query)]
    db.session.rollback()
    return rows


def seed_site() -> dict[str, int]:
    """A small site: members, tagged stories, replies, an update, reactions, a report, a note, a draft."""
    mum, dad, other = make_user(pseudonym="SunnyMum"), make_user(pseudonym="RainyDad"), make_user()
    moderator = make_user(pseudonym="KindMod", role="moderator")
    first = services.publish_story(
        mum, title="Bedtime battles", body=BODY, tags="sleep, bedtime", age_band="2-3"
    )
    second = services.publish_story(
        dad,
        title="Nursery drop-off",
        body=f"Drop-off tears again. {BODY}",
        tags="dropoff, sleep",
        anonymous=True,
    )
    reply = services.add_reply(dad, first, body="Same here, a song helped us a lot too.")
    services.add_reply(other, first, body="Thank you for writing this, it helps to know.")
    services.add_reply(mum, second, body="Sending you strength, it does get easier.")
    services.add_update(mum, first, body="A month on and bedtime is mostly calm now.", outcome="better")
    services.toggle_reaction(dad, kind="hugs", story=first)
    services.toggle_reaction(other, kind="me-too", story=first)
    services.toggle_reaction(mum, kind="got-this", reply=reply)
    db.session.commit()
    mod.report(other, target_of(second), reason="off-topic")
    mod.add_note(moderator, other, "Welcomed them to the forum.")
    mod.set_setting(moderator, "welfare_message", "Be gentle with each other ✨")
    first.embedding = bytes(range(256)) * 6  # binary column
    db.session.add(
        Draft(
            user_id=mum.id,
            key="story",
            title="Half",
            body="Half written…",
            extra={"anonymous": True, "remind": 4},
        )
    )
    db.session.commit()
    return {"users": 4, "stories": 2, "replies": 3}


def run(runner, *args: str):
    result = runner.invoke(args=list(args))
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def assert_schema_still_works(client, before: dict[str, list[tuple[object, ...]]]) -> None:
    """After a restore new rows get fresh ids (sequences intact) and search still finds old and new text."""
    author = make_user(pseudonym="AfterRestore")
    story = services.publish_story(
        author, title="After the restore", body="A zebra story written after restoring.", tags="sleep"
    )
    assert author.id > max(row[0] for row in before["users"])
    assert story.id > max(row[0] for row in before["stories"])
    assert "After the restore" in client.get("/search?q=zebra").get_data(as_text=True)
    assert "Bedtime battles" in client.get("/search?q=bedtime").get_data(as_text=True)
    if db.engine.dialect.name == "postgresql":
        query = sa.text("SELECT indexname FROM pg_indexes WHERE indexname LIKE 'ix_search_%'")
        indexes = set(db.session.scalars(query))
        assert indexes == {"ix_search_stories", "ix_search_replies", "ix_search_story_updates"}
    else:
        assert db.session.scalar(sa.text("SELECT count(*) FROM search_fts")) >= 7


def test_backup_then_forced_restore_brings_back_every_row(runner, client, tmp_path):
    counts = seed_site()
    before = snapshot()
    assert all(
        before[name]
        for name in (
            "users",
            "stories",
            "story_tags",
            "tags",
            "replies",
            "reactions",
            "flags",
            "audit_entries",
            "moderator_notes",
            "drafts",
            "site_settings",
        )
    )
    target = tmp_path / "nightly" / "village.backup"
    target.parent.mkdir()

    made = run(runner, "backup", str(target))
    assert made.exit_code == 0, made.output
    size = target.stat().st_size
    dialect = "SQLite" if db.engine.dialect.name == "sqlite" else "PostgreSQL"
    assert made.output.strip().splitlines() == [
        f"Backed up the {dialect} database to {target} ({backup_tools.human_size(size)}, {size} bytes)."
    ]
    assert target.stat().st_mode & 0o077 == 0  # private: it holds e-mail addresses and password hashes
    assert sorted(p.name for p in target.parent.iterdir()) == ["village.backup"]

    # Change the site after the backup: new rows, an edit and a deletion must all be undone by the restore.
    newcomer = make_user(pseudonym="Newcomer")
    services.publish_story(newcomer, title="Written after the backup", body=BODY)
    db.session.execute(sa.update(Reply).values(body="edited after the backup"))
    db.session.execute(sa.delete(SiteSetting))
    db.session.commit()
    assert snapshot() != before

    restored = run(runner, "restore", str(target), "--force")
    assert restored.exit_code == 0, restored.output
    assert (
        f"Restored the {dialect} database from {target}: {counts['users']} users, {counts['stories']} stories, "
        f"{counts['replies']} replies (the data that was there before was replaced)." in restored.output
    )
    assert snapshot() == before

    # Into an empty database no --force is needed.
    empty_tables()
    again = run(runner, "restore", str(target))
    assert again.exit_code == 0, again.output
    assert "replaced" not in again.output
    assert snapshot() == before

    assert_schema_still_works(client, before)


def test_restore_refuses_a_database_with_data_without_force(runner, member, tmp_path):
    target = tmp_path / "site.backup"
    assert run(runner, "backup", str(target)).exit_code == 0
    services.publish_story(member, title="Written later", body=BODY)

    refused = run(runner, "restore", str(target))
    assert refused.exit_code != 0
    assert "not empty" in refused.output and "1 user, 1 story" in refused.output
    assert "--force" in refused.output
    assert count_rows(Story) == 1  # nothing was touched


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"just some text, not a backup\n",
        b"SQLite format 3\x00" + b"\xff" * 2000,
        b"PGDMP" + b"\x00garbage" * 200,
    ],
    ids=["empty", "text", "broken-sqlite", "broken-pgdump"],
)
def test_restoring_garbage_is_a_clear_error_and_changes_nothing(runner, member, tmp_path, content):
    bad = tmp_path / "bad.backup"
    bad.write_bytes(content)
    result = run(runner, "restore", str(bad), "--force")
    assert result.exit_code != 0
    assert result.output.startswith("Error: ")
    assert str(bad) in result.output
    assert count_rows(User) == 1


def test_restoring_a_missing_file_or_the_other_databases_kind_is_a_clear_error(runner, member, tmp_path):
    missing = run(runner, "restore", str(tmp_path / "nope.backup"), "--force")
    assert missing.exit_code != 0 and "There is no backup file at" in missing.output

    if db.engine.dialect.name == "sqlite":
        other = tmp_path / "from-postgres.backup"
        other.write_bytes(b"PGDMP\x01\x0e\x00" + b"\x00" * 100)
        expected = "is a PostgreSQL backup, but this site runs on SQLite"
    else:
        other = tmp_path / "from-sqlite.db"
        connection = sqlite3.connect(other)
        connection.execute("CREATE TABLE users (id INTEGER PRIMARY KEY)")
        connection.close()
        expected = "is a SQLite backup, but this site runs on PostgreSQL"
    wrong = run(runner, "restore", str(other), "--force")
    assert wrong.exit_code != 0 and expected in wrong.output
    assert count_rows(User) == 1


def test_a_sqlite_file_that_is_not_a_village_backup_is_refused(runner, member, tmp_path):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite only")
    stranger = tmp_path / "other-app.db"
    connection = sqlite3.connect(stranger)
    connection.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
    connection.close()
    result = run(runner, "restore", str(stranger), "--force")
    assert result.exit_code != 0 and "doesn't look like a Village backup" in result.output
    assert count_rows(User) == 1


def test_a_failed_backup_leaves_no_partial_file_and_keeps_the_previous_one(
    runner, member, tmp_path, monkeypatch
):
    target = tmp_path / "village.backup"
    assert run(runner, "backup", str(target)).exit_code == 0
    previous = target.read_bytes()

    def half_then_fail(temp: Path) -> None:
        temp.write_bytes(previous[: len(previous) // 2])
        raise backup_module.BackupError("the disk filled up")

    monkeypatch.setattr(backup_module, "_dump_sqlite", half_then_fail)
    monkeypatch.setattr(backup_module, "_dump_postgresql", half_then_fail)
    failed = run(runner, "backup", str(target))
    assert failed.exit_code != 0 and "the disk filled up" in failed.output
    assert target.read_bytes() == previous
    assert [p.name for p in tmp_path.iterdir()] == ["village.backup"]

    fresh = tmp_path / "fresh.backup"
    assert run(runner, "backup", str(fresh)).exit_code != 0
    assert not fresh.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["village.backup"]


def test_backup_to_a_missing_folder_or_onto_the_live_database_is_refused(runner, member, tmp_path):
    nowhere = run(runner, "backup", str(tmp_path / "missing" / "x.backup"))
    assert nowhere.exit_code != 0 and "doesn't exist" in nowhere.output
    if db.engine.dialect.name == "sqlite":
        live = run(runner, "backup", db.engine.url.database)
        assert live.exit_code != 0 and "is the live database itself" in live.output
        assert count_rows(User) == 1
