"""hostile world: admin notices go through an outbox; a feed's own caching interval is remembered

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("feeds") as batch:
        # seconds the feed asked to be cached (Cache-Control max-age, <ttl>) on its last full answer
        batch.add_column(sa.Column("asked_interval", sa.Integer(), nullable=True))
    op.create_table(
        "notices",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("params", sa.Text(), nullable=False, server_default="{}"),
        sa.Column("state", sa.String(length=16), nullable=False, server_default="pending"),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("lease_until", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
    )
    op.create_index("ix_notices_state_next", "notices", ["state", "next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_notices_state_next", table_name="notices")
    op.drop_table("notices")
    with op.batch_alter_table("feeds") as batch:
        batch.drop_column("asked_interval")
