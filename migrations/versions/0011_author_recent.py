"""A member's stories and replies newest first: (author_id, id) instead of author_id alone, so the check before
every write reads her latest few by the index instead of all she ever posted (8 ms of PostgreSQL's time per
reply for a member with 14,000 replies).

Revision ID: 0011_author_recent
Revises: 0010_vector_sequence
"""

from alembic import op

revision = "0011_author_recent"
down_revision = "0010_vector_sequence"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("stories", "replies"):
        with op.batch_alter_table(table) as batch_op:
            batch_op.create_index(f"ix_{table}_author_recent", ["author_id", "id"], unique=False)
            batch_op.drop_index(f"ix_{table}_author_id")


def downgrade() -> None:
    for table in ("stories", "replies"):
        with op.batch_alter_table(table) as batch_op:
            batch_op.create_index(f"ix_{table}_author_id", ["author_id"], unique=False)
            batch_op.drop_index(f"ix_{table}_author_recent")
