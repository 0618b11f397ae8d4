"""Look-alike keys for pseudonyms: users.pseudonym_skeleton, unique, filled in for existing members.

Registration refuses a name whose key (forum.names.lookalike_key: the UTS #39 skeleton, case and
separators folded) is already taken, with one lookup on this unique index. Existing members get their key
here, oldest account first; a member whose name already looks like an older member's keeps it but gets no key
(the older member holds it, so new look-alikes of both are still refused). Deleted accounts get none: their
name is free.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

BATCH = 1000


def _fill_keys() -> None:
    from forum.names import lookalike_key

    connection = op.get_bind()
    users = sa.table(
        "users",
        sa.column("id", sa.Integer),
        sa.column("pseudonym", sa.String),
        sa.column("pseudonym_skeleton", sa.String),
        sa.column("deleted_at", sa.DateTime),
    )
    taken: set[str] = set()
    last_id = 0
    while True:
        rows = connection.execute(
            sa.select(users.c.id, users.c.pseudonym)
            .where(users.c.id > last_id, users.c.deleted_at.is_(None))
            .order_by(users.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            break
        updates = []
        for user_id, pseudonym in rows:
            key = lookalike_key(pseudonym)
            if key and key not in taken:
                taken.add(key)
                updates.append({"user_id": user_id, "key": key})
        if updates:
            connection.execute(
                users.update()
                .where(users.c.id == sa.bindparam("user_id"))
                .values(pseudonym_skeleton=sa.bindparam("key")),
                updates,
            )
        last_id = rows[-1][0]


def upgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pseudonym_skeleton", sa.String(length=120), nullable=True))
    _fill_keys()
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.create_unique_constraint(batch_op.f("uq_users_pseudonym_skeleton"), ["pseudonym_skeleton"])


def downgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_users_pseudonym_skeleton"), type_="unique")
        batch_op.drop_column("pseudonym_skeleton")
