"""The feature store: creates, finds and deletes feature groups, and owns their storage."""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from fti.catalog import Catalog, FeatureViewRecord
from fti.errors import AlreadyExistsError, FtiError, OnlineStoreWarning, SchemaError
from fti.featurestore import commit_records, model_dependent
from fti.featurestore.feature_group import FeatureGroup
from fti.featurestore.feature_view import FeatureView
from fti.featurestore.model_dependent import check_model_dependent
from fti.featurestore.on_demand import check_on_demand, with_outputs
from fti.featurestore.online_sync import OnlineSync
from fti.featurestore.query import Query
from fti.featurestore.schema import features_to_schema, serialize_schema
from fti.featurestore.services import ServingFactory, ViewServing
from fti.offline import DeltaOfflineStore
from fti.online import OnlineStore
from fti.statistics import StatisticsConfig, describe
from fti.transform import UDF
from fti.trust import Code, TrustedCode
from fti.types import Feature, check_name

if TYPE_CHECKING:
    from fti.validation import ExpectationSuite


# Reading the latest rows from the online store decodes each key in Python (~3 µs a row);
# DuckDB picks the newest of the offline history at ~0.06-0.1 µs a row. Past this many history
# rows per key the online store is the cheaper source (bench/latest.py measures the crossover).
ONLINE_SCAN_FACTOR = 50


