"""chats.chat_type (private, group, supergroup, channel) for per-group rate limits and permissions

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("chats") as batch:
        batch.add_column(sa.Column("chat_type", sa.String(length=16), server_default="private", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("chats") as batch:
        batch.drop_column("chat_type")
