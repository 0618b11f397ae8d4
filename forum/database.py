"""Engine tuning per database: SQLite gets WAL, foreign keys and a busy timeout."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Flask

from forum.extensions import db


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def configure_engine(app: Flask) -> None:
    """Attach per-connection settings to the app's engine."""
    with app.app_context():
        engine = db.engine
        if engine.dialect.name == "sqlite":
            sa.event.listen(engine, "connect", _sqlite_on_connect)


def is_sqlite() -> bool:
    """True when the app runs on the embedded SQLite database."""
    return db.engine.dialect.name == "sqlite"


# Full-text search objects are created by hand-written DDL, not by the models: autogenerate must skip them.
SEARCH_TABLE_PREFIX = "search_"


def include_in_autogenerate(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """Alembic filter: leave the full-text search tables and indexes out of model comparisons."""
    if type_ == "table" and name and (name.startswith(SEARCH_TABLE_PREFIX) or name.startswith("sqlite_")):
        return False
    if type_ == "index" and name and name.startswith("ix_search_"):
        return False
    return True
