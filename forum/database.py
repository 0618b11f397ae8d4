"""Engine tuning per database (SQLite gets WAL, foreign keys and a busy timeout; PostgreSQL reads outside a
transaction), and small SQL helpers."""

from __future__ import annotations

import functools
import logging
import re
import select
import time
from collections.abc import Callable
from typing import Any

import psycopg
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


# --- PostgreSQL: a transaction only where something is written or locked ------------------------------------
#
# Most requests only read, and psycopg's default wraps every request in BEGIN ... ROLLBACK: two round trips
# (and the server's work for them) around a signed-in page that is otherwise one statement. So connections
# run in autocommit, and a transaction starts (BEGIN, sent just before) at the first statement that writes,
# locks or changes the schema, as SQLite's driver does; COMMIT and ROLLBACK then end it as before (psycopg
# sends them only when a transaction is open). Reads before that first write see the latest committed rows at
# each statement, which is what READ COMMITTED (PostgreSQL's default, used here) gave inside the transaction
# too; everything from the first write on is one transaction, as before.
_PLAIN_READ = re.compile(r"\s*(SELECT|WITH|SHOW|VALUES)\b", re.IGNORECASE)
_WRITES_OR_LOCKS = re.compile(
    r"\b(INSERT|UPDATE|DELETE|MERGE|FOR\s+(NO\s+KEY\s+)?UPDATE|FOR\s+(KEY\s+)?SHARE|pg_advisory_xact_lock\w*)\b",
    re.IGNORECASE,
)


# What PostgreSQL refuses to run inside a transaction block.
_OUTSIDE_TRANSACTIONS = re.compile(
    r"\s*(VACUUM|CREATE\s+DATABASE|DROP\s+DATABASE|ALTER\s+SYSTEM|(CREATE|DROP|REINDEX)\b[\w\s]*?\bCONCURRENTLY)\b",
    re.IGNORECASE,
)


@functools.lru_cache(maxsize=4096)
def needs_transaction(statement: str) -> bool:
    """Whether a statement must run inside a transaction: anything but a plain read (a SELECT that writes
    nothing and locks nothing) or a statement PostgreSQL runs only outside one (VACUUM and the like)."""
    if _OUTSIDE_TRANSACTIONS.match(statement):
        return False
    return not _PLAIN_READ.match(statement) or _WRITES_OR_LOCKS.search(statement) is not None


def _postgres_autocommit(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.autocommit = True


def _begin_before_writes(
    conn: sa.Connection, cursor: Any, statement: str, _params: Any, _context: Any, _executemany: bool
) -> None:
    dbapi_connection = cursor.connection
    if conn.get_execution_options().get("isolation_level") == "AUTOCOMMIT":
        return  # asked for by the caller: every statement on its own
    # A server-side cursor (a read streamed in batches) lives in a transaction too.
    if dbapi_connection.autocommit and (
        needs_transaction(statement) or isinstance(cursor, psycopg.ServerCursor)
    ):
        if dbapi_connection.info.transaction_status == psycopg.pq.TransactionStatus.IDLE:
            dbapi_connection.execute("BEGIN")


# A connection is checked before use without a round trip: an idle connection has nothing to read, so one whose
# socket is readable was told something, usually that its backend is gone (PostgreSQL shutting down or
# restarting, a terminated backend); that one, and one that sat in the pool for a while (a dropped connection
# says nothing), is pinged. Pinging at every checkout was a round trip on every request. A connection that dies
# without a word while in constant use fails its request once, and the pool then replaces every connection older
# than the failure.
PING_AFTER_IDLE_SECONDS = 2.0


def _told_something(dbapi_connection: Any) -> bool:
    try:
        return bool(select.select([dbapi_connection.fileno()], [], [], 0)[0])
    except (OSError, ValueError, AttributeError):
        return True  # closed or unusable: the ping says so


def _ping_after_idle(engine: sa.Engine) -> None:
    @sa.event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_connection: Any, record: Any) -> None:
        if record is not None:
            record.info["checked_in_at"] = time.monotonic()

    @sa.event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("checked_in_at")
        recently_used = idle_since is not None and time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS
        if recently_used and not _told_something(dbapi_connection):
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as error:
            raise sa.exc.DisconnectionError() from error  # the pool connects afresh and tries again


# psycopg turns each statement's %(name)s placeholders into PostgreSQL's $1, $2 by parsing its text, and caches the
# result for statements up to 4 KB (psycopg._queries, a guard against one-off generated SQL). A signed-in page's
# sign-in statement carries the page's own read and runs to 6.6 KB (the story page's): parsed again at every
# request, 6% of a profiled kept story page. Every statement Village runs often is built once (a fixed set), so
# the limit is raised; the cache itself stays an LRU of 128 entries.
LONGEST_CACHED_STATEMENT = 32_768


