"""Deployment options: resources, SLO and a fallback model version.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Batch mode: SQLite cannot add a foreign key with ALTER TABLE, PostgreSQL just ALTERs.
    with op.batch_alter_table("deployments") as batch:
        batch.add_column(
            sa.Column(
                "fallback_model_version_id",
                sa.Integer,
                sa.ForeignKey(
                    "model_versions.id",
                    name="fk_deployments_fallback_model_version",
                    ondelete="RESTRICT",
                ),
            )
        )
        # existing versions get {}: read back as the default resources
        batch.add_column(sa.Column("resources", sa.JSON, nullable=False, server_default="{}"))
        batch.add_column(sa.Column("slo", sa.JSON))


def downgrade() -> None:
    with op.batch_alter_table("deployments") as batch:
        batch.drop_column("slo")
        batch.drop_column("resources")
        batch.drop_column("fallback_model_version_id")
