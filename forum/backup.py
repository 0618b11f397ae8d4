"""Online backup and restore of the whole database: `flask backup PATH`, `flask restore PATH [--force]`.

SQLite: the sqlite3 backup API copies a consistent snapshot of the live file (WAL mode lets the site keep
writing meanwhile), full-text tables and triggers included. PostgreSQL: `pg_dump -Fc`, which reads one
snapshot, and `pg_restore --clean --single-transaction`. A backup is written to a hidden temporary file
next to its destination and renamed into place when complete, so a half-written backup never looks finished.
"""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import sqlalchemy as sa

from forum import backup_tools as tools
from forum.backup_tools import BackupError
from forum.extensions import db

SQLITE_MAGIC = b"SQLite format 3\x00"
PGDUMP_MAGIC = b"PGDMP"
DIALECT_NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
# Tables a file must hold to count as a Village backup; restoring anything else would only wipe the site.
REQUIRED_TABLES = ("users", "stories")
COUNTED_TABLES = ("users", "stories", "replies")
SINGULAR = {"users": "user", "stories": "story", "replies": "reply"}
# Fail instead of waiting forever when another connection holds a lock the dump or restore needs.
PG_LOCK_TIMEOUT = "60s"


@dataclass
class BackupResult:
    path: Path
    size: int
    dialect: str  # "SQLite" or "PostgreSQL"


@dataclass
class RestoreResult:
    path: Path
    dialect: str
    counts: dict[str, int] = field(default_factory=dict)
    replaced_data: bool = False  # the database held rows before (only possible with force)


# --- backup -----------------------------------------------------------------------------------------------


def backup_database(path: str | os.PathLike[str]) -> BackupResult:
    """Write a consistent copy of the live database to path, atomically (temp file, then rename)."""
    dialect = _dialect()
    dest = Path(path).expanduser().absolute()
    if dest.is_dir():
        raise BackupError(f"{dest} is a directory; give the name of the backup file to write.")
    if not dest.parent.is_dir():
        raise BackupError(f"The folder {dest.parent} doesn't exist; create it first.")
    if dialect == "sqlite" and _same_file(dest, _sqlite_path()):
        raise BackupError(f"{dest} is the live database itself; choose another file for the backup.")

    dumper = _dump_sqlite if dialect == "sqlite" else _dump_postgresql
    try:
        fd, temp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".partial", dir=dest.parent)
    except OSError as error:
        raise BackupError(f"Can't write in {dest.parent}: {error.strerror or error}.") from error
    os.close(fd)  # mkstemp made it 0600: backups hold e-mail addresses and password hashes
    temp = Path(temp_name)
    try:
        dumper(temp)
        _check_header(temp, dialect)
        tools.fsync(temp)
        os.replace(temp, dest)
        tools.fsync_dir(dest.parent)
    except OSError as error:
        raise BackupError(f"Couldn't write the backup to {dest}: {error.strerror or error}.") from error
    finally:
        tools.remove_leftovers(temp)
    return BackupResult(path=dest, size=dest.stat().st_size, dialect=DIALECT_NAMES[dialect])


def _dump_sqlite(target: Path) -> None:
    """Copy the live SQLite file with the backup API: one step, under one read snapshot."""
    source_path = _sqlite_path()
    if not source_path.is_file():
        raise BackupError(f"The database file {source_path} doesn't exist, so there is nothing to back up.")
    source = dest = None
    try:
        source = sqlite3.connect(f"file:{quote(str(source_path))}?mode=ro", uri=True, timeout=15)
        dest = sqlite3.connect(target)
        source.backup(dest)
        # The copy inherits WAL mode; a backup should be one self-contained file.
        dest.execute("PRAGMA journal_mode=DELETE")
    except sqlite3.Error as error:
        raise BackupError(f"SQLite couldn't copy {source_path}: {error}.") from error
    finally:
        for connection in (dest, source):
            if connection is not None:
                connection.close()


def _dump_postgresql(target: Path) -> None:
    """`pg_dump -Fc` into target: a consistent snapshot taken while the site keeps running."""
    args, env = tools.pg_connection("pg_dump")
    tools.run(
        [*args, "--format=custom", f"--lock-wait-timeout={PG_LOCK_TIMEOUT}", f"--file={target}"],
        env,
        "pg_dump",
    )


# --- restore ----------------------------------------------------------------------------------------------


def restore_database(path: str | os.PathLike[str], force: bool = False) -> RestoreResult:
    """Replace the live database with a backup; refuses when the database holds any rows, unless force."""
    dialect = _dialect()
    source = Path(path).expanduser().absolute()
    kind = _backup_kind(source)
    if kind != dialect:
        raise BackupError(
            f"{source} is a {DIALECT_NAMES[kind]} backup, but this site runs on {DIALECT_NAMES[dialect]}. "
            f"Restore it into a {DIALECT_NAMES[kind]} database instead."
        )
    if dialect == "sqlite":
        if _same_file(source, _sqlite_path()):
            raise BackupError(f"{source} is the live database itself, not a backup.")
        _check_sqlite_backup(source)
    else:
        _check_pg_backup(source)

    present = _tables_with_rows()
    if present and not force:
        raise BackupError(
            f"The database is not empty ({_describe(present)}). Restoring would replace all of it with the "
            "backup. Run the command again with --force if that is what you want."
        )

    db.session.remove()
    db.engine.dispose()  # no pooled connection may hold a lock or a stale view of the old data
    if dialect == "sqlite":
        _restore_sqlite(source)
    else:
        _restore_postgresql(source)
    db.engine.dispose()
    return RestoreResult(
        path=source, dialect=DIALECT_NAMES[dialect], counts=_counts(), replaced_data=bool(present)
    )


