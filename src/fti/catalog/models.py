"""Catalog records of the model registry: versions, aliases and every move of an alias."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from fti.catalog import tables as t
from fti.catalog.engine import aware, insert_version
from fti.errors import AlreadyExistsError, FtiError, ModelNotFound


@dataclass(frozen=True)
class ModelVersionRecord:
    id: int
    model_id: int
    name: str
    version: int
    flavor: str
    description: str
    metrics: dict[str, Any]
    tags: dict[str, Any]
    input_example: Any
    model_schema: dict[str, Any] | None
    feature_view_id: int | None
    training_dataset_version: int | None
    environment: dict[str, Any]
    code: dict[str, Any]
    artifact_uri: str
    manifest: dict[str, Any]
    card: str | None
    created_at: dt.datetime
    created_by: str


@dataclass(frozen=True)
class AliasMove:
    """One move of an alias: ``to_version`` None means the alias was removed."""

    alias: str
    from_version: int | None
    to_version: int | None
    moved_at: dt.datetime
    moved_by: str
    approved_by: str | None


def _select() -> sa.Select[Any]:
    mv, m = t.model_versions, t.models
    return sa.select(mv, m.c.name).join(m, m.c.id == mv.c.model_id)


def _record(row: sa.Row[Any]) -> ModelVersionRecord:
    data = dict(row._mapping)
    data["created_at"] = aware(data["created_at"])
    return ModelVersionRecord(**data)


class ModelCatalog:
    """Mixed into :class:`fti.catalog.Catalog`: model versions and aliases."""

    engine: sa.Engine
    _writer: sa.Engine

    # -- versions ---------------------------------------------------------------------------

    def _model_id(self, conn: sa.Connection, name: str, created_by: str) -> int:
        found = conn.execute(sa.select(t.models.c.id).where(t.models.c.name == name)).scalar()
        if found is not None:
            return int(found)
        result = conn.execute(
            sa.insert(t.models).values(
                name=name, created_at=dt.datetime.now(dt.UTC), created_by=created_by
            )
        )
        return int(result.inserted_primary_key[0])  # type: ignore[index]

    def register_model_version(
        self, name: str, version: int | None, fields: Mapping[str, Any], created_by: str
    ) -> ModelVersionRecord:
        """Insert a version: ``version`` exactly (taken: :class:`AlreadyExistsError`), or the
        next free one (racing registrations from several processes get distinct versions)."""

        def taken() -> None:
            if version is not None and self.model_version_exists(name, version):
                raise AlreadyExistsError(f"model {name!r} version {version} already exists")
            # else another process took the number (or created the model): try again

        number = insert_version(
            self._writer,
            t.model_versions,
            lambda conn: {"model_id": self._model_id(conn, name, created_by)},
            {"created_at": dt.datetime.now(dt.UTC), "created_by": created_by, **fields},
            f"model {name!r}",
            version=version,
            on_conflict=taken,
        )
        return self.get_model_version(name, number)

    def model_version_exists(self, name: str, version: int) -> bool:
        mv, m = t.model_versions, t.models
        with self.engine.connect() as conn:
            found = conn.execute(
                sa.select(mv.c.id)
                .join(m, m.c.id == mv.c.model_id)
                .where(m.c.name == name, mv.c.version == version)
            ).first()
        return found is not None

    def get_model_version(self, name: str, version: int | None = None) -> ModelVersionRecord:
        """A version of ``name``; the latest when ``version`` is None."""
        query = _select().where(t.models.c.name == name)
        if version is None:
            query = query.order_by(t.model_versions.c.version.desc()).limit(1)
        else:
            query = query.where(t.model_versions.c.version == version)
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        if row is None:
            known = self.list_model_versions(name)
            if not known:
                raise ModelNotFound(f"model {name!r} does not exist")
            raise ModelNotFound(
                f"model {name!r} version {version} does not exist; versions: "
                f"{[r.version for r in known]}"
            )
        return _record(row)

    def get_model_version_by_id(self, version_id: int) -> ModelVersionRecord:
        with self.engine.connect() as conn:
            row = conn.execute(_select().where(t.model_versions.c.id == version_id)).first()
        if row is None:
            raise ModelNotFound(f"model version id {version_id} does not exist")
        return _record(row)

    def list_model_versions(self, name: str | None = None) -> list[ModelVersionRecord]:
        query = _select().order_by(t.models.c.name, t.model_versions.c.version)
        if name is not None:
            query = query.where(t.models.c.name == name)
        with self.engine.connect() as conn:
            return [_record(r) for r in conn.execute(query).all()]

    def model_versions_of_feature_view(self, feature_view_id: int) -> list[ModelVersionRecord]:
        query = _select().where(t.model_versions.c.feature_view_id == feature_view_id)
        with self.engine.connect() as conn:
            return [_record(r) for r in conn.execute(query).all()]

    def update_model_version(self, version_id: int, changes: Mapping[str, Any]) -> None:
        with self._writer.begin() as conn:
            conn.execute(
                sa.update(t.model_versions)
                .where(t.model_versions.c.id == version_id)
                .values(**changes)
            )

    def delete_model_version(self, name: str, version: int) -> ModelVersionRecord:
        """Delete the record (the caller deletes the artifacts); refused while an alias points
        at it."""
        record = self.get_model_version(name, version)
        aliases = [a for a, v in self.model_aliases(name).items() if v == version]
        if aliases:
            raise FtiError(
                f"model {name!r} version {version} is aliased as {aliases}: move the alias first"
            )
        with self._writer.begin() as conn:
            conn.execute(sa.delete(t.model_versions).where(t.model_versions.c.id == record.id))
        return record

    # -- aliases ----------------------------------------------------------------------------

    def set_model_alias(
        self, name: str, alias: str, version: int | None, by: str, approved_by: str | None
    ) -> None:
        """Point ``alias`` at ``version`` (None removes it) and record the move, atomically."""
        record = self.get_model_version(name, version) if version is not None else None
        model_id = record.model_id if record else self._existing_model_id(name)
        a = t.model_aliases
        now = dt.datetime.now(dt.UTC)
        with self._writer.begin() as conn:
            current = conn.execute(
                sa.select(a.c.version).where(a.c.model_id == model_id, a.c.alias == alias)
            ).scalar()
            if current is None and version is None:
                raise FtiError(f"model {name!r} has no alias {alias!r}")
            where = (a.c.model_id == model_id) & (a.c.alias == alias)
            if version is None:
                conn.execute(sa.delete(a).where(where))
            elif current is None:
                conn.execute(
                    sa.insert(a).values(
                        model_id=model_id,
                        alias=alias,
                        version=version,
                        updated_at=now,
                        updated_by=by,
                        approved_by=approved_by,
                    )
                )
            else:
                conn.execute(
                    sa.update(a)
                    .where(where)
                    .values(version=version, updated_at=now, updated_by=by, approved_by=approved_by)
                )
            conn.execute(
                sa.insert(t.model_alias_history).values(
                    model_id=model_id,
                    alias=alias,
                    from_version=current,
                    to_version=version,
                    moved_at=now,
                    moved_by=by,
                    approved_by=approved_by,
                )
            )

    def _existing_model_id(self, name: str) -> int:
        with self.engine.connect() as conn:
            found = conn.execute(sa.select(t.models.c.id).where(t.models.c.name == name)).scalar()
        if found is None:
            raise ModelNotFound(f"model {name!r} does not exist")
        return int(found)

    def model_aliases(self, name: str) -> dict[str, int]:
        a = t.model_aliases
        model_id = self._existing_model_id(name)
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(a.c.alias, a.c.version).where(a.c.model_id == model_id)
            ).all()
        return {str(alias): int(version) for alias, version in rows}

    def model_alias_history(self, name: str, alias: str | None = None) -> list[AliasMove]:
        h = t.model_alias_history
        query = sa.select(h).where(h.c.model_id == self._existing_model_id(name)).order_by(h.c.id)
        if alias is not None:
            query = query.where(h.c.alias == alias)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [
            AliasMove(
                r.alias,
                r.from_version,
                r.to_version,
                aware(r.moved_at),
                r.moved_by,
                r.approved_by,
            )
            for r in rows
        ]
