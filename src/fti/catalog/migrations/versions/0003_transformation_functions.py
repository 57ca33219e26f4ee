"""Transformation functions (source, hash, version) and the ODTs of feature groups.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "transformation_functions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(256), nullable=False),
        sa.UniqueConstraint("name", "version", name="uq_transformation_functions_name_version"),
        sa.UniqueConstraint("name", "hash", name="uq_transformation_functions_name_hash"),
    )
    with op.batch_alter_table("feature_groups") as batch:
        batch.add_column(sa.Column("transformation_functions", sa.JSON))


def downgrade() -> None:
    with op.batch_alter_table("feature_groups") as batch:
        batch.drop_column("transformation_functions")
    op.drop_table("transformation_functions")
