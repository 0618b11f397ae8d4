"""Run the test suite on SQLite and, when TEST_DATABASE_URL (or the local default) is reachable, on
PostgreSQL at the same time: each suite is one process and mostly one core, so on a two-core machine the
two together take little longer than one. VILLAGE_SERIAL_SUITES=1 runs them one after the other."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile

import sqlalchemy as sa

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def postgres_reachable(url: str) -> bool:
    """True when a connection to url succeeds within a few seconds."""
    try:
        engine = sa.create_engine(url, connect_args={"connect_timeout": 5})
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
        engine.dispose()
        return True
    except Exception as error:  # noqa: BLE001 - any failure means "not reachable"
        print(f"PostgreSQL at {url} is not reachable: {error.__class__.__name__}: {error}", file=sys.stderr)
        return False


def main() -> int:
    """Run both suites; exit non-zero if either fails or a required one cannot run."""
    extra = sys.argv[1:]
    sqlite_command = [sys.executable, "-m", "pytest", *extra]
    sqlite_env = {k: v for k, v in os.environ.items() if k != "TEST_DATABASE_URL"}
    required = os.environ.get("VILLAGE_REQUIRE_POSTGRES") == "1"
    # Without TEST_DATABASE_URL, a local PostgreSQL (trust auth, database "test") is used when it answers.
    url = os.environ.get("TEST_DATABASE_URL") or DEFAULT_POSTGRES_URL
    if not postgres_reachable(url):
        if required:
            return 1
        print("Skipping the PostgreSQL suite.")
        print("== Test suite on SQLite ==", flush=True)
        return subprocess.call(sqlite_command, env=sqlite_env)
    # Browser tests drive the same views; running them once (on SQLite) is enough.
    postgres_command = [sys.executable, "-m", "pytest", "-m", "not browser", *extra]
    postgres_env = {**os.environ, "TEST_DATABASE_URL": url}
    if os.environ.get("VILLAGE_SERIAL_SUITES") == "1":
        print("== Test suite on SQLite ==", flush=True)
        status = subprocess.call(sqlite_command, env=sqlite_env)
        print("== Test suite on PostgreSQL ==", flush=True)
        return status or subprocess.call(postgres_command, env=postgres_env)
    with tempfile.TemporaryFile("w+") as postgres_log:
        print("== Test suites on SQLite (shown now) and PostgreSQL (shown when both are done) ==", flush=True)
        postgres = subprocess.Popen(
            postgres_command, env=postgres_env, stdout=postgres_log, stderr=subprocess.STDOUT, text=True
        )
        try:
            status = subprocess.call(sqlite_command, env=sqlite_env)
            postgres_status = postgres.wait()
        finally:
            if postgres.poll() is None:  # interrupted: don't leave the other suite running
                postgres.kill()
        postgres_log.seek(0)
        print("== Test suite on PostgreSQL ==", flush=True)
        sys.stdout.write(postgres_log.read())
        print(
            f"SQLite suite: {'passed' if status == 0 else 'FAILED'}; "
            f"PostgreSQL suite: {'passed' if postgres_status == 0 else 'FAILED'}",
            flush=True,
        )
    return status or postgres_status


if __name__ == "__main__":
    sys.exit(main())
