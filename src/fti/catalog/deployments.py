"""Catalog records of deployments: every change is a new version of the deployment."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from fti.catalog import tables as t
from fti.catalog.engine import aware, insert_version
from fti.errors import DeploymentNotFound, FtiError

# The desired states of a deployment; a name without a recorded state is running.
DEPLOYMENT_STATES = ("running", "stopped")


@dataclass(frozen=True)
class DeploymentRecord:
    id: int
    name: str
    version: int
    model_version_id: int | None
    feature_view_id: int | None
    training_dataset_version: int | None
    passed_features: list[str]
    request_parameters: list[str]
    predictor: dict[str, Any] | None
    fallback: dict[str, Any]  # {"missing": policy, "lookup_timeout_ms": float | None}
    schema: dict[str, Any]
    schema_version: int
    created_at: dt.datetime
    created_by: str
    fallback_model_version_id: int | None = None
    resources: dict[str, Any] = field(default_factory=dict)  # {} before 0006: the defaults
    slo: dict[str, Any] | None = None


@dataclass(frozen=True)
class DeploymentStateRecord:
    name: str
    state: str  # one of DEPLOYMENT_STATES
    updated_at: dt.datetime | None  # None (and updated_by): never recorded, so running
    updated_by: str | None


def _record(row: sa.Row[Any]) -> DeploymentRecord:
    data = dict(row._mapping)
    data["created_at"] = aware(data["created_at"])
    return DeploymentRecord(**data)


class DeploymentCatalog:
    """Mixed into :class:`fti.catalog.Catalog`."""

    engine: sa.Engine
    _writer: sa.Engine

    def create_deployment(
        self, name: str, fields: Mapping[str, Any], created_by: str
    ) -> DeploymentRecord:
        """The next version of deployment ``name`` (racing writers get distinct versions)."""
        version = insert_version(
            self._writer,
            t.deployments,
            lambda _conn: {"name": name},
            {"created_at": dt.datetime.now(dt.UTC), "created_by": created_by, **fields},
            f"deployment {name!r}",
        )
        return self.get_deployment(name, version)

    def get_deployment(self, name: str, version: int | None = None) -> DeploymentRecord:
        d = t.deployments
        query = sa.select(d).where(d.c.name == name)
        query = (
            query.where(d.c.version == version)
            if version is not None
            else query.order_by(d.c.version.desc()).limit(1)
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        if row is None:
            raise DeploymentNotFound(
                f"deployment {name!r}"
                + (f" version {version}" if version else "")
                + " does not exist"
            )
        return _record(row)

    def list_deployments(self, name: str | None = None) -> list[DeploymentRecord]:
        d = t.deployments
        query = sa.select(d).order_by(d.c.name, d.c.version)
        if name is not None:
            query = query.where(d.c.name == name)
        with self.engine.connect() as conn:
            return [_record(r) for r in conn.execute(query).all()]

    def deployments_of_model_version(self, model_version_id: int) -> list[DeploymentRecord]:
        """Deployment versions that serve the model version or fall back to it."""
        d = t.deployments
        uses = sa.or_(
            d.c.model_version_id == model_version_id,
            d.c.fallback_model_version_id == model_version_id,
        )
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(d).where(uses).order_by(d.c.name, d.c.version))
            return [_record(r) for r in rows.all()]

    def delete_deployment(self, name: str) -> None:
        """Delete every version of a deployment (its inference log stays)."""
        d = t.deployments
        self.get_deployment(name)  # DeploymentNotFound for an unknown name
        with self._writer.begin() as conn:
            conn.execute(sa.delete(d).where(d.c.name == name))
            # after the versions: a set_deployment_state holding them locked commits first,
            # and this statement then sees (and deletes) the row it wrote
            states = t.deployment_states
            conn.execute(sa.delete(states).where(states.c.name == name))

    # -- desired states ---------------------------------------------------------------------

    def set_deployment_state(self, name: str, state: str, by: str) -> DeploymentStateRecord:
        """Record the desired state of deployment ``name`` (all its versions); an unknown
        name or a state other than those of ``DEPLOYMENT_STATES`` raises and writes nothing."""
        if state not in DEPLOYMENT_STATES:
            raise FtiError(
                f"a deployment's state is {' or '.join(map(repr, DEPLOYMENT_STATES))}, "
                f"not {state!r}"
            )
        d = t.deployments
        s = t.deployment_states
        now = dt.datetime.now(dt.UTC)
        insert = postgresql.insert if self._writer.dialect.name == "postgresql" else sqlite.insert
        with self._writer.begin() as conn:
            # FOR UPDATE on PostgreSQL (SQLite's writer already holds the database's lock): a
            # racing delete_deployment either commits first, and the name is then unknown
            # here, or waits for this transaction and deletes the row written here.
            versions = conn.execute(sa.select(d.c.id).where(d.c.name == name).with_for_update())
            if versions.first() is None:
                raise DeploymentNotFound(f"deployment {name!r} does not exist")
            values = {"state": state, "updated_at": now, "updated_by": by}
            upsert = insert(s).values(name=name, **values)
            conn.execute(upsert.on_conflict_do_update(index_elements=[s.c.name], set_=values))
        return DeploymentStateRecord(name, state, now, by)

    def deployment_states(self) -> dict[str, DeploymentStateRecord]:
        """The state of every deployment, in one query: recorded, or running when none is.
        A deleted deployment is absent (servers polling this stop serving it)."""
        s = t.deployment_states
        names = sa.select(t.deployments.c.name).distinct().subquery()
        query = sa.select(names.c.name, s.c.state, s.c.updated_at, s.c.updated_by).select_from(
            names.outerjoin(s, s.c.name == names.c.name)
        )
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return {
            r.name: DeploymentStateRecord(
                r.name,
                r.state or "running",
                None if r.updated_at is None else aware(r.updated_at),
                r.updated_by,
            )
            for r in rows
        }