def _backup_kind(source: Path) -> str:
    """'sqlite' or 'postgresql' from the file's first bytes; a clear error for anything else."""
    if not source.exists():
        raise BackupError(f"There is no backup file at {source}.")
    if not source.is_file():
        raise BackupError(f"{source} is not a file.")
    try:
        with source.open("rb") as file:
            head = file.read(len(SQLITE_MAGIC))
    except OSError as error:
        raise BackupError(f"Can't read {source}: {error.strerror or error}.") from error
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(PGDUMP_MAGIC):
        return "postgresql"
    raise BackupError(
        f"{source} is not a Village backup: it is neither a SQLite database nor a pg_dump custom-format file "
        "(made by `flask backup`)."
    )


def _check_sqlite_backup(source: Path) -> None:
    """The file opens, passes SQLite's quick check and holds the site's tables."""
    try:
        connection = sqlite3.connect(f"file:{quote(str(source))}?mode=ro", uri=True)
        try:
            check = connection.execute("PRAGMA quick_check").fetchone()
            names = {
                row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            }
        finally:
            connection.close()
    except sqlite3.Error as error:
        raise BackupError(
            f"{source} can't be read as a SQLite database ({error}); it may be damaged."
        ) from error
    if not check or check[0] != "ok":
        raise BackupError(f"{source} failed SQLite's integrity check ({check[0] if check else 'no answer'}).")
    _require_tables(source, names)


def _check_pg_backup(source: Path) -> None:
    """pg_restore can list the archive and it holds the site's tables."""
    pg_restore = tools.find_tool("pg_restore")
    try:
        listing = tools.run([pg_restore, "--list", str(source)], None, "pg_restore")
    except BackupError as error:
        raise BackupError(
            f"{source} can't be read as a pg_dump archive; it may be damaged or cut short. ({error.message})"
        ) from error
    names = set(re.findall(r"^\d+; \d+ \d+ TABLE \S+ (\S+) ", listing, flags=re.MULTILINE))
    _require_tables(source, names)


def _require_tables(source: Path, names: set[str]) -> None:
    missing = [name for name in REQUIRED_TABLES if name not in names]
    if missing:
        raise BackupError(
            f"{source} doesn't look like a Village backup: it has no {', '.join(missing)} table."
        )


def _restore_sqlite(source: Path) -> None:
    """Copy the backup page by page into the live file, in one write transaction others wait for."""
    live = _sqlite_path()
    backup = target = None
    try:
        backup = sqlite3.connect(f"file:{quote(str(source))}?mode=ro", uri=True)
        target = sqlite3.connect(live, timeout=15)
        backup.backup(target)
    except sqlite3.Error as error:
        raise BackupError(
            f"SQLite couldn't restore {source} into {live}: {error}. The database is unchanged."
        ) from error
    finally:
        for connection in (target, backup):
            if connection is not None:
                connection.close()


def _restore_postgresql(source: Path) -> None:
    """pg_restore in one transaction: on any error nothing changes."""
    args, env = tools.pg_connection("pg_restore")
    env["PGOPTIONS"] = f"{env.get('PGOPTIONS', '')} -c lock_timeout={PG_LOCK_TIMEOUT}".strip()
    tools.run(
        [*args, "--clean", "--if-exists", "--no-owner", "--single-transaction", str(source)],
        env,
        "pg_restore",
        failure="The database is unchanged.",
    )


def _tables_with_rows() -> dict[str, int | None]:
    """Tables of the app's metadata holding at least one row; counts for the few that matter to people."""
    existing = set(sa.inspect(db.engine).get_table_names())
    found: dict[str, int | None] = {}
    for table in db.metadata.sorted_tables:
        if (
            table.name in existing
            and db.session.execute(sa.select(sa.literal(1)).select_from(table).limit(1)).first()
        ):
            found[table.name] = _count(table.name) if table.name in COUNTED_TABLES else None
    db.session.rollback()
    return found


def _describe(present: dict[str, int | None]) -> str:
    parts = [amount(count, name) for name, count in present.items() if count is not None]
    others = [name for name, count in present.items() if count is None]
    if others:
        parts.append(f"rows in {len(others)} other table{'s' if len(others) != 1 else ''}")
    return ", ".join(parts)


def amount(count: int, table: str) -> str:
    return f"{count} {SINGULAR.get(table, table) if count == 1 else table}"


def _counts() -> dict[str, int]:
    counts = {name: _count(name) for name in COUNTED_TABLES}
    db.session.remove()
    return counts


def _count(name: str) -> int:
    return int(db.session.scalar(sa.select(sa.func.count()).select_from(db.metadata.tables[name])) or 0)


# --- helpers ----------------------------------------------------------------------------------------------


def _dialect() -> str:
    name = db.engine.dialect.name
    if name not in DIALECT_NAMES:
        raise BackupError(f"Backups support SQLite and PostgreSQL; this site runs on {name}.")
    return name


def _sqlite_path() -> Path:
    database = db.engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        raise BackupError(
            "The site's SQLite database is in memory (or a URI), so there is no file to back up."
        )
    return Path(database).expanduser().absolute()


def _same_file(a: Path, b: Path) -> bool:
    with contextlib.suppress(OSError):
        if a.exists() and b.exists():
            return a.samefile(b)
    return a.resolve() == b.resolve()


def _check_header(path: Path, dialect: str) -> None:
    magic = SQLITE_MAGIC if dialect == "sqlite" else PGDUMP_MAGIC
    with path.open("rb") as file:
        if file.read(len(magic)) != magic:
            raise BackupError(
                f"The backup came out wrong (it doesn't start like a {DIALECT_NAMES[dialect]} backup)."
            )
