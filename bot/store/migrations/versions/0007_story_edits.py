"""stories that grow: platform message ids of sent alerts, and edits as outbox jobs (issue 15)

Revision ID: 0007
Revises: 0006

Existing deliveries get ``message_ref`` NULL: where their message is was never recorded, so they are never edited
(a story they belong to still grows for the chats alerted after the upgrade).
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("message_ref", sa.Text(), nullable=True))
    op.create_table(
        "story_edits",
        sa.Column("delivery_id", sa.Integer(), sa.ForeignKey("deliveries.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("story_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False, server_default="pending"),
        sa.Column("wanted", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("applied", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("edits", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("lease_until", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
    )
    op.create_index("ix_story_edits_state_next", "story_edits", ["state", "next_attempt_at"])
    op.create_index("ix_story_edits_story", "story_edits", ["story_id"])


def downgrade() -> None:
    op.drop_index("ix_story_edits_story", table_name="story_edits")
    op.drop_index("ix_story_edits_state_next", table_name="story_edits")
    op.drop_table("story_edits")
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("message_ref")
