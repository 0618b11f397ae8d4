"""Engine tuning per database (SQLite gets WAL, foreign keys and a busy timeout), and small SQL helpers."""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa
from flask import Flask, has_request_context, request
from sqlalchemy.orm import ORMExecuteState, Session

from forum.extensions import db

logger = logging.getLogger(__name__)


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def configure_engine(app: Flask) -> None:
    """Attach per-connection settings to the app's engine, and make the session's teardown safe."""
    with app.app_context():
        engine = db.engine
        if engine.dialect.name == "sqlite":
            sa.event.listen(engine, "connect", _sqlite_on_connect)
    funcs = app.teardown_appcontext_funcs
    funcs[:] = [_remove_session if getattr(f, "__func__", None) is _FSA_TEARDOWN else f for f in funcs]


_FSA_TEARDOWN = type(db)._teardown_session


def _remove_session(_exc: BaseException | None) -> None:
    """End the request's session without ever failing the request.

    The response is already made (a committed post is saved). If the connection died after the request's last
    query (PostgreSQL shutting down or restarting, a terminated backend), the rollback that closing the
    session sends raises; raised here, outside every error handler, it would make the server answer its own
    500 for a request that succeeded. Log it, drop the connection from the pool, forget the session."""
    try:
        db.session.remove()
    except Exception:  # noqa: BLE001 - the request's answer stands whatever happens to its connection
        logger.warning("the database connection failed while a request ended; it is discarded", exc_info=True)
        try:
            db.session().invalidate()
        except Exception:  # noqa: BLE001
            logger.warning("could not discard the failed connection", exc_info=True)
        db.session.registry.clear()


def sql_constant(value: str | int) -> Any:
    """One of the code's own constants (a tag, a status, a number) written into the SQL instead of bound: a
    prebuilt statement's bound parameters are all processed again at every execution. Never for anything a
    user typed."""
    if isinstance(value, int):
        return sa.literal_column(str(value))
    if "'" in value:
        raise ValueError(f"not a plain constant: {value!r}")
    return sa.literal_column(f"'{value}'")


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


def forget_when_written(model: type[Any], attribute: str) -> None:
    """A value kept on the request (`request.<attribute>`) that was read from `model`'s table is dropped as
    soon as the request writes that table: rows added, changed or deleted through the session, or a bulk
    UPDATE or DELETE. The next reader then reads it again instead of seeing what was there before."""
    table_name = model.__tablename__

    def forget() -> None:
        if has_request_context() and hasattr(request, attribute):
            delattr(request, attribute)

    @sa.event.listens_for(Session, "do_orm_execute")
    def _bulk_written(state: ORMExecuteState) -> None:
        table = getattr(state.statement, "table", None)
        if (state.is_update or state.is_delete) and getattr(table, "name", None) == table_name:
            forget()

    @sa.event.listens_for(Session, "before_flush")
    def _flushed(session: Session, _context: object, _instances: object) -> None:
        if any(isinstance(item, model) for item in (*session.new, *session.dirty, *session.deleted)):
            forget()
