"""Notification mail and following: mail_preferences, the mail_outbox, follows and story_visits.

Existing members get no preferences row (every default applies) and no confirmed address: they confirm it from
their mail settings before any notification mail is sent.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mail_preferences",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kinds", sa.JSON(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("quiet_start", sa.Integer(), server_default="1260", nullable=False),
        sa.Column("quiet_end", sa.Integer(), server_default="480", nullable=False),
        sa.Column("digest", sa.String(length=8), server_default="daily", nullable=False),
        sa.Column("last_digest_at", sa.DateTime(), nullable=True),
        sa.Column("follow_replied", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("verified_email", sa.String(length=254), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_mail_preferences_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_mail_preferences")),
    )
    op.create_table(
        "mail_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("group_key", sa.String(length=80), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("message_id", sa.String(length=200), nullable=False),
        sa.Column("state", sa.String(length=12), server_default="queued", nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=False),
        sa.Column("lease_until", sa.DateTime(), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_error", sa.Text(), server_default="", nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_mail_outbox_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mail_outbox")),
        sa.UniqueConstraint("message_id", name=op.f("uq_mail_outbox_message_id")),
    )
    with op.batch_alter_table("mail_outbox") as batch_op:
        batch_op.create_index("ix_mail_outbox_state_due", ["state", "due_at"], unique=False)
        batch_op.create_index("ix_mail_outbox_user_state", ["user_id", "state", "group_key"], unique=False)
        batch_op.create_index(batch_op.f("ix_mail_outbox_sent_at"), ["sent_at"], unique=False)
    op.create_table(
        "follows",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("story_id", sa.Integer(), nullable=True),
        sa.Column("tag_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("(story_id IS NULL) <> (tag_id IS NULL)", name=op.f("ck_follows_one_target")),
        sa.ForeignKeyConstraint(
            ["story_id"], ["stories.id"], name=op.f("fk_follows_story_id_stories"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["tag_id"], ["tags.id"], name=op.f("fk_follows_tag_id_tags"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_follows_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_follows")),
        sa.UniqueConstraint("user_id", "story_id", name="uq_follows_user_story"),
        sa.UniqueConstraint("user_id", "tag_id", name="uq_follows_user_tag"),
    )
    with op.batch_alter_table("follows") as batch_op:
        batch_op.create_index(batch_op.f("ix_follows_story_id"), ["story_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_follows_tag_id"), ["tag_id"], unique=False)
    op.create_table(
        "story_visits",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("story_id", sa.Integer(), nullable=False),
        sa.Column("last_reply_id", sa.Integer(), server_default="0", nullable=False),
        sa.Column("seen_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["story_id"], ["stories.id"], name=op.f("fk_story_visits_story_id_stories"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_story_visits_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", "story_id", name=op.f("pk_story_visits")),
    )


def downgrade() -> None:
    op.drop_table("story_visits")
    with op.batch_alter_table("follows") as batch_op:
        batch_op.drop_index(batch_op.f("ix_follows_tag_id"))
        batch_op.drop_index(batch_op.f("ix_follows_story_id"))
    op.drop_table("follows")
    with op.batch_alter_table("mail_outbox") as batch_op:
        batch_op.drop_index(batch_op.f("ix_mail_outbox_sent_at"))
        batch_op.drop_index("ix_mail_outbox_user_state")
        batch_op.drop_index("ix_mail_outbox_state_due")
    op.drop_table("mail_outbox")
    op.drop_table("mail_preferences")
