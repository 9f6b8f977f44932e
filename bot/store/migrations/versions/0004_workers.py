"""several workers on one database: leases on claimed feeds and deliveries, per-chat send times

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("feeds") as batch:
        batch.add_column(sa.Column("lease_until", sa.DateTime(), nullable=True))
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("lease_until", sa.DateTime(), nullable=True))
    with op.batch_alter_table("chats") as batch:
        batch.add_column(sa.Column("next_send_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("chats") as batch:
        batch.drop_column("next_send_at")
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("lease_until")
    with op.batch_alter_table("feeds") as batch:
        batch.drop_column("lease_until")
