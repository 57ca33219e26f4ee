"""A feature view's feature logging (``logging_enabled=``): whether ``fv.log`` writes, whether
it is paused, and the extra columns its log holds. Views created before it read as not
enabled (their deployments log regardless).

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("feature_views") as batch:
        batch.add_column(sa.Column("logging", sa.JSON))


def downgrade() -> None:
    with op.batch_alter_table("feature_views") as batch:
        batch.drop_column("logging")
