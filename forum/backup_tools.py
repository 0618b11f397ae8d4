"""What the backup commands need from outside Python: the PostgreSQL client tools (found on PATH, given the
connection from the SQLAlchemy URL, never prompting), and files made durable (fsync) or cleaned up."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from pathlib import Path

from forum.errors import ForumError
from forum.extensions import db

# libpq settings that may ride in the SQLAlchemy URL's query string (e.g. ?sslmode=require or ?host=/socket).
LIBPQ_QUERY_KEYS = (
    "host",
    "hostaddr",
    "port",
    "sslmode",
    "sslrootcert",
    "sslcert",
    "sslkey",
    "connect_timeout",
    "application_name",
    "target_session_attrs",
    "options",
)


class BackupError(ForumError):
    """A backup or restore could not be done; the message says why in plain words."""


def find_tool(name: str) -> str:
    found = shutil.which(name)
    if not found:
        raise BackupError(
            f"{name} was not found on PATH. Install the PostgreSQL client tools "
            "(the same major version as the server, or newer)."
        )
    return found


def pg_connection(tool: str) -> tuple[list[str], dict[str, str]]:
    """Command line and environment for a PostgreSQL tool, from the SQLAlchemy URL (password: PGPASSWORD)."""
    url = db.engine.url
    args = [find_tool(tool), "--no-password"]  # never prompt: cron has no one to answer
    if url.host:
        args.append(f"--host={url.host}")
    if url.port:
        args.append(f"--port={url.port}")
    if url.username:
        args.append(f"--username={url.username}")
    conninfo = [f"dbname={conninfo_value(url.database or '')}"]
    for key in LIBPQ_QUERY_KEYS:
        value = url.query.get(key)
        if isinstance(value, tuple):
            value = value[-1]
        if value:
            conninfo.append(f"{key}={conninfo_value(str(value))}")
    args.append(f"--dbname={' '.join(conninfo)}")
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return args, env


def conninfo_value(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def run(command: list[str], env: dict[str, str] | None, tool: str, failure: str = "") -> str:
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    except OSError as error:
        raise BackupError(f"Couldn't run {tool}: {error.strerror or error}.") from error
    if done.returncode != 0:
        detail = (
            "\n".join(line for line in done.stderr.strip().splitlines()[-8:])
            or f"exit status {done.returncode}"
        )
        raise BackupError(f"{tool} failed: {detail}" + (f"\n{failure}" if failure else ""))
    return done.stdout


def fsync(path: Path) -> None:
    with path.open("rb") as file:
        os.fsync(file.fileno())


def fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def remove_leftovers(temp: Path) -> None:
    for leftover in (temp, *(temp.with_name(temp.name + suffix) for suffix in ("-journal", "-wal", "-shm"))):
        with contextlib.suppress(FileNotFoundError):
            leftover.unlink()


def human_size(size: int) -> str:
    if size < 1024:
        return f"{size} bytes"
    value = size / 1024
    for unit in ("KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            break
        value /= 1024
    return f"{value:.1f} {unit}"
