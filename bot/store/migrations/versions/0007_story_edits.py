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
        # sent inside a digest (no message to edit); a held row that brings such a story's count to the next digest
        batch.add_column(sa.Column("digested", sa.Boolean(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("update_of", sa.Integer(), nullable=True))
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
    # developing stories: chats opt in to one follow-up when a story reaches the threshold of sources
    with op.batch_alter_table("chats") as batch:
        batch.add_column(sa.Column("follow_developing", sa.Boolean(), nullable=False, server_default="0"))
    op.create_table(
        "developing_stories",
        sa.Column("story_id", sa.Integer(), primary_key=True),
        sa.Column("sources", sa.Integer(), nullable=False),
        sa.Column("marked_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "followups",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("chat_id", sa.Integer(), sa.ForeignKey("chats.id", ondelete="CASCADE"), nullable=False),
        sa.Column("delivery_id", sa.Integer(), sa.ForeignKey("deliveries.id", ondelete="CASCADE"), nullable=False),
        sa.Column("story_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False, server_default="pending"),
        sa.Column("urgent", sa.Boolean(), nullable=False, server_default="0"),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("lease_until", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.Column("message_ref", sa.Text(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.UniqueConstraint("chat_id", "story_id", name="uq_followups_chat_story"),
    )
    op.create_index("ix_followups_state_next", "followups", ["state", "next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_followups_state_next", table_name="followups")
    op.drop_table("followups")
    op.drop_table("developing_stories")
    with op.batch_alter_table("chats") as batch:
        batch.drop_column("follow_developing")
    op.drop_index("ix_story_edits_story", table_name="story_edits")
    op.drop_index("ix_story_edits_state_next", table_name="story_edits")
    op.drop_table("story_edits")
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("update_of")
        batch.drop_column("digested")
        batch.drop_column("message_ref")