class FeatureStore:
    """Feature groups of one project. Get it with ``fti.connect().get_feature_store()``."""

    def __init__(
        self,
        catalog: Catalog,
        offline: DeltaOfflineStore,
        online: OnlineStore,
        home: Path,
        client: str,
        serving: ServingFactory | None = None,
    ) -> None:
        self._catalog = catalog
        self._offline = offline
        self._online = online
        self._home = home
        self._client = client
        self._caught_up: set[int] = set()
        self._records_checked: set[int] = set()
        self._sync = OnlineSync(offline, online, self._write_lock)
        self._functions: dict[tuple[Any, ...], UDF] = {}
        self._serving_factory = serving
        # set by a server with an allow-list: the only code from the catalog it compiles
        self.trusted_code: TrustedCode | None = None

    def serving(self) -> ViewServing:
        """The serving layer, for the facades ``fv.deploy`` and ``fv.read_log``."""
        if self._serving_factory is None:
            raise FtiError("this feature store was not opened by fti.connect(): it cannot serve")
        return self._serving_factory()

    # -- feature groups ---------------------------------------------------------------------

    def create_feature_group(
        self,
        name: str,
        version: int = 1,
        *,
        primary_key: Sequence[str],
        event_time: str | None = None,
        online_enabled: bool = False,
        description: str = "",
        partition_key: Sequence[str] | None = None,
        features: Sequence[Feature] | None = None,
        expectation_suite: ExpectationSuite | None = None,
        statistics_enabled: bool = True,
        transformation_functions: Sequence[UDF] = (),
    ) -> FeatureGroup:
        """Create a new feature group version; :class:`AlreadyExistsError` if it exists.

        ``features`` declares the schema up front; otherwise the first insert defines it.
        ``transformation_functions`` are on-demand transformations (``@fti.udf``): every insert
        computes their outputs from the inserted rows and stores them as features; online
        feature vectors compute them from the request instead.
        """
        check_name(name, "feature group")
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise SchemaError(f"version must be a positive integer, got {version!r}")
        if isinstance(primary_key, str):
            primary_key = [primary_key]
        partition_key = [partition_key] if isinstance(partition_key, str) else partition_key or []
        if not primary_key:
            raise SchemaError("a feature group needs a primary key (one or more columns)")
        for column in [*primary_key, *partition_key, *([event_time] if event_time else [])]:
            check_name(column, "column")
        odts = check_on_demand(transformation_functions, [*primary_key, event_time])
        schema_fields: dict[str, Any] = {"features": None, "arrow_schema": None}
        if features is not None:
            features = with_outputs(features, odts)
            schema_fields = self._declared_schema(features, primary_key, event_time, partition_key)
            names = [f.name for f in features]
            for f in odts:
                f.check_inputs([*names, *f.drop], f"the features of {name!r} (or drop=)")
        refs = [self._register(f) for f in odts]
        return FeatureGroup(
            self,
            self._catalog.create_feature_group(
                name=name,
                version=version,
                description=description,
                primary_key=list(primary_key),
                event_time=event_time,
                partition_key=list(partition_key),
                online_enabled=online_enabled,
                statistics_enabled=statistics_enabled,
                expectation_suite=None
                if expectation_suite is None
                else expectation_suite.to_dict(),
                location=self._offline.table_location(name, version),
                created_by=self._client,
                transformation_functions=refs,
                **schema_fields,
            ),
        )

    def _register(self, function: UDF) -> dict[str, Any]:
        """Store the function's source (versioned by hash) and return the reference to keep."""
        version = self._catalog.register_function(
            function.name, function.hash, function.source, self._client
        )
        return {**function.reference(), "version": version}

    def _load_transformations(self, refs: Sequence[Mapping[str, Any]]) -> list[UDF]:
        """The stored functions, rebuilt from their recorded source (cached per process)."""
        # a server with an allow-list refuses code before compiling it (fti.serving.trust)
        trusted = self.trusted_code
        out = []
        for ref in refs:
            key = (ref["name"], ref["version"], tuple(ref["inputs"]), tuple(ref["outputs"]))
            if key not in self._functions:
                hash_, source = self._catalog.get_function(ref["name"], ref["version"])
                if trusted is not None:
                    trusted.check([Code("transformation", ref["name"], hash_)])
                self._functions[key] = UDF.from_dict({**ref, "hash": hash_, "source": source})
            elif trusted is not None:  # loaded before the list was set
                trusted.check([Code("transformation", ref["name"], self._functions[key].hash)])
            out.append(self._functions[key])
        return out

    @staticmethod
    def _declared_schema(
        features: Sequence[Feature],
        primary_key: Sequence[str],
        event_time: str | None,
        partition_key: Sequence[str],
    ) -> dict[str, Any]:
        names = [f.name for f in features]
        missing = [c for c in [*primary_key, *partition_key, event_time] if c and c not in names]
        if missing:
            raise SchemaError(f"declared features lack the key column(s) {missing}")
        if len(set(names)) != len(names):
            raise SchemaError(f"declared features repeat a name: {names}")
        if event_time is not None:
            typ = next(f.type for f in features if f.name == event_time)
            if not (pa.types.is_timestamp(typ) and typ.tz is not None):
                raise SchemaError(f"event time {event_time!r} must be a UTC timestamp, got {typ}")
        schema = features_to_schema(features, [*primary_key, *([event_time] if event_time else [])])
        return {
            "features": [f.to_dict() for f in features],
            "arrow_schema": serialize_schema(schema),
        }

    def get_or_create_feature_group(
        self, name: str, version: int = 1, **kwargs: Any
    ) -> FeatureGroup:
        """The existing version if there is one (definition arguments are then ignored).

        Safe under concurrency: when two processes create the same version at once, one
        creates it and the other gets the same feature group back.
        """
        try:
            return self.get_feature_group(name, version)
        except LookupError:
            pass
        try:
            return self.create_feature_group(name, version, **kwargs)
        except AlreadyExistsError:
            return self.get_feature_group(name, version)

    def get_feature_group(self, name: str, version: int | None = None) -> FeatureGroup:
        """A feature group by name; the latest version when ``version`` is omitted."""
        fg = FeatureGroup(self, self._catalog.get_feature_group(name, version))
        if fg.id not in self._records_checked or (
            fg.online_enabled and fg.id not in self._caught_up
        ):
            self._repair(fg)
        return fg

    def get_feature_groups(self, name: str | None = None) -> list[FeatureGroup]:
        """Every feature group (every version of ``name`` when given), by name and version."""
        return [FeatureGroup(self, r) for r in self._catalog.list_feature_groups(name)]

    def feature_usage(
        self, group: str, feature: str | None = None, version: int | None = None
    ) -> list[dict[str, Any]]:
        """Where a feature group, or one of its features, is used: feature views, their
        training datasets and the model versions trained on them."""
        from fti.featurestore.lineage import usage

        record = self._catalog.get_feature_group(group, version)
        if feature is not None and feature not in [f["name"] for f in record.features or []]:
            raise SchemaError(f"{group} v{record.version} has no feature {feature!r}")
        return usage(self._catalog, record, feature)

    def delete_feature_group(self, name: str, version: int) -> None:
        """Delete one version: definition, offline table, online rows and statistics."""
        fg = FeatureGroup(self, self._catalog.get_feature_group(name, version))
        with self._write_lock(fg):
            self._catalog.delete_feature_group(fg.id)
            self._online.drop(fg._online_table)
            self._offline.delete(fg.location)
        self._caught_up.discard(fg.id)
        self._records_checked.discard(fg.id)

    # -- feature views ----------------------------------------------------------------------

    def create_feature_view(
        self,
        name: str,
        version: int = 1,
        *,
        query: Query,
        labels: Sequence[str] = (),
        transformation_functions: Sequence[Any] = (),
        inference_helper_columns: Sequence[str] = (),
        training_helper_columns: Sequence[str] = (),
        description: str = "",
    ) -> FeatureView:
        """Create a feature view version; its feature order is fixed from the query now.

        ``transformation_functions`` are model-dependent transformations (``fti.builtins.*``
        or ``@fti.udf`` functions, applied in order): fitted on the train split of each
        training dataset and applied with that state to training, batch and serving data.
        """
        check_name(name, "feature view")
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise SchemaError(f"version must be a positive integer, got {version!r}")
        if not isinstance(query, Query):
            raise SchemaError("query must be a Query, e.g. fg.select_all().join(...)")
        nodes = query.nodes()
        outputs = [out for node in nodes for _, out in node.outputs]
        roles: dict[str, str] = {}
        for what, names in (
            ("label", labels),
            ("inference_helper", inference_helper_columns),
            ("training_helper", training_helper_columns),
        ):
            unknown = [n for n in names if n not in outputs]
            if unknown:
                raise SchemaError(f"{what} column(s) {unknown} are not in the query: {outputs}")
            for n in names:
                if n in roles:
                    raise SchemaError(f"column {n!r} is both {roles[n]} and {what}")
                roles[n] = what
        keys = {c for n in nodes for c in n.group.primary_key} | {
            c for n in nodes for c in n.left_on
        }
        root = nodes[0]
        features = []
        for node in nodes:
            schema = node.group.schema
            assert schema is not None
            for col, out in node.outputs:
                role = roles.get(out) or (
                    "event_time"
                    if node is root and col == root.group.event_time
                    else "primary_key"
                    if col in keys and (node is root or out == col)
                    else "feature"
                )
                features.append(
                    {
                        "name": out,
                        "type": str(schema.field(col).type),
                        "group": node.group.name,
                        "group_version": node.group.version,
                        "column": col,
                        "role": role,
                    }
                )
        transforms = check_model_dependent(transformation_functions, features)
        refs = [model_dependent.reference(t, self._register) for t in transforms]
        groups: dict[int, str] = {}
        for node in nodes:
            groups.setdefault(node.group.id, node.kind)
        record = self._catalog.create_feature_view(
            groups,
            name=name,
            version=version,
            description=description,
            query=query.to_dict(),
            features=features,
            labels=list(labels),
            inference_helper_columns=list(inference_helper_columns),
            training_helper_columns=list(training_helper_columns),
            transformation_functions=refs,
            created_by=self._client,
        )
        return FeatureView(self, record, query)

    def get_or_create_feature_view(self, name: str, version: int = 1, **kwargs: Any) -> FeatureView:
        """The existing version if there is one (definition arguments are then ignored)."""
        try:
            return self.get_feature_view(name, version)
        except LookupError:
            pass
        try:
            return self.create_feature_view(name, version, **kwargs)
        except AlreadyExistsError:
            return self.get_feature_view(name, version)

    def get_feature_view(self, name: str, version: int | None = None) -> FeatureView:
        """A feature view by name; the latest version when ``version`` is omitted."""
        return self._view(self._catalog.get_feature_view(name, version))

    def get_feature_views(self, name: str | None = None) -> list[FeatureView]:
        return [self._view(r) for r in self._catalog.list_feature_views(name)]

    def delete_feature_view(self, name: str, version: int, force: bool = False) -> None:
        """Delete a view version; refused while training datasets depend on it unless forced."""
        record = self._catalog.get_feature_view(name, version)
        self._catalog.delete_feature_view(record.id, force=force)

    def _view(self, record: FeatureViewRecord) -> FeatureView:
        query = Query.from_dict(record.query, self.get_feature_group)
        return FeatureView(self, record, query)

    # -- storage plumbing used by FeatureGroup ------------------------------------------------

    @contextlib.contextmanager
    def _write_lock(self, fg: FeatureGroup) -> Iterator[None]:
        """Serialize writers of one feature group across every process using the catalog,
        on any host (:mod:`fti.catalog.locks`).

        Delta commits are atomic on their own; the lock keeps the online store applying
        commits in commit order, which is what makes equal event times resolve to the
        latest commit online as they do offline, and keeps upserts from conflicting.
        """
        with self._catalog.locks.hold(f"{fg.name}_v{fg.version}"):
            yield

    def _offline_schema(self, fg: FeatureGroup) -> pa.Schema | None:
        """The Delta table's schema when the catalog lacks one (a crash after a first commit)."""
        table = self._offline.snapshot(fg.location)
        if table is None:
            return None
        schema = pa.schema(table.schema().to_arrow())  # delta-rs hands back an arro3 schema
        required = {*fg.primary_key, *([fg.event_time] if fg.event_time else [])}
        return pa.schema(
            [pa.field(f.name, f.type, nullable=f.name not in required) for f in schema]
        )

    def _offline_add_columns(self, fg: FeatureGroup, fields: list[pa.Field]) -> None:
        table = self._offline.snapshot(fg.location)
        if table is None:
            return  # nothing written yet: the catalog schema alone defines the table
        from deltalake.schema import Field as DeltaField

        table.alter.add_columns([DeltaField.from_arrow(f) for f in fields])

    @staticmethod
    def _training_data_location(fv: FeatureView, version: int) -> str:
        """Relative to the offline root, like the tables (a copied home keeps its own)."""
        return f"_training_datasets/{fv.name}_v{fv.version}/{version}"

    def _write_file(self, table: pa.Table, uri: str, data_format: str) -> None:
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

    def _describe(self, table: pa.Table, config: StatisticsConfig | None = None) -> dict[str, Any]:
        if config is None:
            return describe(table)
        return describe(table, histograms=config.histograms, correlations=config.correlations)

    def _online_latest(self, fg: FeatureGroup, commit: int) -> pa.Table | None:
        """The newest row per key of ``commit`` from the online store, when it holds exactly
        that commit's state and scanning it beats the offline history (rows ≫ keys)."""
        if not fg.online_enabled or commit < 0:
            return None
        if self._online.applied_commit(fg._online_table) != commit:
            return None
        rows = self._offline.row_count(fg.location, commit)
        if rows is None or rows < ONLINE_SCAN_FACTOR * self._online.count(fg._online_table):
            return None
        return self._read_online(fg)

    def _read_online(self, fg: FeatureGroup) -> pa.Table:
        codec = fg._codec()
        return codec.to_table(self._online.scan(fg._online_table))

    def _repair(self, fg: FeatureGroup) -> None:
        """What a writer that died mid-insert left behind, repaired when a process first opens
        the group: the catalog records of its commit, then its online rows. Both start from
        the offline table's latest commit, read once; when nothing is missing, that is all."""
        latest = None
        try:
            latest = self._offline.latest_version(fg.location)
            if fg.id not in self._records_checked:
                commit_records.repair_on_open(fg, latest)
                self._records_checked.add(fg.id)
        except Exception as exc:  # any backend failure: the data stays readable; next open
            commit_records.warn_unrecovered(fg, exc)
        if fg.online_enabled and fg.id not in self._caught_up:
            self._catch_up_online(fg, latest)

    def _catch_up_online(self, fg: FeatureGroup, latest: int | None) -> None:
        """Re-apply offline commits the online store missed (a failed online write, a crash
        between the two writes, an emptied store) when a process first opens the group. A
        store that is down does not stop the offline data from being read: it warns."""
        try:
            self._sync.catch_up(fg, latest=latest)
        except Exception as exc:  # any backend failure; the next insert or open retries
            warnings.warn(
                f"{fg.name} v{fg.version}: the online store ({self._online.address}) could "
                f"not catch up ({type(exc).__name__}: {exc}); online reads may be stale until "
                "the next insert or fg.online_sync()",
                OnlineStoreWarning,
                stacklevel=3,
            )
            return
        self._caught_up.add(fg.id)
