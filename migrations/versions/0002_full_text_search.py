"""Full-text search: an FTS5 table kept in step by triggers (SQLite), GIN expression indexes (PostgreSQL).

Revision ID: 0002
Revises: 0001
"""
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

SQLITE_UP = [
    "CREATE VIRTUAL TABLE search_fts USING fts5(title, body, tokenize = 'unicode61 remove_diacritics 2')",
    "CREATE TRIGGER search_stories_ai AFTER INSERT ON stories BEGIN INSERT INTO search_fts(rowid, title, body) VALUES (new.id * 4 + 1, coalesce(new.title, ''), new.body); END",
    "CREATE TRIGGER search_stories_au AFTER UPDATE OF title, body ON stories BEGIN DELETE FROM search_fts WHERE rowid = old.id * 4 + 1; INSERT INTO search_fts(rowid, title, body) VALUES (new.id * 4 + 1, coalesce(new.title, ''), new.body); END",
    'CREATE TRIGGER search_stories_ad AFTER DELETE ON stories BEGIN DELETE FROM search_fts WHERE rowid = old.id * 4 + 1; END',
    "CREATE TRIGGER search_replies_ai AFTER INSERT ON replies BEGIN INSERT INTO search_fts(rowid, title, body) VALUES (new.id * 4 + 2, '', new.body); END",
    "CREATE TRIGGER search_replies_au AFTER UPDATE OF body ON replies BEGIN DELETE FROM search_fts WHERE rowid = old.id * 4 + 2; INSERT INTO search_fts(rowid, title, body) VALUES (new.id * 4 + 2, '', new.body); END",
    'CREATE TRIGGER search_replies_ad AFTER DELETE ON replies BEGIN DELETE FROM search_fts WHERE rowid = old.id * 4 + 2; END',
    "CREATE TRIGGER search_story_updates_ai AFTER INSERT ON story_updates BEGIN INSERT INTO search_fts(rowid, title, body) VALUES (new.id * 4 + 3, '', new.body); END",
    "CREATE TRIGGER search_story_updates_au AFTER UPDATE OF body ON story_updates BEGIN DELETE FROM search_fts WHERE rowid = old.id * 4 + 3; INSERT INTO search_fts(rowid, title, body) VALUES (new.id * 4 + 3, '', new.body); END",
    'CREATE TRIGGER search_story_updates_ad AFTER DELETE ON story_updates BEGIN DELETE FROM search_fts WHERE rowid = old.id * 4 + 3; END',
    # Index what was written before this migration.
    "INSERT INTO search_fts(rowid, title, body) SELECT id * 4 + 1, coalesce(title, ''), body FROM stories",
    "INSERT INTO search_fts(rowid, title, body) SELECT id * 4 + 2, '', body FROM replies",
    "INSERT INTO search_fts(rowid, title, body) SELECT id * 4 + 3, '', body FROM story_updates",
]
SQLITE_DOWN = [
    *[f"DROP TRIGGER IF EXISTS search_{table}_{event}" for table in ("stories", "replies", "story_updates")
      for event in ("ai", "au", "ad")],
    "DROP TABLE IF EXISTS search_fts",
]
POSTGRES_UP = [
    "CREATE INDEX ix_search_stories ON stories USING gin (to_tsvector('english', coalesce(title, '') || ' ' || body))",
    "CREATE INDEX ix_search_replies ON replies USING gin (to_tsvector('english', body))",
    "CREATE INDEX ix_search_story_updates ON story_updates USING gin (to_tsvector('english', body))",
]
POSTGRES_DOWN = [
    "DROP INDEX IF EXISTS ix_search_stories",
    "DROP INDEX IF EXISTS ix_search_replies",
    "DROP INDEX IF EXISTS ix_search_story_updates",
]


def _run(statements: list[str]) -> None:
    for statement in statements:
        op.execute(statement)


def upgrade() -> None:
    _run(SQLITE_UP if op.get_bind().dialect.name == "sqlite" else POSTGRES_UP)


def downgrade() -> None:
    _run(SQLITE_DOWN if op.get_bind().dialect.name == "sqlite" else POSTGRES_DOWN)
