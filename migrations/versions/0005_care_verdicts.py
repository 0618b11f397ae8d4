"""Moderators' verdicts on welfare items (care_verdicts): did the post need the support card?

Exported as training data for the care detector by `flask care export-labels` (text only under the consent
rules on the privacy page); who gave a verdict is in the audit log, not in this table.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "care_verdicts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("target_type", sa.String(length=10), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=False),
        sa.Column("story_id", sa.Integer(), nullable=False),
        sa.Column("needed", sa.Boolean(), nullable=False),
        sa.Column("detector_version", sa.String(length=80), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["story_id"], ["stories.id"], name=op.f("fk_care_verdicts_story_id_stories"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_care_verdicts")),
        sa.UniqueConstraint("target_type", "target_id", name="uq_care_verdicts_target"),
    )
    with op.batch_alter_table("care_verdicts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_care_verdicts_story_id"), ["story_id"], unique=False)


def downgrade():
    with op.batch_alter_table("care_verdicts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_care_verdicts_story_id"))
    op.drop_table("care_verdicts")
