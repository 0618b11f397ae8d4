"""Learning from the community: members' private "this helped" / "not like mine" signals on similar stories.

Revision ID: 0008_similar_feedback
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_similar_feedback"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "similar_signals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("match_id", sa.Integer(), nullable=False),
        sa.Column("verdict", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_similar_signals_user_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["stories.id"],
            name=op.f("fk_similar_signals_source_id_stories"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["match_id"], ["stories.id"], name=op.f("fk_similar_signals_match_id_stories"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_similar_signals")),
        sa.UniqueConstraint(
            "user_id", "source_id", "match_id", name=op.f("uq_similar_signals_user_id_source_id_match_id")
        ),
    )
    with op.batch_alter_table("similar_signals") as batch_op:
        batch_op.create_index(batch_op.f("ix_similar_signals_user_id"), ["user_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_similar_signals_source_id"), ["source_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_similar_signals_match_id"), ["match_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_similar_signals_updated_at"), ["updated_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("similar_signals") as batch_op:
        batch_op.drop_index(batch_op.f("ix_similar_signals_updated_at"))
        batch_op.drop_index(batch_op.f("ix_similar_signals_match_id"))
        batch_op.drop_index(batch_op.f("ix_similar_signals_source_id"))
        batch_op.drop_index(batch_op.f("ix_similar_signals_user_id"))
    op.drop_table("similar_signals")
