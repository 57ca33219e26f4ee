"""Feature views: a query, labels and a fixed feature order, read for training and inference.

Every ``training_data`` / ``*_split`` call records a new training-dataset version: the
specification (window, filter, split, seed), the Delta commit of every group read and the
statistics of the train split. ``get_training_data(v)`` re-runs the query on those commits, so
it returns bit-identical data however many rows arrived since.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from fti import _frames
from fti.catalog import FeatureViewRecord, TrainingDatasetRecord
from fti.errors import FtiError
from fti.featurestore import ingest
from fti.featurestore.filters import FeatureRef, Filter
from fti.featurestore.query import Query
from fti.featurestore.training_data import Spec, Split, make_spec, random_split, time_split
from fti.statistics import StatisticsConfig

if TYPE_CHECKING:
    from fti.featurestore.feature_store import FeatureStore


class FeatureView:
    """Features for one model family; obtain it with ``fs.get_or_create_feature_view``."""

    def __init__(self, fs: FeatureStore, record: FeatureViewRecord, query: Query) -> None:
        self._fs = fs
        self._record = record
        self.query = query
        self._batch_spec: Spec | None = None
        self._batch_commits: dict[str, int] | None = None
        self.last_training_dataset_version: int | None = None
        # The split rows of the dataset just created, so its frames are not computed twice.
        self._cache: tuple[int, dict[str, pa.Table]] | None = None

    id = property(lambda self: self._record.id)
    name = property(lambda self: self._record.name)
    version = property(lambda self: self._record.version)
    description = property(lambda self: self._record.description)
    labels = property(lambda self: list(self._record.labels))
    inference_helper_columns = property(lambda self: list(self._record.inference_helper_columns))
    training_helper_columns = property(lambda self: list(self._record.training_helper_columns))

    @property
    def features(self) -> list[dict[str, Any]]:
        """Every output column in its fixed order: name, type, source group and role."""
        return [dict(f) for f in self._record.features]

    @property
    def primary_keys(self) -> list[str]:
        return [f["name"] for f in self._record.features if f["role"] == "primary_key"]

    def __repr__(self) -> str:
        return f"FeatureView(name={self.name!r}, version={self.version})"

    # -- columns ----------------------------------------------------------------------------

    def _columns(
        self,
        *,
        labels: bool,
        primary_key: bool,
        event_time: bool,
        training_helpers: bool,
        inference_helpers: bool,
    ) -> list[str]:
        keep = {"feature"}
        if labels:
            keep.add("label")
        if primary_key:
            keep.add("primary_key")
        if event_time:
            keep.add("event_time")
        if training_helpers:
            keep.add("training_helper")
        if inference_helpers:
            keep.add("inference_helper")
        return [f["name"] for f in self._record.features if f["role"] in keep]

    def _root_time(self) -> FeatureRef | None:
        group = self.query.group
        if group.event_time is None:
            return None
        return FeatureRef(group.name, group.version, group.event_time)

    def _rows(self, spec: Spec, commits: dict[str, int]) -> pa.Table:
        condition = spec.row_filter(self._root_time())
        query = self.query if condition is None else self.query.filter(condition)
        return query.to_arrow(commits)

    # -- training data ----------------------------------------------------------------------

    def _create(
        self,
        spec: Spec,
        description: str,
        statistics_config: bool | Mapping[str, Any] | StatisticsConfig,
    ) -> TrainingDatasetRecord:
        config = StatisticsConfig.of(statistics_config)
        features = self._columns(
            labels=True,
            primary_key=False,
            event_time=False,
            training_helpers=False,
            inference_helpers=False,
        )
        described = config.select(features)  # bad column names fail before any work
        commits = self.query.resolve_commits()
        table = self._rows(spec, commits)
        parts = spec.split.assign(table, self.query.group.event_time)
        stats = None
        if config.enabled:
            stats = self._fs._describe(parts["train"].select(described), config)
        record = self._fs._catalog.create_training_dataset(
            self.id,
            description=description,
            spec=spec.to_dict(),
            commits=commits,
            statistics=stats,
            transformation_state=None,
            data_format=None,
            location=None,
            created_by=self._fs._client,
        )
        self.last_training_dataset_version = record.version
        self._cache = (record.version, parts)
        return record

    def _split_frames(
        self,
        parts: dict[str, pa.Table],
        names: Sequence[str],
        dataframe_type: str,
        primary_key: bool,
        event_time: bool,
        training_helper_columns: bool,
    ) -> list[Any]:
        x_columns = self._columns(
            labels=False,
            primary_key=primary_key,
            event_time=event_time,
            training_helpers=training_helper_columns,
            inference_helpers=False,
        )
        out: list[Any] = []
        for name in names:
            out.append(_frames.to_frame(parts[name].select(x_columns), dataframe_type))
        for name in names:
            y = parts[name].select(self.labels)
            out.append(_frames.to_frame(y, dataframe_type) if self.labels else None)
        return out

    def training_data(
        self,
        start_time: dt.datetime | str | None = None,
        end_time: dt.datetime | str | None = None,
        extra_filter: Filter | None = None,
        description: str = "",
        statistics_config: bool | Mapping[str, Any] | StatisticsConfig = True,
        *,
        primary_key: bool = False,
        event_time: bool = False,
        training_helper_columns: bool = False,
        dataframe_type: str = "pandas",
    ) -> tuple[Any, Any]:
        """``X, y`` for the window, recorded as a new training-dataset version."""
        spec = make_spec(start_time, end_time, extra_filter, Split())
        record = self._create(spec, description, statistics_config)
        return self._frames_of(
            record, dataframe_type, primary_key, event_time, training_helper_columns
        )

    def train_test_split(
        self,
        test_size: float | None = None,
        train_start: dt.datetime | str | None = None,
        train_end: dt.datetime | str | None = None,
        test_start: dt.datetime | str | None = None,
        test_end: dt.datetime | str | None = None,
        description: str = "",
        extra_filter: Filter | None = None,
        statistics_config: bool | Mapping[str, Any] | StatisticsConfig = True,
        seed: int = 42,
        *,
        primary_key: bool = False,
        event_time: bool = False,
        training_helper_columns: bool = False,
        dataframe_type: str = "pandas",
    ) -> tuple[Any, Any, Any, Any]:
        """``X_train, X_test, y_train, y_test``: a random split (``test_size``, ``seed``) or a
        time split (``test_start`` ...); statistics and model-dependent state use train only."""
        if test_size is not None:
            split = random_split(test_size, 0.0, seed)
            window = (train_start, train_end)
        elif test_start is not None:
            split = time_split(
                train_start=train_start,
                train_end=train_end or test_start,
                test_start=test_start,
                test_end=test_end,
            )
            window = (None, None)
        else:
            raise FtiError("give test_size (random split) or test_start (time split)")
        spec = make_spec(window[0], window[1], extra_filter, split)
        record = self._create(spec, description, statistics_config)
        return self._frames_of(
            record, dataframe_type, primary_key, event_time, training_helper_columns
        )

    def train_validation_test_split(
        self,
        validation_size: float | None = None,
        test_size: float | None = None,
        train_start: dt.datetime | str | None = None,
        train_end: dt.datetime | str | None = None,
        validation_start: dt.datetime | str | None = None,
        validation_end: dt.datetime | str | None = None,
        test_start: dt.datetime | str | None = None,
        test_end: dt.datetime | str | None = None,
        description: str = "",
        extra_filter: Filter | None = None,
        statistics_config: bool | Mapping[str, Any] | StatisticsConfig = True,
        seed: int = 42,
        *,
        primary_key: bool = False,
        event_time: bool = False,
        training_helper_columns: bool = False,
        dataframe_type: str = "pandas",
    ) -> tuple[Any, Any, Any, Any, Any, Any]:
        """``X_train, X_val, X_test, y_train, y_val, y_test`` by fractions or time ranges."""
        if test_size is not None or validation_size is not None:
            split = random_split(test_size or 0.0, validation_size or 0.0, seed)
            window = (train_start, train_end)
        elif validation_start is not None and test_start is not None:
            split = time_split(
                train_start=train_start,
                train_end=train_end or validation_start,
                validation_start=validation_start,
                validation_end=validation_end or test_start,
                test_start=test_start,
                test_end=test_end,
            )
            window = (None, None)
        else:
            raise FtiError("give validation_size and test_size, or validation_start and test_start")
        spec = make_spec(window[0], window[1], extra_filter, split)
        record = self._create(spec, description, statistics_config)
        return self._frames_of(
            record, dataframe_type, primary_key, event_time, training_helper_columns
        )

    # -- materialized training data (files for other tools) ----------------------------------

    def create_training_data(
        self,
        start_time: dt.datetime | str | None = None,
        end_time: dt.datetime | str | None = None,
        extra_filter: Filter | None = None,
        description: str = "",
        data_format: str = "parquet",
        statistics_config: bool | Mapping[str, Any] | StatisticsConfig = True,
        *,
        test_size: float | None = None,
        validation_size: float | None = None,
        seed: int = 42,
    ) -> int:
        """Write a new training-dataset version as files (``parquet`` or ``csv``), one per
        split, and return its version. The files hold whole rows (keys, event time, labels);
        ``get_training_data(version)`` still re-creates the data from the pinned commits."""
        if data_format not in ("parquet", "csv"):
            raise FtiError(f"data_format must be 'parquet' or 'csv', got {data_format!r}")
        split = (
            random_split(test_size or 0.0, validation_size or 0.0, seed)
            if test_size is not None or validation_size is not None
            else Split()
        )
        spec = make_spec(start_time, end_time, extra_filter, split)
        record = self._create(spec, description, statistics_config)
        assert self._cache is not None
        location = self._fs._training_data_location(self, record.version)
        for name, table in self._cache[1].items():
            self._fs._write_file(table, f"{location}/{name}.{data_format}", data_format)
        self._fs._catalog.update_training_dataset(
            record.id, {"location": location, "data_format": data_format}
        )
        return record.version

    def _frames_of(
        self,
        record: TrainingDatasetRecord,
        dataframe_type: str,
        primary_key: bool,
        event_time: bool,
        training_helper_columns: bool,
    ) -> tuple[Any, ...]:
        spec = Spec.from_dict(record.spec)
        if self._cache is not None and self._cache[0] == record.version:
            parts = self._cache[1]
        else:
            table = self._rows(spec, dict(record.commits))
            parts = spec.split.assign(table, self.query.group.event_time)
        return tuple(
            self._split_frames(
                parts,
                spec.split.names,
                dataframe_type,
                primary_key,
                event_time,
                training_helper_columns,
            )
        )

    def get_training_data(
        self,
        training_dataset_version: int,
        *,
        primary_key: bool = False,
        event_time: bool = False,
        training_helper_columns: bool = False,
        dataframe_type: str = "pandas",
    ) -> tuple[Any, ...]:
        """Re-create a training dataset exactly: ``X, y`` (or the split's frames in the order
        of ``train_test_split`` / ``train_validation_test_split``)."""
        record = self.get_training_dataset(training_dataset_version)
        self._cache = None
        return self._frames_of(
            record, dataframe_type, primary_key, event_time, training_helper_columns
        )

    get_train_test_split = get_training_data
    get_train_validation_test_split = get_training_data

    def get_training_dataset(self, version: int) -> TrainingDatasetRecord:
        return self._fs._catalog.get_training_dataset(self.id, version)

    def get_training_datasets(self) -> list[TrainingDatasetRecord]:
        return self._fs._catalog.list_training_datasets(self.id)

    # -- batch data -------------------------------------------------------------------------

    def init_batch_scoring(self, training_dataset_version: int) -> None:
        """Apply that training dataset's filters to batch data (and later its transformations)."""
        record = self.get_training_dataset(training_dataset_version)
        spec = Spec.from_dict(record.spec)
        self._batch_spec = Spec(None, None, spec.extra_filter, Split())

    def _batch_query(
        self,
        start_time: dt.datetime | str | None,
        end_time: dt.datetime | str | None,
        primary_key: bool,
        event_time: bool,
        inference_helpers: bool,
    ) -> tuple[Query, list[str]]:
        """The query of batch data (window and the scoring dataset's filter) and its columns."""
        extra = self._batch_spec.extra_filter if self._batch_spec else None
        spec = make_spec(start_time, end_time, extra, Split())
        columns = self._columns(
            labels=False,
            primary_key=primary_key,
            event_time=event_time,
            training_helpers=False,
            inference_helpers=inference_helpers,
        )
        condition = spec.row_filter(self._root_time())
        return (self.query if condition is None else self.query.filter(condition)), columns

    def get_batch_data(
        self,
        start_time: dt.datetime | str | None = None,
        end_time: dt.datetime | str | None = None,
        *,
        latest_features: bool = False,
        spine: Any = None,
        primary_key: bool = False,
        event_time: bool = False,
        inference_helpers: bool = False,
        dataframe_type: str = "pandas",
    ) -> Any:
        """Features (no labels) for batch inference on the newest commits.

        By the root's event-time window (point-in-time joins), ``latest_features=True`` for the
        newest row per entity of every group (what the online store serves; read from the
        online store itself when it holds the latest commit and the history is long, so the
        cost follows the number of entities, not of rows), or ``spine=`` rows supplied by the
        caller (they replace the root group's rows, order kept).
        """
        query, columns = self._batch_query(
            start_time, end_time, primary_key, event_time, inference_helpers
        )
        commits = query.resolve_commits()
        if spine is not None:
            if latest_features:
                raise FtiError("give either spine= or latest_features=True, not both")
            table = query.to_arrow(commits, spine=self._spine(spine))
        else:
            table = query.to_arrow(commits, latest=latest_features)
        return _frames.to_frame(table.select(columns), dataframe_type)

    def read_batches(
        self,
        start_time: dt.datetime | str | None = None,
        end_time: dt.datetime | str | None = None,
        *,
        batch_size: int = 100_000,
        primary_key: bool = False,
        event_time: bool = False,
        inference_helpers: bool = False,
    ) -> Iterator[pa.RecordBatch]:
        """Batch data (as ``get_batch_data``) streamed in Arrow record batches, for results
        too large to hold at once."""
        query, columns = self._batch_query(
            start_time, end_time, primary_key, event_time, inference_helpers
        )
        for batch in query.read_batches(batch_size):
            yield batch.select(columns)

    def _spine(self, data: Any) -> pa.Table:
        """The caller's rows in place of the root group's: keys, event time and root features.

        Labels (unknown at inference time) may be left out; they read as null.
        """
        root = self.query.nodes()[0]
        spine = ingest.normalize(ingest.to_arrow(data), root.group.event_time)
        schema = root.group.schema
        assert schema is not None
        needed = [c for c, _ in root.outputs] + [c for n in self.query.nodes() for c in n.left_on]
        needed += [root.group.event_time] if root.group.event_time else []
        missing = [c for c in dict.fromkeys(needed) if c not in spine.column_names]
        absent_labels = [c for c in missing if c in self.labels]
        missing = [c for c in missing if c not in self.labels]
        if missing:
            raise FtiError(f"the spine lacks column(s) {missing}; it has {spine.column_names}")
        for label in absent_labels:
            spine = spine.append_column(label, pa.nulls(spine.num_rows, schema.field(label).type))
        return spine

    # -- lifecycle --------------------------------------------------------------------------

    def delete(self, force: bool = False) -> None:
        """Delete the view; refused while training datasets depend on it unless ``force``."""
        self._fs.delete_feature_view(self.name, self.version, force=force)
