"""The one internal interface between a feature store and the groups and views it hands out.

A :class:`Storage` holds a project's backends (catalog, offline and online stores), who
writes (``client``), and the plumbing every feature group and view of the project shares:
the write lock, statistics, the online sync, the code of transformations, and what this
process has already repaired. :class:`~fti.featurestore.FeatureStore` builds one; each
:class:`~fti.featurestore.FeatureGroup` and :class:`~fti.featurestore.FeatureView` is given it,
so none of them reaches into another's private state.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import pyarrow as pa

from fti.catalog import Catalog
from fti.config import ProjectLocation
from fti.errors import FtiError, OnlineStoreWarning
from fti.featurestore import commit_records
from fti.featurestore.online_sync import OnlineSync
from fti.featurestore.services import ServingFactory, ViewServing
from fti.offline import DeltaOfflineStore
from fti.online import OnlineStore, open_online_store
from fti.settings import Settings
from fti.statistics import StatisticsConfig, describe
from fti.transform import UDF
from fti.trust import Code, TrustedCode

if TYPE_CHECKING:
    from fti.featurestore.feature_group import FeatureGroup


def open_storage(
    location: ProjectLocation,
    client: str,
    *,
    serving: ServingFactory | None = None,
    settings: Settings | None = None,
) -> Storage:
    """The stores of the project at ``location``, opened: what a project handle holds, and
    what another process writing into the same project (an inference-log writer) opens."""
    catalog = Catalog(location.catalog_url)
    try:
        online = open_online_store(
            location.online_store, location.home, online_namespace(catalog.project_id)
        )
    except BaseException:
        catalog.close()
        raise
    offline = DeltaOfflineStore(location.offline_root)
    return Storage(catalog, offline, online, location.home, client, serving, settings)


def online_namespace(project_id: str) -> str:
    """The online namespace of a project in a shared Redis: from the id stored in its catalog
    (``fti.catalog.identity``), not the catalog URL's text, which two projects can share and
    one project can spell two ways."""
    return "fti_" + project_id[:16]


class Versioned(Protocol):
    """A feature group as far as its write lock goes."""

    @property
    def name(self) -> str: ...
    @property
    def version(self) -> int: ...


class Storage:
    """A project's stores and what its feature groups and views share (see the module)."""

    def __init__(
        self,
        catalog: Catalog,
        offline: DeltaOfflineStore,
        online: OnlineStore,
        home: Path,
        client: str,
        serving: ServingFactory | None = None,
        settings: Settings | None = None,
    ) -> None:
        self.catalog = catalog
        self.offline = offline
        self.online = online
        self.home = home
        self.client = client
        self.settings = settings or Settings()
        self.sync = OnlineSync(offline, online, self.write_lock)
        # set by a server with an allow-list: the only code from the catalog it compiles
        self.trusted_code: TrustedCode | None = None
        self._serving = serving
        self._functions: dict[tuple[Any, ...], UDF] = {}
        # groups this process has repaired since it opened them (see repair)
        self._records_checked: set[int] = set()
        self._caught_up: set[int] = set()

    def close(self) -> None:
        self.online.close()
        self.catalog.close()

    def serving(self) -> ViewServing:
        """The serving layer, for the facades ``fv.deploy`` and ``fv.read_log``."""
        if self._serving is None:
            raise FtiError("this feature store was not opened by fti.connect(): it cannot serve")
        return self._serving()

    # -- writing --------------------------------------------------------------------------

    @contextlib.contextmanager
    def write_lock(self, fg: Versioned) -> Iterator[None]:
        """Serialize writers of one feature group across every process using the catalog,
        on any host (:mod:`fti.catalog.locks`).

        Delta commits are atomic on their own; the lock keeps the online store applying
        commits in commit order, which is what makes equal event times resolve to the
        latest commit online as they do offline, and keeps upserts from conflicting.
        """
        with self.catalog.locks.hold(f"{fg.name}_v{fg.version}"):
            yield

    def offline_schema(self, fg: FeatureGroup) -> pa.Schema | None:
        """The Delta table's schema when the catalog lacks one (a crash after a first commit)."""
        table = self.offline.snapshot(fg.location)
        if table is None:
            return None
        schema = pa.schema(table.schema().to_arrow())  # delta-rs hands back an arro3 schema
        required = {*fg.primary_key, *([fg.event_time] if fg.event_time else [])}
        return pa.schema(
            [pa.field(f.name, f.type, nullable=f.name not in required) for f in schema]
        )

    def add_offline_columns(self, fg: FeatureGroup, fields: list[pa.Field]) -> None:
        table = self.offline.snapshot(fg.location)
        if table is None:
            return  # nothing written yet: the catalog schema alone defines the table
        from deltalake.schema import Field as DeltaField

        table.alter.add_columns([DeltaField.from_arrow(f) for f in fields])

    def delete_group(self, fg: FeatureGroup) -> None:
        """Delete one version: definition, offline table, online rows and statistics."""
        with self.write_lock(fg):
            self.catalog.delete_feature_group(fg.id)
            self.online.drop(fg._online_table)
            self.offline.delete(fg.location)
        self.forget(fg.id)

    def write_file(self, table: pa.Table, uri: str, data_format: str) -> None:
        """Write one file, local path or URI; written under a temporary name, then renamed, so
        a reader never sees half a file."""
        import pyarrow.csv as pcsv
        import pyarrow.fs as pafs
        import pyarrow.parquet as pq

        fs, path = pafs.FileSystem.from_uri(uri if "://" in uri else f"file://{uri}")
        fs.create_dir(path.rsplit("/", 1)[0], recursive=True)
        partial = path + ".partial"
        with fs.open_output_stream(partial) as out:
            if data_format == "parquet":
                pq.write_table(table, out)
            else:
                pcsv.write_csv(table, out)
        fs.move(partial, path)

    @staticmethod
    def describe(
        table: pa.Table, config: StatisticsConfig | None = None, *, transformations: bool = False
    ) -> dict[str, Any]:
        """The statistics ``config`` asks for, of its columns of ``table``; with
        ``transformations`` (a training dataset's) also what model-dependent transformations
        read (:func:`fti.statistics.describe`)."""
        config = config or StatisticsConfig()
        if config.columns is not None:
            table = table.select(config.select(table.column_names))
        return describe(
            table,
            histograms=config.histograms,
            correlations=config.correlations,
            exact_uniqueness=config.exact_uniqueness,
            transformations=transformations,
        )

    # -- transformations --------------------------------------------------------------------

    def register(self, function: UDF) -> dict[str, Any]:
        """Store the function's source (versioned by hash) and return the reference to keep."""
        version = self.catalog.register_function(
            function.name, function.hash, function.source, self.client
        )
        return {**function.reference(), "version": version}

    def load_transformations(self, refs: Sequence[Mapping[str, Any]]) -> list[UDF]:
        """The stored functions, rebuilt from their recorded source (cached per process)."""
        # a server with an allow-list refuses code before compiling it (fti.trust)
        trusted = self.trusted_code
        out = []
        for ref in refs:
            key = (ref["name"], ref["version"], tuple(ref["inputs"]), tuple(ref["outputs"]))
            if key not in self._functions:
                hash_, source = self.catalog.get_function(ref["name"], ref["version"])
                if trusted is not None:
                    trusted.check([Code("transformation", ref["name"], hash_)])
                self._functions[key] = UDF.from_dict({**ref, "hash": hash_, "source": source})
            elif trusted is not None:  # loaded before the list was set
                trusted.check([Code("transformation", ref["name"], self._functions[key].hash)])
            out.append(self._functions[key])
        return out

    # -- online rows ----------------------------------------------------------------------

    def online_latest(self, fg: FeatureGroup, commit: int) -> pa.Table | None:
        """The newest row per key of ``commit`` from the online store, when it holds exactly
        that commit's state and scanning it beats the offline history (rows ≫ keys)."""
        if not fg.online_enabled or commit < 0:
            return None
        table = fg._online_table
        if self.online.applied_commit(table) != commit:
            return None
        rows = self.offline.row_count(fg.location, commit)
        factor = self.settings.online_scan_factor
        if rows is None or rows < factor * self.online.count(table):
            return None
        return self.read_online(fg)

    def read_online(self, fg: FeatureGroup) -> pa.Table:
        return fg._codec().to_table(self.online.scan(fg._online_table))

    # -- what a writer that died left behind ------------------------------------------------

    def needs_repair(self, fg: FeatureGroup) -> bool:
        """Whether this process has yet to check ``fg``'s commit records or online rows."""
        return fg.id not in self._records_checked or (
            fg.online_enabled and fg.id not in self._caught_up
        )

    def forget(self, group_id: int, *, records: bool = True, online: bool = True) -> None:
        """Check the group's commit records (and/or online rows) again on its next open."""
        if records:
            self._records_checked.discard(group_id)
        if online:
            self._caught_up.discard(group_id)

    def repair(self, fg: FeatureGroup) -> None:
        """What a writer that died mid-insert left behind, repaired when a process first opens
        the group: the catalog records of its commit, then its online rows. Both start from
        the offline table's latest commit, read once; when nothing is missing, that is all."""
        latest = None
        try:
            latest = self.offline.latest_version(fg.location)
            if fg.id not in self._records_checked:
                commit_records.repair_on_open(self, fg, latest)
                self._records_checked.add(fg.id)
        except Exception as exc:  # any backend failure: the data stays readable; next open
            commit_records.warn_unrecovered(fg, exc)
        if fg.online_enabled and fg.id not in self._caught_up:
            self._catch_up_online(fg, latest)

    def online_sync(self, fg: FeatureGroup, *, full: bool) -> int | None:
        """``fg.online_sync``: catch up (or rebuild) now; the group counts as caught up."""
        written = self.sync.catch_up(fg, full=full)
        self._caught_up.add(fg.id)
        return written

    def _catch_up_online(self, fg: FeatureGroup, latest: int | None) -> None:
        """Re-apply offline commits the online store missed (a failed online write, a crash
        between the two writes, an emptied store) when a process first opens the group. A
        store that is down does not stop the offline data from being read: it warns."""
        try:
            self.sync.catch_up(fg, latest=latest)
        except Exception as exc:  # any backend failure; the next insert or open retries
            warnings.warn(
                f"{fg.name} v{fg.version}: the online store ({self.online.address}) could "
                f"not catch up ({type(exc).__name__}: {exc}); online reads may be stale until "
                "the next insert or fg.online_sync()",
                OnlineStoreWarning,
                stacklevel=4,
            )
            return
        self._caught_up.add(fg.id)
