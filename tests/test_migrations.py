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
