"""Run the test suite on SQLite, then on PostgreSQL when TEST_DATABASE_URL is reachable."""

from __future__ import annotations

import os
import subprocess
import sys

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
    env = {k: v for k, v in os.environ.items() if k != "TEST_DATABASE_URL"}
    print("== Test suite on SQLite ==", flush=True)
    status = subprocess.call([sys.executable, "-m", "pytest", *extra], env=env)
    required = os.environ.get("VILLAGE_REQUIRE_POSTGRES") == "1"
    # Without TEST_DATABASE_URL, a local PostgreSQL (trust auth, database "test") is used when it answers.
    url = os.environ.get("TEST_DATABASE_URL") or DEFAULT_POSTGRES_URL
    if not postgres_reachable(url):
        if required:
            return 1
        print("Skipping the PostgreSQL suite.")
        return status
    print("== Test suite on PostgreSQL ==", flush=True)
    # Browser tests drive the same views; running them once (on SQLite) is enough.
    pg_status = subprocess.call(
        [sys.executable, "-m", "pytest", "-m", "not browser", *extra],
        env={**os.environ, "TEST_DATABASE_URL": url},
    )
    return status or pg_status


if __name__ == "__main__":
    sys.exit(main())
