"""Catalog records of transformation functions: source code versioned by its sha256."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from fti.catalog import tables as t
from fti.catalog.engine import insert_version
from fti.errors import NotFoundError


class TransformationCatalog:
    """Mixed into :class:`fti.catalog.Catalog`: transformation-function source by version."""

    engine: sa.Engine
    _writer: sa.Engine

    def register_function(self, name: str, hash_: str, source: str, created_by: str) -> int:
        """The version of this exact source of ``name``: the existing one for known code, the
        next one for new code (two racing registrations of new code get distinct versions)."""
        tf = t.transformation_functions

        def existing() -> int | None:
            with self.engine.connect() as conn:
                found = conn.execute(
                    sa.select(tf.c.version).where(tf.c.name == name, tf.c.hash == hash_)
                ).scalar()
            return None if found is None else int(found)

        # a lost race means another writer took that version or stored the same code
        return existing() or insert_version(
            self._writer,
            tf,
            lambda _conn: {"name": name},
            {
                "hash": hash_,
                "source": source,
                "created_at": dt.datetime.now(dt.UTC),
                "created_by": created_by,
            },
            f"transformation function {name!r}",
            on_conflict=existing,
        )

    def get_function(self, name: str, version: int) -> tuple[str, str]:
        """``(hash, source)`` of one version."""
        tf = t.transformation_functions
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(tf.c.hash, tf.c.source).where(tf.c.name == name, tf.c.version == version)
            ).first()
        if row is None:
            raise NotFoundError(
                f"transformation function {name!r} version {version} does not exist"
            )
        return str(row[0]), str(row[1])

    def list_functions(self) -> list[tuple[str, int, str]]:
        """``(name, version, hash)`` of every stored function."""
        tf = t.transformation_functions
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(tf.c.name, tf.c.version, tf.c.hash).order_by(tf.c.name, tf.c.version)
            ).all()
        return [(str(n), int(v), str(h)) for n, v, h in rows]
