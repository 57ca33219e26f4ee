"""The project's identity: one row holding a random id, minted here.

The online store's namespace in a shared Redis used to be derived from the catalog URL's
text, so two projects whose URLs read the same (``sqlite:///catalog.sqlite`` in two working
directories) shared rows, and one catalog reached as ``localhost`` and as ``127.0.0.1`` was
two projects. The namespace now derives from this id.

An existing project on Redis therefore starts out with an empty namespace, and its old rows
are orphaned: the feature store rebuilds a group's online rows from its offline table on the
group's next open or insert when the online watermark is missing
(``fti.featurestore.online_sync``), so the project serves its rows again without a step by
hand. The orphaned keys under the old namespace can be deleted from Redis.

For a SQLite catalog, ``location`` is the catalog file the id was minted for: the same file
opened from another path (a copied home) gets a new id on open (``fti.catalog.identity``).

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import datetime as dt
import uuid

import sqlalchemy as sa
from alembic import op

from fti.catalog.identity import catalog_location

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    project = op.create_table(
        "project",
        sa.Column("one", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("location", sa.Text),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("one = 1", name="ck_project_one_row"),
    )
    bind = op.get_bind()
    op.bulk_insert(
        project,
        [
            {
                "one": 1,
                "id": uuid.uuid4().hex,
                "location": catalog_location(bind.engine.url),
                "created_at": dt.datetime.now(dt.UTC),
            }
        ],
    )


def downgrade() -> None:
    op.drop_table("project")
