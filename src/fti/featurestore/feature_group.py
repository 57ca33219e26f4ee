"""Feature groups: a versioned table of features, offline (Delta) and optionally online."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from fti import _frames, _progress
from fti._time import utc
from fti.catalog import FeatureGroupRecord
from fti.errors import (
    BackendUnavailable,
    CommitNotFound,
    CommitNotRecorded,
    FtiError,
    InsertIncomplete,
    InvalidDataError,
    OfflineTableMissing,
    OnlineWriteFailed,
    SchemaError,
)
from fti.featurestore import commit_records, ingest
from fti.featurestore.filters import FeatureRef, Filter
from fti.featurestore.group_quality import GroupQuality
from fti.featurestore.hopsworks_options import insert_options
from fti.featurestore.on_demand import apply_on_demand
from fti.featurestore.query import Query
from fti.featurestore.schema import (
    conform,
    deserialize_schema,
    schema_to_features,
    serialize_schema,
)
from fti.offline import CommitInfo, CommitResult
from fti.statistics import StatisticsConfig
from fti.types import Feature, check_distinct

if TYPE_CHECKING:
    from fti.featurestore.storage import Storage
    from fti.transform import UDF
    from fti.validation import ValidationReport


@dataclass(frozen=True)
class InsertResult:
    """What one ``fg.insert`` committed."""

    commit_id: int
    rows_inserted: int
    rows_updated: int
    validation_report: ValidationReport | None
    online_rows: int
    # columns the data lacked and what filled them (None: null), when the insert allowed it
    filled_columns: dict[str, Any] = dataclasses.field(default_factory=dict)

    def __iter__(self) -> Iterator[Any]:
        """``job, report = fg.insert(df)`` as with Hopsworks: no job (fti inserts in the
        call), and the validation report."""
        return iter((None, self.validation_report))


class FeatureGroup(GroupQuality):
    """A versioned table of features keyed by primary key (and event time).

    Obtain one from :meth:`FeatureStore.get_or_create_feature_group`; every insert is one
    atomic commit of the offline Delta table, readable later with ``read(as_of=commit_id)``.
    """

    def __init__(
        self, storage: Storage, record: FeatureGroupRecord, *, keys_unique: bool = False
    ) -> None:
        self._storage = storage
        self._record = record
        self._codec_cache: tuple[int, Any] | None = None
        self._readers: dict[tuple[str, ...] | None, Any] = {}
        self._readers_revision = record.revision
        self._keys_unique = keys_unique  # see append_only
        self._statistics_config: StatisticsConfig | None = None  # set, not yet updated

    # -- definition -------------------------------------------------------------------------

    id = property(lambda self: self._record.id)
    name = property(lambda self: self._record.name)
    version = property(lambda self: self._record.version)
    description = property(lambda self: self._record.description)
    primary_key = property(lambda self: list(self._record.primary_key))
    event_time = property(lambda self: self._record.event_time)
    partition_key = property(lambda self: list(self._record.partition_key))
    online_enabled = property(lambda self: self._record.online_enabled)
    created_at = property(lambda self: self._record.created_at)
    created_by = property(lambda self: self._record.created_by)

    @property
    def location(self) -> str:
        """The offline table's URI, under this project's offline root."""
        return str(self._storage.offline.uri(self._record.location))

    @property
    def schema(self) -> pa.Schema | None:
        """The Arrow schema, or None before the first insert of an undeclared schema."""
        text = self._record.arrow_schema
        return None if text is None else deserialize_schema(text)

    @property
    def features(self) -> list[Feature]:
        return [
            Feature(f["name"], f["type"], f["description"]) for f in self._record.features or []
        ]

    def __repr__(self) -> str:
        return f"FeatureGroup(name={self.name!r}, version={self.version})"

    @property
    def transformation_functions(self) -> list[UDF]:
        """The on-demand transformations, as recorded at creation (rebuilt from their source)."""
        return self._storage.load_transformations(self._record.transformation_functions)

    def _refresh(self) -> FeatureGroupRecord:
        self._record = self._storage.catalog.get_feature_group_by_id(self.id)
        return self._record

    @property
    def _online_table(self) -> str:
        return f"{self.name}_v{self.version}"

    def _codec(self) -> Any:
        from fti.online import RowCodec

        if self._codec_cache is None or self._codec_cache[0] != self._record.revision:
            schema = self.schema or self._storage.offline_schema(self)
            if schema is None:
                raise FtiError(f"{self!r} has no schema yet: insert data first")
            self._codec_cache = (
                self._record.revision,
                RowCodec(schema, self.primary_key, self.event_time),
            )
        return self._codec_cache[1]

    # -- writing ----------------------------------------------------------------------------

    def insert(
        self,
        data: Any,
        *,
        defaults: Mapping[str, Any] | None = None,
        allow_missing_columns: bool = False,
        progress: bool | None = None,
        overwrite: bool = False,
        storage: str | None = None,
        write_options: Mapping[str, Any] | None = None,
        validation_options: Mapping[str, Any] | None = None,
        transform: bool = True,
        wait: bool = False,
        **hopsworks: Any,
    ) -> InsertResult | None:
        """Upsert rows (pandas, Polars or Arrow) as one atomic commit; None if ``data`` is empty.

        Rows with the primary key and event time of a stored row replace it. Bad input, a schema
        mismatch or a failed strict expectation raise before anything is written. A feature
        column the data lacks is an error unless ``defaults`` gives its value or
        ``allow_missing_columns`` lets it be null; the result's ``filled_columns`` says which.

        Hopsworks' options are taken as it spells them: ``wait``, ``write_options`` (its
        waits are what an fti insert does anyway; the rest is ignored with a warning),
        ``validation_options={"run_validation": False}`` (skips the suite),
        ``transform=False`` (the rows already hold the on-demand features); ``overwrite``
        and ``storage`` are refused, having no meaning here (:mod:`.hopsworks_options`).
        The result unpacks as Hopsworks' ``(job, report)``.
        """
        run_validation = insert_options(
            wait, overwrite, storage, write_options, validation_options, **hopsworks
        )
        table = ingest.to_arrow(data)
        if table.num_rows == 0:
            return None
        table = ingest.normalize(table, self.event_time)
        input_types = None
        if self._record.transformation_functions and transform:
            input_types = self._input_types(table)
            table = apply_on_demand(table, self.transformation_functions)
        show = _progress.wanted(progress, table.num_rows)
        total = 4 + self.online_enabled
        # The lock orders commits for the online store. Appends of unique keys to an offline
        # group need no order once the schema is stored: concurrent writers (the inference
        # logs of fti serve's workers) then do not wait for each other.
        unordered = (
            self._keys_unique and not self.online_enabled and self._record.arrow_schema is not None
        )
        with (
            contextlib.nullcontext() if unordered else self._storage.write_lock(self),
            _progress.steps(f"{self.name} v{self.version}", total, show) as steps,
        ):
            steps.step(f"checking {table.num_rows:,} rows")
            record = self._refresh()
            table, schema, filled = self._conformed(record, table, defaults, allow_missing_columns)
            report = self._validate(table) if run_validation else None
            steps.step("committing offline")
            result, stats = self._write_offline(record, table, steps)
            steps.step("recording commit")
            online_rows = self._finish_commit(
                record, schema, input_types, table, result.version, stats, report, unordered, steps
            )
        return InsertResult(
            result.version, result.rows_inserted, result.rows_updated, report, online_rows, filled
        )

    def _conformed(
        self,
        record: FeatureGroupRecord,
        table: pa.Table,
        defaults: Mapping[str, Any] | None,
        allow_missing_columns: bool,
    ) -> tuple[pa.Table, pa.Schema, dict[str, Any]]:
        """The rows in the group's schema (the first insert of an undeclared schema infers
        it), their keys checked: the table, the schema and the columns filled in."""
        if record.last_commit is not None and not self._storage.offline.exists(self.location):
            raise self._missing_table()
        stored_schema = self.schema or self._storage.offline_schema(self)
        schema = stored_schema or self._infer_schema(table)
        table, filled = conform(table, schema, defaults, allow_missing_columns)
        ingest.check_keys(table, self.primary_key, self.event_time)
        if self.online_enabled:
            ingest.check_online_keys(table, self.primary_key, self._storage.online)
        return table, schema, filled

    def _write_offline(
        self, record: FeatureGroupRecord, table: pa.Table, steps: Any
    ) -> tuple[CommitResult, Future[dict[str, Any]] | None]:
        """One Delta commit of ``table``, and the statistics job (run alongside: both work
        outside the GIL; its failure, after the commit, is :meth:`_finish_commit`'s)."""
        config = self.statistics_config
        with ThreadPoolExecutor(1) as pool:
            describe = self._storage.describe
            stats = pool.submit(describe, table, config) if config.enabled else None
            result = self._storage.offline.write(
                self.location,
                table,
                upsert_keys=[*self.primary_key, *([self.event_time] if self.event_time else [])],
                event_time=self.event_time,
                partition_by=self.partition_key,
                metadata={"fti.client": self._storage.client},
                append=self._keys_unique,
            )
            steps.step("computing statistics")
            if stats is not None:
                wait([stats])
        return result, stats

    def append_only(self) -> FeatureGroup:
        """A handle on this group for a writer whose keys never repeat across inserts (uuid
        request ids, an event stream with unique ids): its inserts append without a MERGE, and
        once the group's schema is stored, concurrent such writers of an offline group do not
        wait for each other. Each insert is still checked (null and duplicate keys). A row
        whose key an earlier commit holds would be kept twice: that is the caller's promise."""
        return FeatureGroup(self._storage, self._record, keys_unique=True)

    def _finish_commit(
        self,
        record: FeatureGroupRecord,
        schema: pa.Schema,
        input_types: list[dict[str, Any]] | None,
        table: pa.Table,
        commit: int,
        stats: Future[dict[str, Any]] | None,
        report: ValidationReport | None,
        unordered: bool,
        steps: Any,
    ) -> int:
        """Everything an insert does once its rows are committed offline; returns the keys
        written online. The commit is whole whatever happens here, so every failure says so
        (:class:`InsertIncomplete`, with the commit id) and what catches it up."""
        what = f"{self.name} v{self.version}: offline commit {commit} was written"
        try:
            if record.arrow_schema is None:
                self._store_schema(schema)
            if input_types:
                self._record = self._storage.catalog.update_feature_group(
                    self.id, self._record.revision, {"transformation_functions": input_types}
                )
            self._storage.catalog.record_commit(
                self.id,
                commit,
                None if stats is None else stats.result(),
                None if report is None else report.to_dict(),
                report_success=report is None or report.success,
            )
        except Exception as exc:
            self._storage.forget(self.id)
            cls = CommitNotRecorded if isinstance(exc, BackendUnavailable) else InsertIncomplete
            raise cls(
                f"{what}, but the catalog did not record it, so its statistics and validation "
                f"report are missing and its rows are not online until the group's next "
                f"insert or open recovers them: {exc}",
                commit,
            ) from exc
        if not unordered:  # unordered appenders record out of order: no gap to see
            commit_records.repair_gap(self._storage, self, record.last_commit, commit)
        if not self.online_enabled:
            return 0
        steps.step("writing online")
        try:
            return self._storage.sync.after_commit(self, table, commit)
        except OnlineWriteFailed:
            self._storage.forget(self.id, records=False)
            raise

    def _infer_schema(self, table: pa.Table) -> pa.Schema:
        untyped = [f.name for f in table.schema if pa.types.is_null(f.type)]
        if untyped:
            raise SchemaError(
                f"column(s) {untyped} hold only nulls, so their type is unknown: declare the "
                "schema with features=[fti.Feature(name, type), ...] when creating the group"
            )
        required = {*self.primary_key, *([self.event_time] if self.event_time else [])}
        return pa.schema([f.with_nullable(f.name not in required) for f in table.schema])

    def _input_types(self, table: pa.Table) -> list[dict[str, Any]] | None:
        """The ODT references with the types of their inputs, when not yet recorded: request
        inputs (``drop``) are not stored, so online vectors learn their types from here."""
        refs = self._record.transformation_functions
        if all("input_types" in ref for ref in refs):
            return None
        return [
            {
                **ref,
                "input_types": {
                    c: str(table.schema.field(c).type)
                    for c in ref["inputs"]
                    if c in table.column_names
                },
            }
            for ref in refs
        ]

    def _store_schema(self, schema: pa.Schema) -> None:
        features = [f.to_dict() for f in schema_to_features(schema, {})]
        self._record = self._storage.catalog.update_feature_group(
            self.id,
            self._record.revision,
            {"features": features, "arrow_schema": serialize_schema(schema)},
        )

    def append_features(self, features: Sequence[Feature]) -> None:
        """Add nullable features in place; older rows read them as null.

        Any other schema change (types, removals, renames) needs a new feature group version.
        """
        with self._storage.write_lock(self):
            self._refresh()
            schema = self.schema
            if schema is None:
                raise SchemaError(f"{self!r} has no schema yet: declare features or insert first")
            existing = {n.lower() for n in schema.names}  # Delta compares names without case
            clash = [f.name for f in features if f.name.lower() in existing]
            check_distinct([f.name for f in features], "feature")
            if clash:
                raise SchemaError(
                    f"feature(s) {clash} already exist; changing an existing feature needs a new "
                    "feature group version"
                )
            new = pa.schema([*schema, *(pa.field(f.name, f.type, nullable=True) for f in features)])
            before = self._storage.offline.latest_version(self.location)
            self._storage.add_offline_columns(self, [pa.field(f.name, f.type) for f in features])
            if self.online_enabled:
                after = self._storage.offline.latest_version(self.location)
                self._storage.sync.advance(self, before, after)
            descriptions = {f.name: f.description for f in [*self.features, *features]}
            self._record = self._storage.catalog.update_feature_group(
                self.id,
                self._record.revision,
                {
                    "features": [f.to_dict() for f in schema_to_features(new, descriptions)],
                    "arrow_schema": serialize_schema(new),
                },
            )

    def update_feature_description(self, name: str, description: str) -> None:
        """Change the description of one feature (the only in-place change besides appends)."""
        with self._storage.write_lock(self):
            record = self._refresh()
            features = [dict(f) for f in record.features or []]
            match = [f for f in features if f["name"] == name]
            if not match:
                raise SchemaError(
                    f"feature {name!r} does not exist; features: {[f['name'] for f in features]}"
                )
            match[0]["description"] = description
            self._record = self._storage.catalog.update_feature_group(
                self.id, record.revision, {"features": features}
            )

    # -- reading ----------------------------------------------------------------------------

    def read(
        self,
        as_of: int | dt.datetime | None = None,
        *,
        online: bool = False,
        columns: Sequence[str] | None = None,
        dataframe_type: str = "pandas",
    ) -> Any:
        """The latest state, the state at a commit id or time (``as_of``), or the online rows."""
        if online:
            if as_of is not None:
                raise FtiError("the online store keeps only the latest values: drop as_of")
            if not self.online_enabled:
                raise FtiError(f"{self!r} is not online enabled")
            table = self._storage.read_online(self)
            if columns:
                table = table.select(list(columns))
        else:
            if as_of is not None and (not isinstance(as_of, int) or isinstance(as_of, bool)):
                as_of = utc(as_of, "as_of")  # a commit time; naive is UTC
            with self._table_required():
                table = self._storage.offline.read(self.location, as_of, columns)
        return _frames.to_frame(table, dataframe_type)

    def lookup(self, keys: Any, features: Sequence[str] | None = None) -> Any:
        """Newest online values by primary key: one entity, or a list of them in one call.

        An entity is a dict of primary-key columns, a tuple in key order, or a bare value
        for a one-column key. Returns ``{feature: value}`` (every non-key feature unless
        ``features`` selects some) or ``None`` for an entity the online store does not hold;
        for a list, a list in the same order.
        """
        if not self.online_enabled:
            raise FtiError(f"{self!r} is not online enabled")
        codec = self._codec()
        cache_key = None if features is None else tuple(features)
        reader = self._readers.get(cache_key)
        if reader is None or self._readers_revision != self._record.revision:
            if self._readers_revision != self._record.revision:
                self._readers, self._readers_revision = {}, self._record.revision
            reader = self._readers[cache_key] = codec.reader(features)
        store, table = self._storage.online, self._online_table
        if not isinstance(keys, list):
            value = store.get(table, codec.encode_key(self._key_values(keys)))
            return None if value is None else reader(value)
        values = store.get_many(table, [codec.encode_key(self._key_values(k)) for k in keys])
        return [None if v is None else reader(v) for v in values]

    def _key_values(self, entity: Any) -> Sequence[Any]:
        pk = self._record.primary_key
        if isinstance(entity, dict):
            missing = [k for k in pk if k not in entity]
            if missing:
                raise InvalidDataError(f"entity {entity!r} lacks primary key column(s) {missing}")
            return [entity[k] for k in pk]
        if isinstance(entity, tuple):
            if len(entity) != len(pk):
                raise InvalidDataError(f"entity {entity!r} must have one value per key {pk}")
            return entity
        if len(pk) != 1:
            raise InvalidDataError(f"{self!r} has a composite key {pk}: pass a dict or tuple")
        return (entity,)

    # -- queries ----------------------------------------------------------------------------

    def get_lineage(self) -> list[dict[str, Any]]:
        """What uses this group: each feature view reading it (and which of its features),
        that view's training datasets and the model versions trained on them."""
        from fti.featurestore.lineage import usage

        return usage(self._storage.catalog, self._refresh(), None)

    def select_all(
        self,
        include_primary_key: bool = True,
        include_foreign_key: bool = True,
        include_partition_key: bool = True,
        include_event_time: bool = True,
    ) -> Query:
        """A query of every feature, to read, filter or join; without the primary key,
        partition key or event time when told (Hopsworks' options; fti has no foreign keys,
        so ``include_foreign_key`` changes nothing). A join may use key columns that the
        query does not select."""
        left_out = [
            *([] if include_primary_key else self.primary_key),
            *([] if include_partition_key else self.partition_key),
            *([] if include_event_time or self.event_time is None else [self.event_time]),
        ]
        names = tuple(n for n in self._feature_names() if n not in left_out)
        if not names:
            raise FtiError(f"{self!r} has no feature besides its keys and event time")
        return Query(self, names)

    def select_features(self) -> Query:
        """Every feature but the primary key and the event time (as Hopsworks': joins can
        still use the keys)."""
        return self.select_all(include_primary_key=False, include_event_time=False)

    def select(self, features: Sequence[str]) -> Query:
        names = [features] if isinstance(features, str) else list(features)
        Query._check_columns(self, names, "feature")
        if not names:
            raise FtiError("select() needs at least one feature")
        if len(set(names)) != len(names):
            raise FtiError(f"select() names a feature twice: {names}")
        return Query(self, tuple(names))

    def select_except(self, features: Sequence[str]) -> Query:
        Query._check_columns(self, list(features), "feature")
        names = tuple(n for n in self._feature_names() if n not in features)
        if not names:
            raise FtiError("select_except() would leave no feature")
        return Query(self, names)

    def filter(self, condition: Filter) -> Query:
        return self.select_all().filter(condition)

    def show(self, n: int = 10, online: bool = False) -> Any:
        """The first ``n`` rows (pandas), as Hopsworks' ``fg.show(n)``; ``online``: of the
        online store's rows."""
        if online:
            if isinstance(n, bool) or not isinstance(n, int) or n < 0:
                raise FtiError(f"show() takes a number of rows >= 0, got {n!r}")
            return self.read(online=True).head(n)
        return self.select_all().show(n)

    def __getitem__(self, name: str) -> FeatureRef:
        """A feature for filter expressions: ``fg["amount"] > 10``."""
        Query._check_columns(self, [name], "feature")
        return FeatureRef(self.name, self.version, name)

    def __setattr__(self, name: str, value: Any) -> None:
        _refuse_unknown(self, name)
        object.__setattr__(self, name, value)

    def __getattr__(self, name: str) -> FeatureRef:
        # Only reached for names that are not attributes: fg.amount > 10.
        if name.startswith("_") or "_record" not in self.__dict__ or self.schema is None:
            raise AttributeError(name)
        if name not in self._feature_names():
            raise AttributeError(
                f"{self!r} has no attribute or feature {name!r}; features: {self._feature_names()}"
            )
        return FeatureRef(self.name, self.version, name)

    def _feature_names(self) -> list[str]:
        schema = self.schema
        if schema is None:
            raise FtiError(f"{self!r} has no schema yet: insert data or declare features first")
        return list(schema.names)

    def _latest_commit(self) -> int:
        latest = self._storage.offline.latest_version(self.location)
        if latest is None and self._refresh().last_commit is not None:
            raise self._missing_table()
        return -1 if latest is None else latest

    def _commit_at(self, as_of: int | dt.datetime) -> int:
        with self._table_required():
            return self._storage.offline.version_at(self.location, as_of)

    @contextlib.contextmanager
    def _table_required(self) -> Iterator[None]:
        """A read that finds no commits raises :class:`OfflineTableMissing` instead when the
        catalog records commits: the table is missing, not empty."""
        try:
            yield
        except CommitNotFound as exc:
            if self._refresh().last_commit is not None and not self._storage.offline.exists(
                self.location
            ):
                raise self._missing_table() from exc
            raise

    def _missing_table(self) -> OfflineTableMissing:
        return OfflineTableMissing(
            f"the offline table of {self.name} v{self.version} is missing: the catalog records "
            f"commits up to {self._record.last_commit}, but {self.location} holds no Delta "
            "table (a home copied or restored without its offline directory?); nothing was "
            "read or written"
        )

    def _read_snapshot(self, commit: int, columns: Sequence[str]) -> pa.Table:
        """The given columns at a commit; -1 means "before any commit": no rows."""
        if commit < 0:
            schema = self.schema
            assert schema is not None
            return schema.empty_table().select(list(columns))
        return self._storage.offline.read(self.location, commit, columns)

    def _online_latest(self, commit: int, columns: Sequence[str]) -> pa.Table | None:
        """Newest row per key at ``commit`` from the online store, when that is cheaper."""
        table = self._storage.online_latest(self, commit)
        return None if table is None else table.select(list(columns))

    def _snapshot_files(self, commit: int) -> list[str] | None:
        """The Parquet files holding exactly the rows of a commit, when files alone do."""
        return None if commit < 0 else self._storage.offline.parquet_files(self.location, commit)

    def commit_details(self) -> list[CommitInfo]:
        """Every commit, oldest first; ``commit_id`` is usable as ``read(as_of=...)``."""
        history = self._storage.offline.history(self.location)
        if not history and self._refresh().last_commit is not None:
            raise self._missing_table()
        return history

    def online_sync(self, *, full: bool = False) -> int | None:
        """Bring the online rows up to the offline table's latest commit if the online store
        is behind (a failed online write, an emptied Redis); ``full`` drops and rebuilds
        them whatever the store records. Returns the keys written, None if it was current."""
        if not self.online_enabled:
            raise FtiError(f"{self!r} is not online enabled")
        return self._storage.online_sync(self, full=full)

    def compact(self) -> int:
        """Rewrite the offline table's small files into large ones (a group written by many
        small inserts otherwise grows a file per commit), then delete files compacted away
        longer ago than the table's retention. The rows of every commit, before or after,
        read the same. Returns how many files it removed."""
        return self._storage.offline.compact(self.location)

    def delete(self) -> None:
        """Delete the definition, the offline table and the online rows."""
        self._storage.delete_group(self)


def _refuse_unknown(obj: object, name: str) -> None:
    """Setting an attribute a class does not have would change nothing that is stored (a typo,
    or an option of another feature store): an error rather than silence."""
    if not name.startswith("_") and not hasattr(type(obj), name):
        raise AttributeError(
            f"{type(obj).__name__} has no attribute {name!r}: setting it would change nothing "
            "(settings are arguments of create/update methods, e.g. statistics_config)"
        )
