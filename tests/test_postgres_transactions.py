"""On PostgreSQL, reads run outside a transaction and a transaction starts at the first statement that writes or
locks (forum.database): a read-only request sends no BEGIN and no ROLLBACK, and a write is still all or nothing."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from forum.database import needs_transaction
from forum.extensions import db
from forum.models import Story, User


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        ("SELECT users.id FROM users WHERE users.id = %(id)s", False),
        ("  select 1", False),
        ("WITH recent AS (SELECT id FROM stories) SELECT id FROM recent", False),
        ("SELECT last_updated_at, updates FROM stories", False),  # words, not statements
        ("SELECT jobs.id FROM jobs WHERE jobs.state = 'queued' FOR UPDATE SKIP LOCKED", True),
        ("SELECT stories.id FROM stories FOR NO KEY UPDATE", True),
        ("SELECT stories.id FROM stories FOR SHARE", True),
        ("WITH gone AS (DELETE FROM drafts RETURNING id) SELECT count(*) FROM gone", True),
        ("INSERT INTO stories (title) VALUES (%(title)s)", True),
        ("UPDATE stories SET reply_count = reply_count + 1", True),
        ("DELETE FROM drafts", True),
        ("SAVEPOINT sa_savepoint_1", True),
        ("CREATE INDEX ix ON stories (id)", True),
        ("SET LOCAL statement_timeout = 1000", True),
        ("SELECT pg_advisory_xact_lock(1)", True),
        ("VACUUM ANALYZE", False),  # PostgreSQL refuses these inside a transaction
        ("CREATE INDEX CONCURRENTLY ix ON stories (id)", False),
        ("DROP INDEX CONCURRENTLY ix", False),
        ("CREATE UNIQUE INDEX CONCURRENTLY ix ON stories (id)", False),
    ],
)
def test_which_statements_open_a_transaction(statement: str, expected: bool) -> None:
    assert needs_transaction(statement) is expected


@pytest.fixture
def postgres(app, db_url):
    if not db_url.startswith("postgresql"):
        pytest.skip("needs PostgreSQL (TEST_DATABASE_URL)")
    return app


def _status() -> str:
    dbapi = db.session.connection().connection.dbapi_connection
    return dbapi.info.transaction_status.name


def test_reads_open_no_transaction_and_writes_are_still_atomic(postgres, member: User) -> None:
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Story)) == 0
    assert _status() == "IDLE"  # the read ran on its own: nothing to roll back at the end of the request
    db.session.add(Story(author_id=member.id, title="Half", body="Never saved.", body_html=""))
    db.session.flush()
    assert _status() == "INTRANS"
    db.session.execute(sa.update(User).where(User.id == member.id).values(pseudonym="Changed"))
    db.session.rollback()  # both statements go: one transaction from the first write on
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Story)) == 0
    assert db.session.scalar(sa.select(User.pseudonym).where(User.id == member.id)) != "Changed"


def test_a_locking_read_holds_its_lock_until_the_commit(postgres, member: User) -> None:
    member_id = member.id
    db.session.commit()
    db.session.execute(sa.select(User.id).where(User.id == member_id).with_for_update())
    assert _status() == "INTRANS"
    with db.engine.connect() as other:
        with pytest.raises(sa.exc.OperationalError, match="could not obtain lock"):
            other.execute(sa.select(User.id).where(User.id == member_id).with_for_update(nowait=True))
        other.rollback()
        db.session.commit()
        assert other.scalar(sa.select(User.id).where(User.id == member_id).with_for_update(nowait=True))


def test_autocommit_asked_for_is_left_alone(postgres) -> None:
    with db.engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(sa.text("VACUUM ANALYZE users"))


def test_a_streamed_read_runs_in_a_transaction(postgres, member: User) -> None:
    db.session.commit()
    rows = db.session.execute(sa.select(User.id).execution_options(yield_per=10)).scalars().all()
    assert member.id in rows
