"""Feature views, their feature groups (lineage) and training-dataset versions.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "feature_views",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("query", sa.JSON, nullable=False),
        sa.Column("features", sa.JSON, nullable=False),
        sa.Column("labels", sa.JSON, nullable=False),
        sa.Column("inference_helper_columns", sa.JSON, nullable=False),
        sa.Column("training_helper_columns", sa.JSON, nullable=False),
        sa.Column("transformation_functions", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(256), nullable=False),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.UniqueConstraint("name", "version", name="uq_feature_views_name_version"),
    )
    op.create_table(
        "feature_view_groups",
        sa.Column(
            "feature_view_id",
            sa.Integer,
            sa.ForeignKey("feature_views.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "feature_group_id",
            sa.Integer,
            sa.ForeignKey("feature_groups.id", ondelete="RESTRICT"),
            primary_key=True,
        ),
        sa.Column("join_kind", sa.String(32), nullable=False),
    )
    op.create_table(
        "training_datasets",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "feature_view_id",
            sa.Integer,
            sa.ForeignKey("feature_views.id", ondelete="RESTRICT"),
            nullable=False,
        ),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("spec", sa.JSON, nullable=False),
        sa.Column("commits", sa.JSON, nullable=False),
        sa.Column("statistics", sa.JSON),
        sa.Column("transformation_state", sa.JSON),
        sa.Column("data_format", sa.String(16)),
        sa.Column("location", sa.Text),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(256), nullable=False),
        sa.UniqueConstraint("feature_view_id", "version", name="uq_training_datasets_fv_version"),
    )


def downgrade() -> None:
    op.drop_table("training_datasets")
    op.drop_table("feature_view_groups")
    op.drop_table("feature_views")
