"""Catalog records of feature views and training-dataset versions, with their lineage."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from fti.catalog import tables as t
from fti.catalog.engine import aware, insert_version
from fti.errors import (
    AlreadyExistsError,
    FeatureViewNotFound,
    FtiError,
    TrainingDatasetNotFound,
)


@dataclass(frozen=True)
class FeatureViewRecord:
    id: int
    name: str
    version: int
    description: str
    query: dict[str, Any]
    features: list[dict[str, Any]]
    labels: list[str]
    inference_helper_columns: list[str]
    training_helper_columns: list[str]
    transformation_functions: list[Any]
    created_at: dt.datetime
    created_by: str
    logging: dict[str, Any] | None = None  # fv.log's: enabled, paused, extra columns


@dataclass(frozen=True)
class TrainingDatasetRecord:
    id: int
    feature_view_id: int
    version: int
    description: str
    spec: dict[str, Any]
    commits: dict[str, int]
    statistics: dict[str, Any] | None
    transformation_state: dict[str, Any] | None
    data_format: str | None
    location: str | None
    created_at: dt.datetime
    created_by: str


def _view(row: sa.Row[Any]) -> FeatureViewRecord:
    m = dict(row._mapping)
    m.pop("revision", None)
    m["created_at"] = aware(m["created_at"])
    return FeatureViewRecord(**m)


def _dataset(row: sa.Row[Any]) -> TrainingDatasetRecord:
    m = dict(row._mapping)
    m["created_at"] = aware(m["created_at"])
    return TrainingDatasetRecord(**m)


class FeatureViewCatalog:
    """Mixed into :class:`fti.catalog.Catalog`: feature views and training datasets."""

    engine: sa.Engine
    _writer: sa.Engine

    def create_feature_view(self, groups: Mapping[int, str], **fields: Any) -> FeatureViewRecord:
        """Insert a definition and its group lineage (group id -> join kind) atomically."""
        values = {"created_at": dt.datetime.now(dt.UTC), "revision": 1, **fields}
        try:
            with self._writer.begin() as conn:
                (new_id,) = conn.execute(
                    sa.insert(t.feature_views).values(**values)
                ).inserted_primary_key or (0,)
                for group_id, kind in groups.items():
                    conn.execute(
                        sa.insert(t.feature_view_groups).values(
                            feature_view_id=new_id, feature_group_id=group_id, join_kind=kind
                        )
                    )
        except sa.exc.IntegrityError as exc:
            raise AlreadyExistsError(
                f"feature view {fields['name']!r} version {fields['version']} already exists"
            ) from exc
        return self.get_feature_view(fields["name"], fields["version"])

    def get_feature_view(self, name: str, version: int | None = None) -> FeatureViewRecord:
        fv = t.feature_views
        query = sa.select(fv).where(fv.c.name == name)
        query = (
            query.where(fv.c.version == version)
            if version is not None
            else query.order_by(fv.c.version.desc()).limit(1)
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
            known = list(
                conn.execute(
                    sa.select(fv.c.version).where(fv.c.name == name).order_by(fv.c.version)
                ).scalars()
            )
        if row is None:
            if known:
                raise FeatureViewNotFound(
                    f"feature view {name!r} has no version {version}; versions: {known}"
                )
            raise FeatureViewNotFound(f"feature view {name!r} does not exist")
        return _view(row)

    def set_feature_view_logging(self, view_id: int, logging: Mapping[str, Any]) -> None:
        """Record a view's feature logging (enabled, paused, extra columns)."""
        fv = t.feature_views
        with self._writer.begin() as conn:
            result = conn.execute(
                sa.update(fv).where(fv.c.id == view_id).values(logging=dict(logging))
            )
        if result.rowcount != 1:
            raise FeatureViewNotFound(f"feature view id {view_id} does not exist")

    def get_feature_view_by_id(self, view_id: int) -> FeatureViewRecord:
        fv = t.feature_views
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(fv).where(fv.c.id == view_id)).first()
        if row is None:
            raise FeatureViewNotFound(f"feature view id {view_id} does not exist")
        return _view(row)

    def list_feature_views(self, name: str | None = None) -> list[FeatureViewRecord]:
        fv = t.feature_views
        query = sa.select(fv).order_by(fv.c.name, fv.c.version)
        if name is not None:
            query = query.where(fv.c.name == name)
        with self.engine.connect() as conn:
            return [_view(r) for r in conn.execute(query)]

    def feature_views_of_group(self, group_id: int) -> list[FeatureViewRecord]:
        fv, link = t.feature_views, t.feature_view_groups
        query = (
            sa.select(fv)
            .join(link, link.c.feature_view_id == fv.c.id)
            .where(link.c.feature_group_id == group_id)
            .order_by(fv.c.name, fv.c.version)
        )
        with self.engine.connect() as conn:
            return [_view(r) for r in conn.execute(query)]

    def delete_feature_view(self, view_id: int, force: bool = False) -> None:
        """Delete a view; refused while training datasets depend on it unless ``force``, and
        always while model versions record it as their lineage."""
        td, mv, m = t.training_datasets, t.model_versions, t.models
        with self._writer.begin() as conn:
            models = conn.execute(
                sa.select(m.c.name, mv.c.version)
                .join(m, m.c.id == mv.c.model_id)
                .where(mv.c.feature_view_id == view_id)
            ).all()
            if models:
                names = ", ".join(f"{n} v{v}" for n, v in models)
                raise FtiError(
                    f"model version(s) {names} were trained on this feature view: delete them "
                    "first (their lineage must not dangle)"
                )
            versions = list(
                conn.execute(
                    sa.select(td.c.version).where(td.c.feature_view_id == view_id)
                ).scalars()
            )
            if versions and not force:
                raise FtiError(
                    f"training dataset version(s) {sorted(versions)} depend on this feature view; "
                    "pass force=True to delete them too"
                )
            conn.execute(sa.delete(td).where(td.c.feature_view_id == view_id))
            conn.execute(
                sa.delete(t.feature_view_groups).where(
                    t.feature_view_groups.c.feature_view_id == view_id
                )
            )
            conn.execute(sa.delete(t.feature_views).where(t.feature_views.c.id == view_id))

    # -- training datasets ------------------------------------------------------------------

    def create_training_dataset(self, view_id: int, **fields: Any) -> TrainingDatasetRecord:
        """The next version of the view's training datasets (concurrent callers get distinct
        versions: the unique constraint makes a loser retry with the next number)."""
        version = insert_version(
            self._writer,
            t.training_datasets,
            lambda _conn: {"feature_view_id": view_id},
            {"created_at": dt.datetime.now(dt.UTC), **fields},
            "a training dataset",
        )
        return self.get_training_dataset(view_id, version)

    def update_training_dataset(self, dataset_id: int, changes: Mapping[str, Any]) -> None:
        with self._writer.begin() as conn:
            conn.execute(
                sa.update(t.training_datasets)
                .where(t.training_datasets.c.id == dataset_id)
                .values(**changes)
            )

    def get_training_dataset(self, view_id: int, version: int) -> TrainingDatasetRecord:
        td = t.training_datasets
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(td).where(td.c.feature_view_id == view_id, td.c.version == version)
            ).first()
        if row is None:
            known = [r.version for r in self.list_training_datasets(view_id)]
            raise TrainingDatasetNotFound(
                f"training dataset version {version} does not exist; versions: {known}"
            )
        return _dataset(row)

    def list_training_datasets(self, view_id: int) -> list[TrainingDatasetRecord]:
        td = t.training_datasets
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(td).where(td.c.feature_view_id == view_id).order_by(td.c.version)
            )
            return [_dataset(r) for r in rows]
