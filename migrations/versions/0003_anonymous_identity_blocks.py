"""Blocks on an anonymous story's identity, not on the member behind it; audit rows on anonymous content name nobody.

A block made from an anonymous story used to block the member who wrote it, which hid her named posts too and so
told the blocker who she was. Such blocks become blocks on each of that member's anonymous stories (what the
blocker could not see before, they still cannot see) and stop touching her named posts. Audit entries about
anonymous content keep the action but no longer point at the member.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# Audit rows whose item was written under "Anonymous parent": the story, its updates, its author's own replies.
ANONYMOUS_TARGETS = """
    (target_type = 'story' AND target_id IN (SELECT id FROM stories WHERE anonymous))
    OR (target_type = 'update' AND target_id IN (
        SELECT u.id FROM story_updates u JOIN stories s ON s.id = u.story_id WHERE s.anonymous))
    OR (target_type = 'reply' AND target_id IN (
        SELECT r.id FROM replies r JOIN stories s ON s.id = r.story_id
        WHERE s.anonymous AND r.author_id = s.author_id))
"""


def upgrade():
    with op.batch_alter_table("blocks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("blocked_story_id", sa.Integer(), nullable=True))
        batch_op.alter_column("blocked_id", existing_type=sa.Integer(), nullable=True)
    op.execute(
        "INSERT INTO blocks (blocker_id, blocked_story_id, via_anonymous, created_at) "
        "SELECT b.blocker_id, s.id, false, b.created_at FROM blocks b JOIN stories s ON s.author_id = b.blocked_id "
        "WHERE b.via_anonymous AND s.anonymous"
    )
    op.execute("DELETE FROM blocks WHERE via_anonymous")
    with op.batch_alter_table("blocks", schema=None) as batch_op:
        batch_op.drop_column("via_anonymous")
        batch_op.create_foreign_key(
            batch_op.f("fk_blocks_blocked_story_id_stories"),
            "stories",
            ["blocked_story_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.create_unique_constraint("uq_blocks_story", ["blocker_id", "blocked_story_id"])
        batch_op.create_check_constraint(
            batch_op.f("ck_blocks_one_blocked"), "(blocked_id IS NULL) <> (blocked_story_id IS NULL)"
        )
        batch_op.create_index(batch_op.f("ix_blocks_blocked_story_id"), ["blocked_story_id"], unique=False)
    op.execute(f"UPDATE audit_entries SET subject_id = NULL WHERE {ANONYMOUS_TARGETS}")


def downgrade():
    with op.batch_alter_table("blocks", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("via_anonymous", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    # Back to the old meaning: a block on the member who wrote the story (one per pair).
    op.execute(
        "INSERT INTO blocks (blocker_id, blocked_id, via_anonymous, created_at) "
        "SELECT b.blocker_id, s.author_id, true, min(b.created_at) FROM blocks b "
        "JOIN stories s ON s.id = b.blocked_story_id WHERE s.author_id IS NOT NULL "
        "AND NOT EXISTS (SELECT 1 FROM blocks o WHERE o.blocker_id = b.blocker_id AND o.blocked_id = s.author_id) "
        "GROUP BY b.blocker_id, s.author_id"
    )
    op.execute("DELETE FROM blocks WHERE blocked_story_id IS NOT NULL")
    with op.batch_alter_table("blocks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_blocks_blocked_story_id"))
        batch_op.drop_constraint(batch_op.f("ck_blocks_one_blocked"), type_="check")
        batch_op.drop_constraint("uq_blocks_story", type_="unique")
        batch_op.drop_constraint(batch_op.f("fk_blocks_blocked_story_id_stories"), type_="foreignkey")
        batch_op.drop_column("blocked_story_id")
        batch_op.alter_column("blocked_id", existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column("via_anonymous", server_default=None)
