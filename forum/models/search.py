"""Full-text search objects that the models can't describe: created with the schema, skipped by autogenerate.

SQLite: an FTS5 table kept in step by triggers. PostgreSQL: GIN expression indexes. The initial migration
runs the same statements.
"""

from __future__ import annotations

import sqlalchemy as sa

from forum.models.base import Base

# Row keys in the SQLite index encode the item kind in the low bits: id * 4 + kind.
KIND_STORY, KIND_REPLY, KIND_UPDATE = 1, 2, 3

SQLITE_DDL = [
    "CREATE VIRTUAL TABLE search_fts USING fts5(title, body, tokenize = 'unicode61 remove_diacritics 2')",
    *[
        stmt
        for table, kind, title, updated_columns in (
            ("stories", KIND_STORY, "coalesce(new.title, '')", "title, body"),
            ("replies", KIND_REPLY, "''", "body"),
            ("story_updates", KIND_UPDATE, "''", "body"),
        )
        for stmt in (
            f"CREATE TRIGGER search_{table}_ai AFTER INSERT ON {table} BEGIN "  # nosec B608 - fixed names
            f"INSERT INTO search_fts(rowid, title, body) VALUES (new.id * 4 + {kind}, {title}, new.body); END",
            f"CREATE TRIGGER search_{table}_au AFTER UPDATE OF {updated_columns} ON {table} "  # nosec B608
            f"BEGIN DELETE FROM search_fts WHERE rowid = old.id * 4 + {kind}; "
            f"INSERT INTO search_fts(rowid, title, body) VALUES (new.id * 4 + {kind}, {title}, new.body); END",
            f"CREATE TRIGGER search_{table}_ad AFTER DELETE ON {table} BEGIN "  # nosec B608
            f"DELETE FROM search_fts WHERE rowid = old.id * 4 + {kind}; END",
        )
    ],
]
SQLITE_DROP = ["DROP TABLE IF EXISTS search_fts"]  # the triggers are dropped with their tables

STORY_VECTOR = "to_tsvector('english', coalesce(title, '') || ' ' || body)"
BODY_VECTOR = "to_tsvector('english', body)"
POSTGRES_DDL = [
    f"CREATE INDEX ix_search_stories ON stories USING gin ({STORY_VECTOR})",
    f"CREATE INDEX ix_search_replies ON replies USING gin ({BODY_VECTOR})",
    f"CREATE INDEX ix_search_story_updates ON story_updates USING gin ({BODY_VECTOR})",
]


def install_search_ddl() -> None:
    """Attach the statements to the metadata so create_all/drop_all build and remove them."""
    for statement in SQLITE_DDL:
        sa.event.listen(Base.metadata, "after_create", sa.DDL(statement).execute_if(dialect="sqlite"))
    for statement in POSTGRES_DDL:
        sa.event.listen(Base.metadata, "after_create", sa.DDL(statement).execute_if(dialect="postgresql"))
    for statement in SQLITE_DROP:
        sa.event.listen(Base.metadata, "before_drop", sa.DDL(statement).execute_if(dialect="sqlite"))


install_search_ddl()
