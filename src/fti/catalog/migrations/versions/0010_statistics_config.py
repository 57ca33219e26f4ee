"""A feature group's statistics configuration (``statistics_config=``): which statistics its
commits get (histograms, correlations, exact uniqueness, columns). Groups created before it
read as the default configuration with their ``statistics_enabled`` flag.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("feature_groups") as batch:
        batch.add_column(sa.Column("statistics_config", sa.JSON))


def downgrade() -> None:
    with op.batch_alter_table("feature_groups") as batch:
        batch.drop_column("statistics_config")
