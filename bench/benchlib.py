"""Small helpers shared by the bench scripts (each runs as `python bench/<name>.py`, so this is importable)."""

from __future__ import annotations


def postgres_reachable(database_url: str) -> bool:
    """Whether the PostgreSQL server of this URL answers (its `postgres` database; the named one may not exist)."""
    import sqlalchemy as sa

    engine = sa.create_engine(database_url.rsplit("/", 1)[0] + "/postgres")
    try:
        with engine.connect():
            return True
    except Exception:  # noqa: BLE001 - any failure means "not here"
        return False
    finally:
        engine.dispose()