def _cache_long_statements() -> None:
    from psycopg import _queries  # the limit has no public setting

    if getattr(_queries, "MAX_CACHED_STATEMENT_LENGTH", LONGEST_CACHED_STATEMENT) < LONGEST_CACHED_STATEMENT:
        _queries.MAX_CACHED_STATEMENT_LENGTH = LONGEST_CACHED_STATEMENT


def configure_engine(app: Flask) -> None:
    """Attach per-connection settings to the app's engine, and make the session's teardown safe."""
    with app.app_context():
        engine = db.engine
        if engine.dialect.name == "sqlite":
            sa.event.listen(engine, "connect", _sqlite_on_connect)
        elif engine.dialect.name == "postgresql" and engine.dialect.driver == "psycopg":
            sa.event.listen(engine, "connect", _postgres_autocommit)
            sa.event.listen(engine, "before_cursor_execute", _begin_before_writes)
            _ping_after_idle(engine)
            _cache_long_statements()
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


# Separators of row_text's fields and of the rows rows_text aggregates (control characters: never typed).
FIELD_SEPARATOR, ROW_SEPARATOR = "\x1f", "\x1e"


def row_text(*columns: Any) -> Any:
    """Columns as one text in SQL, NULL as empty (the same on SQLite and PostgreSQL)."""
    text: Any = None
    for column in columns:
        part = sa.func.coalesce(sa.cast(column, sa.String), sql_constant(""))
        text = part if text is None else text + sql_constant(FIELD_SEPARATOR) + part
    return text


def rows_text(columns: tuple[Any, ...], where: Any) -> Any:
    """A few rows' columns as one text (row_text, aggregated) in a scalar subquery: what a digest of them
    reads as one value, e.g. beside the member in her sign-in statement. Never NULL: no rows are "" (a value
    kept on the request as read, where NULL would read as not read)."""
    rows = sa.func.aggregate_strings(row_text(*columns), ROW_SEPARATOR)
    return sa.select(sa.func.coalesce(rows, sql_constant(""))).where(where).scalar_subquery()


def text_rows(text: str | None) -> list[list[str]]:
    """The rows of a rows_text (or row_text) value, each a list of its columns as text ("" for NULL), in no
    particular order."""
    return [row.split(FIELD_SEPARATOR) for row in text.split(ROW_SEPARATOR)] if text else []


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


def when_written(models: tuple[type[Any], ...], written: Callable[[Session], None]) -> None:
    """Call `written(session)` whenever a session writes one of these models' tables: rows added, changed or
    deleted through the session (at the flush), or a bulk UPDATE or DELETE."""
    table_names = {model.__tablename__ for model in models}

    @sa.event.listens_for(Session, "do_orm_execute")
    def _bulk_written(state: ORMExecuteState) -> None:
        table = getattr(state.statement, "table", None)
        if (state.is_update or state.is_delete) and getattr(table, "name", None) in table_names:
            written(state.session)

    @sa.event.listens_for(Session, "before_flush")
    def _flushed(session: Session, _context: object, _instances: object) -> None:
        if any(isinstance(item, models) for item in (*session.new, *session.dirty, *session.deleted)):
            written(session)


def forget_when_written(models: tuple[type[Any], ...], attribute: str) -> None:
    """A value kept on the request (`request.<attribute>`) that was read from these models' tables is dropped as
    soon as the request writes one of them. The next reader then reads it again instead of seeing what was
    there before."""

    def forget(_session: Session) -> None:
        if has_request_context() and hasattr(request, attribute):
            delattr(request, attribute)

    when_written(models, forget)


class KeptForRequest:
    """One member's value read once and kept on the request (`request.<attribute>`, with her id), until the
    request writes one of the tables it was read from (forget_when_written): her blocks, the tags she follows,
    whether she has a story draft."""

    def __init__(self, *models: type[Any], attribute: str) -> None:
        self.attribute = attribute
        forget_when_written(models, attribute)

    def keep(self, user_id: int, value: Any) -> None:
        setattr(request, self.attribute, (user_id, value))

    def get(self, user_id: int) -> Any:
        """The value kept for this member in this request, or None (not read, written since, or no request: a
        service called from a command or a job)."""
        if not has_request_context():
            return None
        kept = getattr(request, self.attribute, None)
        return kept[1] if kept is not None and kept[0] == user_id else None

    def get_or_read(self, user_id: int, statement: Any, params: dict[str, Any], of: str = "") -> Any:
        """A text read with her sign-in (forum.auth.sessions.read_with_sign_in): the one kept for her in this
        request when it is of what this request asks (starts with `of`: a story's id...), else `statement`'s,
        read on the connection (the ORM layer adds nothing to a plain read but CPU)."""
        kept = self.get(user_id)
        if kept is not None and kept.startswith(of):
            return kept
        return db.session.connection().execute(statement, params).scalar()
