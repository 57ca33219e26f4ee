"""Feature groups, per-commit statistics and validation reports.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "feature_groups",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("primary_key", sa.JSON, nullable=False),
        sa.Column("event_time", sa.String(128)),
        sa.Column("partition_key", sa.JSON, nullable=False),
        sa.Column("online_enabled", sa.Boolean, nullable=False),
        sa.Column("statistics_enabled", sa.Boolean, nullable=False),
        sa.Column("features", sa.JSON),
        sa.Column("arrow_schema", sa.Text),
        sa.Column("expectation_suite", sa.JSON),
        sa.Column("location", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(256), nullable=False),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.UniqueConstraint("name", "version", name="uq_feature_groups_name_version"),
    )
    op.create_table(
        "statistics",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "feature_group_id",
            sa.Integer,
            sa.ForeignKey("feature_groups.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("commit_id", sa.Integer, nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("content", sa.JSON, nullable=False),
        sa.UniqueConstraint("feature_group_id", "commit_id", name="uq_statistics_fg_commit"),
    )
    op.create_table(
        "validation_reports",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "feature_group_id",
            sa.Integer,
            sa.ForeignKey("feature_groups.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("commit_id", sa.Integer),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("success", sa.Boolean, nullable=False),
        sa.Column("ingestion", sa.String(16), nullable=False),
        sa.Column("content", sa.JSON, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("validation_reports")
    op.drop_table("statistics")
    op.drop_table("feature_groups")
