"""reliability: broken feeds, stories (one alert per story), digests and quiet hours per chat

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("feeds") as batch:
        batch.add_column(sa.Column("broken_since", sa.DateTime(), nullable=True))
    with op.batch_alter_table("items") as batch:
        batch.add_column(sa.Column("story_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("canonical_url", sa.Text(), nullable=True))
        batch.add_column(sa.Column("fingerprint", sa.Text(), nullable=True))
    op.create_index("ix_items_canonical_url", "items", ["canonical_url"])
    op.create_index("ix_items_fetched_at", "items", ["fetched_at"])
    with op.batch_alter_table("chats") as batch:
        batch.add_column(sa.Column("digest", sa.String(length=16), server_default="immediate", nullable=False))
        batch.add_column(sa.Column("digest_time", sa.String(length=5), nullable=True))
        batch.add_column(sa.Column("timezone", sa.String(length=64), server_default="UTC", nullable=False))
        batch.add_column(sa.Column("quiet_start", sa.String(length=5), nullable=True))
        batch.add_column(sa.Column("quiet_end", sa.String(length=5), nullable=True))
        batch.add_column(sa.Column("next_digest_at", sa.DateTime(), nullable=True))
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("story_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("urgent", sa.Boolean(), server_default="0", nullable=False))
    op.create_index("ix_deliveries_chat_story", "deliveries", ["chat_id", "story_id"])


def downgrade() -> None:
    op.drop_index("ix_deliveries_chat_story", table_name="deliveries")
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("urgent")
        batch.drop_column("story_id")
    with op.batch_alter_table("chats") as batch:
        for column in ("next_digest_at", "quiet_end", "quiet_start", "timezone", "digest_time", "digest"):
            batch.drop_column(column)
    op.drop_index("ix_items_fetched_at", table_name="items")
    op.drop_index("ix_items_canonical_url", table_name="items")
    with op.batch_alter_table("items") as batch:
        batch.drop_column("fingerprint")
        batch.drop_column("canonical_url")
        batch.drop_column("story_id")
    with op.batch_alter_table("feeds") as batch:
        batch.drop_column("broken_since")
