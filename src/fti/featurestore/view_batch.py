"""Batch data of a feature view: features (no labels) for batch inference, by the root's
event-time window, the newest row per entity, or a caller's spine, with the model-dependent
state of a chosen training dataset. Mixed into :class:`fti.FeatureView`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from fti import _compat, _frames
from fti.catalog import FeatureViewRecord, TrainingDatasetRecord
from fti.errors import FtiError
from fti.featurestore import ingest
from fti.featurestore.filters import FeatureRef, Filter
from fti.featurestore.training_data import Spec, Split, make_spec
from fti.types import parse_type

if TYPE_CHECKING:
    from fti.featurestore.query import Query
    from fti.featurestore.storage import Storage
    from fti.transform import Pipeline


class ViewBatch:
    """Batch data and batch scoring of :class:`fti.FeatureView` (which supplies the rest)."""

    if TYPE_CHECKING:
        _batch_spec: Spec | None
        _scoring: tuple[int, list[Any]] | None
        _storage: Storage
        _record: FeatureViewRecord

        @property
        def id(self) -> int: ...
        @property
        def name(self) -> str: ...
        @property
        def version(self) -> int: ...
        @property
        def labels(self) -> list[str]: ...
        @property
        def features(self) -> list[dict[str, Any]]: ...
        @property
        def query(self) -> Query: ...
        @property
        def feature_names(self) -> list[str]: ...
        @property
        def vector_names(self) -> list[str]: ...
        @property
        def _pipeline(self) -> Pipeline: ...

        def _columns(
            self,
            *,
            labels: bool,
            primary_key: bool,
            event_time: bool,
            training_helpers: bool,
            inference_helpers: bool,
        ) -> list[str]: ...
        def _states(self, record: TrainingDatasetRecord) -> list[Any]: ...
        def _root_time(self) -> FeatureRef | None: ...
        def get_training_dataset(self, version: int) -> TrainingDatasetRecord: ...

    # -- batch data -------------------------------------------------------------------------

    def init_batch_scoring(self, training_dataset_version: int) -> None:
        """Apply that training dataset's filters and transformation state to batch data."""
        record = self.get_training_dataset(training_dataset_version)
        spec = Spec.from_dict(record.spec)
        self._batch_spec = Spec(None, None, spec.extra_filter, Split())
        self._scoring = (record.version, self._states(record))

    def _scoring_states(self, transform: bool) -> list[Any] | None:
        """The state batch data and serving apply, ``None`` for untransformed output."""
        if not transform or not self._pipeline:
            return None
        if self._scoring is None:
            raise FtiError(
                f"{self!r} has model-dependent transformations, fitted per training dataset: "
                "call fv.init_batch_scoring(training_dataset_version=N) or "
                "fv.init_serving(training_dataset_version=N) first, or pass transform=False"
            )
        return self._scoring[1]

    def transform(self, data: Any, **hopsworks: Any) -> Any:
        """Apply the model-dependent transformations of the initialized training dataset to
        untransformed features: a dict (one vector, as logged), a list (one vector in the
        view's order of :attr:`vector_names`, as ``get_feature_vector(transform=False)``
        gives it), a list of dicts or of such lists, or a DataFrame / Arrow table; returned as
        the same kind (lists in the transformed order)."""
        _compat.ignore(hopsworks, _TRANSFORM, "transform")
        states = self._scoring_states(True)
        if states is None:
            return data
        if isinstance(data, dict):
            return self._transform_rows([data], states)[0]
        if isinstance(data, list) and all(isinstance(d, dict) for d in data):
            return self._transform_rows(data, states)
        if isinstance(data, list | tuple) and all(isinstance(d, list | tuple) for d in data):
            return [self._transform_list(v, states) for v in data]
        if isinstance(data, list | tuple):
            return self._transform_list(data, states)
        table = ingest.to_arrow(data)
        out = self._pipeline.apply(table, states)
        return _frames.to_frame(out, _frames.kind_of(data))

    def _transform_list(self, vector: Any, states: list[Any]) -> list[Any]:
        names = self.vector_names
        if len(vector) != len(names):
            raise FtiError(
                f"a vector to transform holds {len(names)} values, the view's columns "
                f"{names} in that order (as get_feature_vector gives them); got {len(vector)}"
            )
        (row,) = self._transform_rows([dict(zip(names, vector, strict=True))], states)
        return [row[name] for name in self._transformed_names(states)]

    def _transformed_names(self, states: list[Any]) -> list[str]:
        types = {f["name"]: f["type"] for f in self.features}
        base = pa.schema([(n, parse_type(types[n])) for n in self.vector_names])
        return list(self._pipeline.schema(base, states).names)

    def _transform_rows(self, rows: list[dict[str, Any]], states: list[Any]) -> list[Any]:
        schema = pa.schema([(f["name"], parse_type(f["type"])) for f in self.features])
        run = self._pipeline.row_runner(schema, states)
        out = []
        for row in rows:
            row = dict(row)
            run(row)
            out.append(row)
        return out

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
        query = self.query.with_keys()
        return (query if condition is None else query.filter(condition)), columns

    def get_batch_data(
        self,
        start_time: dt.datetime | str | None = None,
        end_time: dt.datetime | str | None = None,
        *,
        latest_features: bool = False,
        spine: Any = None,
        primary_key: bool | None = None,
        event_time: bool | None = None,
        inference_helpers: bool = False,
        dataframe_type: str = "pandas",
        transform: bool = True,
        extra_filter: Filter | None = None,
        **hopsworks: Any,
    ) -> Any:
        """Features (no labels) for batch inference on the newest commits.

        By the root's event-time window (point-in-time joins), ``latest_features=True`` for the
        newest row per entity of every group (what the online store serves; read from the
        online store itself when it holds the latest commit and the history is long, so the
        cost follows the number of entities, not of rows), or ``spine=`` rows supplied by the
        caller (they replace the root group's rows, order kept). The primary key and event
        time come back when asked, and with a spine by default (as Hopsworks).

        Model-dependent transformations apply with the state of the training dataset chosen
        by ``init_batch_scoring`` / ``init_serving``; ``transform=False`` skips them.
        Hopsworks' spellings: ``transformed=``, ``spine_df=``, ``inference_helper_columns=``;
        its options with no meaning here (``read_options``, ``lookback``, ...) are ignored
        with a warning.
        """
        options = dict(hopsworks)
        transform = options.pop("transformed", transform)
        spine = options.pop("spine_df", spine)
        inference_helpers = options.pop("inference_helper_columns", inference_helpers)
        _compat.ignore(options, _BATCH, "get_batch_data")
        with_keys = spine is not None  # Hopsworks: None means True with a spine
        states = self._scoring_states(transform)
        query, columns = self._batch_query(
            start_time,
            end_time,
            with_keys if primary_key is None else primary_key,
            with_keys if event_time is None else event_time,
            inference_helpers,
        )
        if extra_filter is not None:
            query = query.filter(extra_filter)
        commits = query.resolve_commits()
        if spine is not None:
            if latest_features:
                raise FtiError("give either spine= or latest_features=True, not both")
            table = query.to_arrow(commits, spine=self._spine(spine))
        else:
            table = query.to_arrow(commits, latest=latest_features)
        table = table.select(columns)
        if states is not None:
            table = self._pipeline.apply(table, states)
        return _frames.to_frame(table, dataframe_type)

    def read_batches(
        self,
        start_time: dt.datetime | str | None = None,
        end_time: dt.datetime | str | None = None,
        *,
        batch_size: int = 100_000,
        primary_key: bool = False,
        event_time: bool = False,
        inference_helpers: bool = False,
        transform: bool = True,
    ) -> Iterator[pa.RecordBatch]:
        """Batch data (as ``get_batch_data``) streamed in Arrow record batches, for results
        too large to hold at once."""
        states = self._scoring_states(transform)
        query, columns = self._batch_query(
            start_time, end_time, primary_key, event_time, inference_helpers
        )
        for batch in query.read_batches(batch_size):
            batch = batch.select(columns)
            if states is not None:
                table = self._pipeline.apply(pa.Table.from_batches([batch]), states)
                batch = table.combine_chunks().to_batches()[0]
            yield batch

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


_BATCH = {
    "read_options": "fti reads with DuckDB in this process",
    "transformation_context": "fti's transformations take no context",
    "logging_data": "a deployment logs its own requests",
    "lookback": "a point-in-time join reads each group's whole history",
    "n_processes": "fti's transformations run in this process",
}
_TRANSFORM = {
    "external": "fti reads the online store in this process",
    "transformation_context": "fti's transformations take no context",
    "return_type": "the result is the kind of what was given",
    "n_processes": "fti's transformations run in this process",
}
