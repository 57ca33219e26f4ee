"""The desired state of each deployment: running or stopped.

One row per deployment name (not version): a new version of a stopped deployment stays
stopped. No row means running, which is what every deployment was before this revision (``fti
serve`` served them all), so existing deployments need no rows.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deployment_states",
        sa.Column("name", sa.String(128), primary_key=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(256), nullable=False),
        sa.CheckConstraint("state IN ('running', 'stopped')", name="ck_deployment_states_state"),
    )


def downgrade() -> None:
    op.drop_table("deployment_states")
