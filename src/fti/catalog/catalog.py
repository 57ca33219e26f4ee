"""The catalog: every definition and its lineage, in SQL.

One implementation serves SQLite and PostgreSQL (SQLAlchemy Core); the conformance tests run
against both. Definitions are immutable except through :meth:`Catalog.update_feature_group`,
which is optimistic: it names the revision it read and fails if another writer got there first.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from fti.catalog import tables as t
from fti.catalog.deployments import DeploymentCatalog
from fti.catalog.engine import WRITE_OPTION, aware, create_engine, migrate
from fti.catalog.identity import project_id
from fti.catalog.locks import CatalogLocks
from fti.catalog.models import ModelCatalog
from fti.catalog.transforms import TransformationCatalog
from fti.catalog.views import FeatureViewCatalog
from fti.errors import (
    AlreadyExistsError,
    ConcurrentModificationError,
    FeatureGroupNotFound,
    FtiError,
)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class FeatureGroupRecord:
    id: int
    name: str
    version: int
    description: str
    primary_key: list[str]
    event_time: str | None
    partition_key: list[str]
    online_enabled: bool
    statistics_enabled: bool
    statistics_config: dict[str, Any] | None
    features: list[dict[str, Any]] | None
    arrow_schema: str | None
    expectation_suite: dict[str, Any] | None
    transformation_functions: list[dict[str, Any]]
    location: str
    last_commit: int | None
    created_at: dt.datetime
    created_by: str
    revision: int

    @classmethod
    def _from_row(cls, row: sa.Row[Any]) -> FeatureGroupRecord:
        m = row._mapping
        return cls(
            id=m["id"],
            name=m["name"],
            version=m["version"],
            description=m["description"],
            primary_key=list(m["primary_key"]),
            event_time=m["event_time"],
            partition_key=list(m["partition_key"]),
            online_enabled=bool(m["online_enabled"]),
            statistics_enabled=bool(m["statistics_enabled"]),
            statistics_config=m["statistics_config"],
            features=m["features"],
            arrow_schema=m["arrow_schema"],
            expectation_suite=m["expectation_suite"],
            transformation_functions=list(m["transformation_functions"] or []),
            location=m["location"],
            last_commit=m["last_commit"],
            created_at=aware(m["created_at"]),
            created_by=m["created_by"],
            revision=m["revision"],
        )


@dataclass(frozen=True)
class StoredReport:
    id: int
    commit_id: int | None
    created_at: dt.datetime
    success: bool
    ingestion: str
    content: dict[str, Any]


class Catalog(FeatureViewCatalog, TransformationCatalog, ModelCatalog, DeploymentCatalog):
    """Definitions, statistics, validation reports and lineage of one project."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = create_engine(url)
        self._writer = self.engine.execution_options(**{WRITE_OPTION: True})
        migrate(self.engine)
        # The project's identity (fti.catalog.identity): names what it keeps in shared stores.
        self.project_id = project_id(self.engine, self._writer)
        # Locks every process using this catalog shares, on any host (fti.catalog.locks).
        self.locks = CatalogLocks(self.engine)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def close(self) -> None:
        self.engine.dispose()

    # -- feature groups ---------------------------------------------------------------------

    def create_feature_group(self, **fields: Any) -> FeatureGroupRecord:
        """Insert a new definition; :class:`AlreadyExistsError` if (name, version) is taken."""
        values = {"created_at": utcnow(), "revision": 1, **fields}
        try:
            with self._writer.begin() as conn:
                new_id = conn.execute(
                    sa.insert(t.feature_groups).values(**values)
                ).inserted_primary_key
        except sa.exc.IntegrityError as exc:
            raise AlreadyExistsError(
                f"feature group {fields['name']!r} version {fields['version']} already exists"
            ) from exc
        assert new_id is not None
        return self.get_feature_group_by_id(int(new_id[0]))

    def get_feature_group_by_id(self, fg_id: int) -> FeatureGroupRecord:
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(t.feature_groups).where(t.feature_groups.c.id == fg_id)
            ).first()
        if row is None:
            raise FeatureGroupNotFound(f"feature group with id {fg_id} does not exist")
        return FeatureGroupRecord._from_row(row)

    def get_feature_group(self, name: str, version: int | None = None) -> FeatureGroupRecord:
        """The given version, or the latest one when ``version`` is None."""
        fg = t.feature_groups
        query = sa.select(fg).where(fg.c.name == name)
        query = (
            query.where(fg.c.version == version)
            if version is not None
            else query.order_by(fg.c.version.desc()).limit(1)
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
            if row is None:
                versions = conn.execute(
                    sa.select(fg.c.version).where(fg.c.name == name).order_by(fg.c.version)
                ).scalars()
                known = list(versions)
        if row is None:
            if known:
                raise FeatureGroupNotFound(
                    f"feature group {name!r} has no version {version}; versions: {known}"
                )
            raise FeatureGroupNotFound(f"feature group {name!r} does not exist")
        return FeatureGroupRecord._from_row(row)

    def list_feature_groups(self, name: str | None = None) -> list[FeatureGroupRecord]:
        fg = t.feature_groups
        query = sa.select(fg).order_by(fg.c.name, fg.c.version)
        if name is not None:
            query = query.where(fg.c.name == name)
        with self.engine.connect() as conn:
            return [FeatureGroupRecord._from_row(r) for r in conn.execute(query)]

    def update_feature_group(
        self, fg_id: int, revision: int, changes: Mapping[str, Any]
    ) -> FeatureGroupRecord:
        """Apply ``changes`` if the stored revision is still ``revision``; bump it."""
        fg = t.feature_groups
        with self._writer.begin() as conn:
            result = conn.execute(
                sa.update(fg)
                .where(fg.c.id == fg_id, fg.c.revision == revision)
                .values(**changes, revision=revision + 1)
            )
        if result.rowcount != 1:
            raise ConcurrentModificationError(
                f"feature group id {fg_id} was changed by another writer (or deleted) since "
                f"revision {revision} was read; reload it and retry"
            )
        return self.get_feature_group_by_id(fg_id)

    def delete_feature_group(self, fg_id: int) -> None:
        """Delete a definition; refused while a feature view reads the group."""
        users = self.feature_views_of_group(fg_id)
        if users:
            names = ", ".join(f"{v.name} v{v.version}" for v in users)
            raise FtiError(f"feature view(s) {names} read this feature group: delete them first")
        with self._writer.begin() as conn:
            # Explicit deletes: SQLite enforces ON DELETE CASCADE only with foreign_keys=ON,
            # which a connection opened by another tool may not have.
            for table in (t.statistics, t.validation_reports):
                conn.execute(sa.delete(table).where(table.c.feature_group_id == fg_id))
            conn.execute(sa.delete(t.feature_groups).where(t.feature_groups.c.id == fg_id))

    # -- commits: statistics and validation reports -----------------------------------------

    def record_commit(
        self,
        fg_id: int,
        commit_id: int,
        statistics: dict[str, Any] | None,
        report: dict[str, Any] | None,
        report_success: bool = True,
        ingestion: str = "INGESTED",
    ) -> None:
        """Store what an insert produced besides its data, in one transaction.

        A commit's records are stored once: a writer that did not take the group's lock (an
        appender of unique keys) may record a commit that an opener recovered meanwhile
        (``ingestion="RECOVERED"``), and the first to record it wins. Without statistics and
        report, this records only that the catalog has seen the commit (``last_commit``).
        """
        now = utcnow()
        st, vr = t.statistics, t.validation_reports
        with self._writer.begin() as conn:
            # concurrent appenders may record out of order: keep the newest
            newest = sa.func.coalesce(t.feature_groups.c.last_commit, -1) < commit_id
            conn.execute(
                sa.update(t.feature_groups)
                .where(t.feature_groups.c.id == fg_id, newest)
                .values(last_commit=commit_id)
            )
            if statistics is not None and not _exists(conn, st, fg_id, commit_id):
                conn.execute(
                    sa.insert(t.statistics).values(
                        feature_group_id=fg_id,
                        commit_id=commit_id,
                        computed_at=now,
                        content=statistics,
                    )
                )
            if report is not None and not _exists(conn, vr, fg_id, commit_id):
                conn.execute(
                    sa.insert(t.validation_reports).values(
                        feature_group_id=fg_id,
                        commit_id=commit_id,
                        created_at=now,
                        success=report_success,
                        ingestion=ingestion,
                        content=report,
                    )
                )

    def record_rejected_report(self, fg_id: int, report: dict[str, Any]) -> None:
        with self._writer.begin() as conn:
            conn.execute(
                sa.insert(t.validation_reports).values(
                    feature_group_id=fg_id,
                    commit_id=None,
                    created_at=utcnow(),
                    success=False,
                    ingestion="REJECTED",
                    content=report,
                )
            )

    def get_statistics(self, fg_id: int, commit_id: int | None = None) -> dict[str, Any] | None:
        """Statistics of one commit (the newest commit that has them when omitted)."""
        st = t.statistics
        query = sa.select(st.c.commit_id, st.c.computed_at, st.c.content).where(
            st.c.feature_group_id == fg_id
        )
        if commit_id is None:
            query = query.order_by(st.c.commit_id.desc()).limit(1)
        else:
            query = query.where(st.c.commit_id == commit_id)
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        if row is None:
            return None
        return {
            "commit_id": row.commit_id,
            "computed_at": aware(row.computed_at).isoformat(),
            **row.content,
        }

    def list_reports(self, fg_id: int) -> list[StoredReport]:
        vr = t.validation_reports
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(vr).where(vr.c.feature_group_id == fg_id).order_by(vr.c.id)
            ).all()
        return [
            StoredReport(
                id=r.id,
                commit_id=r.commit_id,
                created_at=aware(r.created_at),
                success=bool(r.success),
                ingestion=r.ingestion,
                content=r.content,
            )
            for r in rows
        ]


def _exists(conn: sa.Connection, table: sa.Table, fg_id: int, commit_id: int) -> bool:
    """Whether a record of the commit is stored already (statistics or validation report)."""
    query = sa.select(table.c.id).where(
        table.c.feature_group_id == fg_id, table.c.commit_id == commit_id
    )
    return conn.execute(query.limit(1)).first() is not None
