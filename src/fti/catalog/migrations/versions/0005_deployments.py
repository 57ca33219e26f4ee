"""Deployments: versioned, with their model version, feature view and published schema.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deployments",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column(
            "model_version_id",
            sa.Integer,
            sa.ForeignKey("model_versions.id", ondelete="RESTRICT"),
        ),
        sa.Column(
            "feature_view_id", sa.Integer, sa.ForeignKey("feature_views.id", ondelete="RESTRICT")
        ),
        sa.Column("training_dataset_version", sa.Integer),
        sa.Column("passed_features", sa.JSON, nullable=False),
        sa.Column("request_parameters", sa.JSON, nullable=False),
        sa.Column("predictor", sa.JSON),
        sa.Column("fallback", sa.JSON, nullable=False),
        sa.Column("schema", sa.JSON, nullable=False),
        sa.Column("schema_version", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(256), nullable=False),
        sa.UniqueConstraint("name", "version", name="uq_deployments_name_version"),
    )


def downgrade() -> None:
    op.drop_table("deployments")
