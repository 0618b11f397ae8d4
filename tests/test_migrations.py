"""The Alembic migrations build exactly the schema the models describe, and undo it cleanly."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from forum.database import include_in_autogenerate
from forum.extensions import db
from tests.conftest import make_app


@pytest.fixture
def empty_database_url(tmp_path: Path) -> Iterator[str]:
    """A brand-new empty database of the kind under test (SQLite file, or a scratch PostgreSQL database)."""
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        yield f"sqlite:///{tmp_path / 'migrations.db'}"
        return
    server = sa.make_url(url).set(drivername="postgresql+psycopg")
    name = f"village_migrations_{uuid.uuid4().hex[:8]}"
    admin_engine = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin_engine.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin_engine.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin_engine.dispose()


def schema_differences(connection: sa.Connection) -> list[object]:
    """What autogenerate would still change to match the models (full-text objects excluded)."""
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "include_object": include_in_autogenerate}
    )
    return list(compare_metadata(context, db.metadata))


def test_migrations_match_models_and_downgrade(tmp_path: Path, empty_database_url: str) -> None:
    app = make_app(tmp_path, empty_database_url)
    with app.app_context():
        upgrade()
        with db.engine.connect() as connection:
            assert schema_differences(connection) == []
        downgrade(revision="base")
        remaining = set(sa.inspect(db.engine).get_table_names()) - {"alembic_version"}
        assert remaining == set()
        db.engine.dispose()


def _row_counts(tables: tuple[str, ...]) -> dict[str, int]:
    return {name: db.session.scalar(sa.text(f"SELECT count(*) FROM {name}")) for name in tables}  # noqa: S608


def test_migrations_that_rebuild_a_table_keep_the_rows_that_reference_it(
    tmp_path: Path, empty_database_url: str
) -> None:
    """On SQLite a batch migration rebuilds a table (copy, drop, rename); with foreign keys on, the drop
    deleted every reply, reaction and tag of every story (found when 0010 emptied a 100k-story database)."""
    from forum.models import Reaction, ReactionKind
    from tests.factories import make_reply, make_story, make_user

    app = make_app(tmp_path, empty_database_url)
    tables = ("stories", "replies", "reactions", "story_tags")
    with app.app_context():
        upgrade()
        author, reader = make_user("author"), make_user("reader")
        story = make_story(author, title="Drop-off", tags="nurseryguilt")
        make_reply(reader, story)
        db.session.add(Reaction(user_id=reader.id, story_id=story.id, kind=ReactionKind.ME_TOO.value))
        db.session.commit()
        before = _row_counts(tables)
        db.session.remove()
        assert all(before.values()), before
        downgrade(revision="0007")  # back over 0010, whose downgrade rebuilds stories too
        upgrade()
        assert _row_counts(tables) == before
        db.session.remove()
        db.engine.dispose()
