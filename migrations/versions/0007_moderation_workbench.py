"""The review queue as a workbench: assignment of queued items, silenced (read-only) members, the reason an
account was closed, and moderators' on-duty setting for welfare alerts.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch_op:
        batch_op.add_column(sa.Column("ban_reason", sa.Text(), server_default="", nullable=False))
        batch_op.add_column(sa.Column("silenced_until", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("on_duty", sa.Boolean(), server_default=sa.true(), nullable=False))
    with op.batch_alter_table("claims") as batch_op:
        batch_op.add_column(sa.Column("assigned_to_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_claims_assigned_to_id_users"),
            "users",
            ["assigned_to_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("claims") as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_claims_assigned_to_id_users"), type_="foreignkey")
        batch_op.drop_column("assigned_to_id")
    with op.batch_alter_table("users") as batch_op:
        batch_op.drop_column("on_duty")
        batch_op.drop_column("silenced_until")
        batch_op.drop_column("ban_reason")
