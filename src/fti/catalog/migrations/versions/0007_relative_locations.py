"""Locations relative to the project's stores, and the last commit of each feature group.

A catalog that stored absolute paths made a copied or moved home read, write and delete the
original's tables and artifacts. Local paths written by earlier versions are rewritten to the
layout every version used (``<root>/<name>/v<version>``, ``<root>/_training_datasets/...``,
``<root>/<model>/<uuid hex>``); anything else (a URI, an unexpected path) is kept as it is.

``last_commit`` lets a feature group whose offline table has gone missing say so, instead of
reading as empty; it is filled from the commits that left statistics or validation reports.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_ARTIFACT_DIR = re.compile(r"^/.*/([^/]+/[0-9a-f]{32})/?$")


def _local(path: str | None) -> bool:
    return bool(path) and "://" not in str(path) and str(path).startswith("/")


def upgrade() -> None:
    with op.batch_alter_table("feature_groups") as batch:
        batch.add_column(sa.Column("last_commit", sa.Integer))
    conn = op.get_bind()
    groups = sa.table(
        "feature_groups",
        sa.column("id", sa.Integer),
        sa.column("name", sa.String),
        sa.column("version", sa.Integer),
        sa.column("location", sa.Text),
        sa.column("last_commit", sa.Integer),
    )
    statistics = sa.table(
        "statistics", sa.column("feature_group_id", sa.Integer), sa.column("commit_id", sa.Integer)
    )
    reports = sa.table(
        "validation_reports",
        sa.column("feature_group_id", sa.Integer),
        sa.column("commit_id", sa.Integer),
    )
    for fg_id, name, version, location in conn.execute(
        sa.select(groups.c.id, groups.c.name, groups.c.version, groups.c.location)
    ).all():
        values: dict[str, object] = {}
        relative = f"{name}/v{version}"
        if _local(location) and location.rstrip("/").endswith("/" + relative):
            values["location"] = relative
        last = max(
            (
                conn.execute(
                    sa.select(sa.func.max(table.c.commit_id)).where(
                        table.c.feature_group_id == fg_id
                    )
                ).scalar()
                for table in (statistics, reports)
            ),
            key=lambda c: -1 if c is None else c,
        )
        if last is not None:
            values["last_commit"] = last
        if values:
            conn.execute(sa.update(groups).where(groups.c.id == fg_id).values(**values))

    datasets = sa.table("training_datasets", sa.column("id"), sa.column("location", sa.Text))
    for td_id, location in conn.execute(sa.select(datasets.c.id, datasets.c.location)).all():
        if _local(location) and "/_training_datasets/" in location:
            relative = location[location.index("/_training_datasets/") + 1 :]
            conn.execute(
                sa.update(datasets).where(datasets.c.id == td_id).values(location=relative)
            )

    versions = sa.table("model_versions", sa.column("id"), sa.column("artifact_uri", sa.Text))
    for mv_id, uri in conn.execute(sa.select(versions.c.id, versions.c.artifact_uri)).all():
        match = _ARTIFACT_DIR.match(uri or "")
        if match:
            conn.execute(
                sa.update(versions).where(versions.c.id == mv_id).values(artifact_uri=match[1])
            )


def downgrade() -> None:
    # Relative locations stay relative: they are correct under the home they belong to.
    with op.batch_alter_table("feature_groups") as batch:
        batch.drop_column("last_commit")
