"""When each story's vector or visibility last changed, so every worker (on every host) loads what changed
since the newest change it has loaded, instead of guessing from story ids.

Revision ID: 0010_vector_sequence
Revises: 0009_job_queue
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_vector_sequence"
down_revision = "0009_job_queue"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("stories") as batch_op:
        batch_op.add_column(sa.Column("vector_updated_at", sa.DateTime(), nullable=True))
    # Existing rows: their last edit, else their creation (any past time works: a worker's first load is a
    # full one).
    op.execute("UPDATE stories SET vector_updated_at = COALESCE(edited_at, created_at)")
    with op.batch_alter_table("stories") as batch_op:
        batch_op.alter_column("vector_updated_at", existing_type=sa.DateTime(), nullable=False)
        batch_op.create_index(batch_op.f("ix_stories_vector_updated_at"), ["vector_updated_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("stories") as batch_op:
        batch_op.drop_index(batch_op.f("ix_stories_vector_updated_at"))
        batch_op.drop_column("vector_updated_at")
