"""The project's identity: a random id stored in its catalog (revision 0009).

Everything a project keeps outside its home under a name of its own (its online rows in a
shared Redis) is named after this id, never after the catalog URL's text: one database
reached by two spellings of its address is one project, and two catalogs whose URLs read the
same are two.

A copied home copies its SQLite catalog, id included, yet is an independent project; so the
id of a SQLite catalog belongs to the file it was minted for (``location``), and opening the
catalog at another path mints a new one. A PostgreSQL catalog's id is shared by every home
that uses it: that is what a shared catalog is for.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import sqlalchemy as sa

PROJECT = sa.Table(
    "project",
    sa.MetaData(),
    sa.Column("one", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("id", sa.String(32), nullable=False),
    sa.Column("location", sa.Text),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)


def catalog_location(url: sa.URL) -> str | None:
    """The resolved path of a SQLite catalog file (None for a server or an in-memory one)."""
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return str(Path(str(url.database)).resolve())


def project_id(engine: sa.Engine, writer: sa.Engine) -> str:
    """The catalog's project id; a new one if this SQLite file was minted for another path."""
    here = catalog_location(engine.url)
    with engine.connect() as conn:
        row = conn.execute(sa.select(PROJECT.c.id, PROJECT.c.location)).one()
    if here is None or row.location == here:
        return str(row.id)
    # The writer's transaction holds SQLite's write lock from its start, so two processes
    # opening a copy at once mint one id: the second re-reads the first one's.
    with writer.begin() as conn:
        row = conn.execute(sa.select(PROJECT.c.id, PROJECT.c.location)).one()
        if row.location == here:
            return str(row.id)
        minted = uuid.uuid4().hex
        conn.execute(sa.update(PROJECT).values(id=minted, location=here))
        return minted
