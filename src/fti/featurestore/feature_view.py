"""Feature views: a query, labels and a fixed feature order, read for training and inference.

Every ``training_data`` / ``*_split`` call records a new training-dataset version: the
specification (window, filter, split, seed), the Delta commit of every group read and the
statistics of the train split. ``get_training_data(v)`` re-runs the query on those commits, so
it returns bit-identical data however many rows arrived since.
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from fti import _frames
from fti.catalog import FeatureViewRecord, TrainingDatasetRecord
from fti.errors import FtiError
from fti.featurestore import ingest, model_dependent
from fti.featurestore.feature_group import _refuse_unknown
from fti.featurestore.filters import FeatureRef
from fti.featurestore.query import Query
from fti.featurestore.serving import ServingPlan, serving_plan
from fti.featurestore.training_data import Spec, Split, make_spec
from fti.featurestore.view_training import ViewTraining
from fti.transform import ModelTransform, Pipeline
from fti.types import parse_type

if TYPE_CHECKING:
    from fti.featurestore.storage import Storage


class FeatureView(ViewTraining):
    """Features for one model family; obtain it with ``fs.get_or_create_feature_view``."""

    def __init__(self, storage: Storage, record: FeatureViewRecord, query: Query) -> None:
        self._storage = storage
        self._record = record
        self._query = query
        self._batch_spec: Spec | None = None
        # (training-dataset version, MDT state) that batch data and serving apply
        self._scoring: tuple[int, list[Any]] | None = None
        self._serving: ServingPlan | None = None
        self._pipeline_cache: Pipeline | None = None
        self._batch_commits: dict[str, int] | None = None
        self._last_training_dataset_version: int | None = None
        # The split rows of the dataset just created, so its frames are not computed twice.
        self._cache: tuple[int, dict[str, pa.Table]] | None = None

    def __setattr__(self, name: str, value: Any) -> None:
        _refuse_unknown(self, name)
        object.__setattr__(self, name, value)

    @property
    def query(self) -> Query:
        """The view's query, as recorded (it defines the view's features and their order)."""
        return self._query

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
    def transformation_functions(self) -> list[ModelTransform]:
        """The model-dependent transformations, in the order they apply."""
        return list(self._pipeline.transforms)

    @property
    def _pipeline(self) -> Pipeline:
        if self._pipeline_cache is None:
            refs = self._record.transformation_functions
            transforms = model_dependent.load(refs, self._storage.load_transformations)
            self._pipeline_cache = Pipeline(transforms)
        return self._pipeline_cache

    def _states(self, record: TrainingDatasetRecord) -> list[Any]:
        if not self._pipeline:
            return []
        return model_dependent.states_of(record.transformation_state, record.version)

    @property
    def last_training_dataset_version(self) -> int | None:
        """The training dataset version this view object created last (None: none yet); the
        default of ``create_model`` and ``deploy`` that name none."""
        return self._last_training_dataset_version

    def transformed_schema(self, training_dataset_version: int) -> pa.Schema:
        """The schema of the vectors a model reads: :attr:`feature_names` after the
        model-dependent transformations with that training dataset's state (a one-hot
        encoder's columns included)."""
        record = self.get_training_dataset(training_dataset_version)
        types = {f["name"]: f["type"] for f in self.features}
        base = pa.schema([(n, parse_type(types[n])) for n in self.feature_names])
        if not self._pipeline:
            return base
        return self._pipeline.schema(base, self._states(record))

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

    @property
    def feature_names(self) -> list[str]:
        """The features a model reads, in the view's order: no labels, keys, event time or
        helper columns (before model-dependent transformations)."""
        return self._columns(
            labels=False,
            primary_key=False,
            event_time=False,
            training_helpers=False,
            inference_helpers=False,
        )

    def _root_time(self) -> FeatureRef | None:
        group = self.query.group
        if group.event_time is None:
            return None
        return FeatureRef(group.name, group.version, group.event_time)

    def _rows(self, spec: Spec, commits: dict[str, int]) -> pa.Table:
        condition = spec.row_filter(self._root_time())
        query = self.query if condition is None else self.query.filter(condition)
        return query.to_arrow(commits)

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

    def transform(self, data: Any) -> Any:
        """Apply the model-dependent transformations of the initialized training dataset to
        untransformed features: a dict (one vector, as logged), a list of dicts, or a
        DataFrame / Arrow table (returned as the same kind)."""
        states = self._scoring_states(True)
        if states is None:
            return data
        if isinstance(data, dict):
            return self._transform_rows([data], states)[0]
        if isinstance(data, list) and all(isinstance(d, dict) for d in data):
            return self._transform_rows(data, states)
        table = ingest.to_arrow(data)
        out = self._pipeline.apply(table, states)
        return _frames.to_frame(out, _frames.kind_of(data))

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
        transform: bool = True,
    ) -> Any:
        """Features (no labels) for batch inference on the newest commits.

        By the root's event-time window (point-in-time joins), ``latest_features=True`` for the
        newest row per entity of every group (what the online store serves; read from the
        online store itself when it holds the latest commit and the history is long, so the
        cost follows the number of entities, not of rows), or ``spine=`` rows supplied by the
        caller (they replace the root group's rows, order kept).

        Model-dependent transformations apply with the state of the training dataset chosen
        by ``init_batch_scoring`` / ``init_serving``; ``transform=False`` skips them.
        """
        states = self._scoring_states(transform)
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

    # -- online feature vectors ---------------------------------------------------------------

    def init_serving(
        self,
        training_dataset_version: int | None = None,
        *,
        missing: str = "error",
        lookup_timeout: float | None = None,
    ) -> ServingPlan:
        """Prepare online feature vectors (and batch scoring) with that training dataset's
        transformation state; needed once per process when the view has model-dependent
        transformations or ``missing="impute"``.

        ``missing`` is what a serving key without an online row gets: ``"error"`` (raise
        :class:`fti.FeatureVectorNotFound`), ``"impute"`` (the training mean, or most frequent
        value, of each of that group's features), ``"null"``, or ``"last_known"`` (null for a
        key never served). When the online store itself fails, ``"error"`` raises
        :class:`fti.OnlineStoreUnavailable`, ``"impute"`` / ``"null"`` answer as for missing
        rows, ``"last_known"`` serves the values last served for each key (kept in memory,
        the newest 100,000 keys per group); the details say why. ``lookup_timeout`` (seconds)
        bounds each lookup: a slower one counts as a failed store (SQLite and Redis; LMDB
        reads never wait).

        The view keeps that plan for :meth:`get_feature_vector` and returns it; a server
        builds its own (:func:`fti.featurestore.serving.serving_plan`).
        """
        version = training_dataset_version
        if version is not None:
            self.init_batch_scoring(version)
        elif self._scoring is not None:  # the state batch scoring was given
            version = self._scoring[0]
        self._serving = serving_plan(self, version, missing=missing, lookup_timeout=lookup_timeout)
        return self._serving

    def _plan(self) -> ServingPlan:
        return self._serving or self.init_serving()

    @property
    def serving_keys(self) -> list[str]:
        """The keys a feature vector request names: the root's primary key when the root is
        online, and every join key."""
        return list(self._plan().serving_keys)

    @property
    def serving_schema(self) -> dict[str, Any]:
        """What a request must and may carry, and what it returns."""
        return self._plan().serving_schema

    def get_feature_vector(
        self,
        serving_keys: Mapping[str, Any],
        passed_features: Mapping[str, Any] | None = None,
        request_parameters: Mapping[str, Any] | None = None,
        return_type: str = "list",
        transform: bool = True,
        details: bool = False,
    ) -> Any:
        """The features of one entity from the online store, transformed as in training.

        ``return_type``: ``"list"`` (the view's order), ``"dict"``, ``"numpy"``, ``"pandas"``
        or ``"polars"``. ``passed_features`` override looked-up values;
        ``request_parameters`` feed on-demand transformations. ``details=True`` returns a
        :class:`FeatureVector` with the untransformed values and what was imputed.
        """
        return (self._serving or self._plan()).get_feature_vector(
            serving_keys, passed_features, request_parameters, return_type, transform, details
        )

    def get_feature_vectors(
        self,
        serving_keys: Sequence[Mapping[str, Any]],
        passed_features: Sequence[Mapping[str, Any] | None] | None = None,
        request_parameters: Sequence[Mapping[str, Any] | None] | None = None,
        return_type: str = "list",
        transform: bool = True,
        details: bool = False,
        timings: dict[str, float] | None = None,
    ) -> Any:
        """Feature vectors of many entities in one online round trip (lists aligned with
        ``serving_keys``); a list of vectors, or one DataFrame / 2-D array. With
        ``details=True`` a list of :class:`FeatureVector` (each vector a list, or a dict)."""
        return self._plan().get_feature_vectors(
            serving_keys,
            passed_features,
            request_parameters,
            return_type,
            transform,
            details,
            timings,
        )

    # -- deployments and the inference log ---------------------------------------------------

    def deploy(
        self,
        name: str | None = None,
        passed_features: Sequence[str] | None = None,
        request_parameters: Sequence[str] | None = None,
        training_dataset_version: int | None = None,
        missing: str = "error",
        *,
        lookup_timeout_ms: float | None = None,
        resources: Mapping[str, Any] | None = None,
        slo: Mapping[str, Any] | None = None,
        untransformed: bool = False,
        fallback: str | Mapping[str, Any] | None = None,
    ) -> Any:
        """A feature-view deployment: transformed feature vectors (and the untransformed ones
        in the log; in the answers too with ``untransformed=True``) for model servers outside
        fti. The transformation state is that of ``training_dataset_version`` (default: the
        last one this view created here).
        ``missing`` (the missing-values policy), ``lookup_timeout_ms``, ``resources`` and
        ``slo`` as for :meth:`fti.Model.deploy`; there is no fallback model. ``fallback`` is
        the deprecated name of ``missing`` (or a dict of ``missing`` and
        ``lookup_timeout_ms``): still taken, with a :class:`DeprecationWarning`."""
        on_failure: str | Mapping[str, Any] = {
            "missing": missing,
            "lookup_timeout_ms": lookup_timeout_ms,
        }
        if fallback is not None:  # the two options above as deploy once took them
            if (missing, lookup_timeout_ms) != ("error", None):
                raise FtiError(
                    "give missing= and lookup_timeout_ms=, or their deprecated form "
                    "fallback=, not both"
                )
            warnings.warn(
                "deploy(fallback=...) is deprecated: pass missing= (the missing-values "
                "policy) and lookup_timeout_ms=",
                DeprecationWarning,
                stacklevel=2,
            )
            on_failure = fallback
        return self._storage.serving().deploy_view(
            self,
            name or self.name,
            passed_features,
            request_parameters,
            on_failure,
            training_dataset_version=training_dataset_version
            if training_dataset_version is not None
            else self.last_training_dataset_version,
            resources=resources,
            slo=slo,
            untransformed=untransformed,
        )

    def read_log(
        self,
        start_time: dt.datetime | str | None = None,
        end_time: dt.datetime | str | None = None,
        model_version: int | None = None,
        dataframe_type: str = "pandas",
        *,
        labels: Any = None,
        on: Sequence[str] = ("request_id",),
    ) -> Any:
        """Predictions served from this view, in ``[start_time, end_time)``, optionally of one
        model version: request, serving keys, untransformed features, prediction, latency.

        ``labels`` (a frame of outcomes that arrived later) is left-joined on ``on``: the
        request id, or columns of the log such as a key feature; unlabelled rows get nulls.
        """
        return self._storage.serving().read_log(
            self, start_time, end_time, model_version, dataframe_type, labels=labels, on=on
        )

    # -- lifecycle --------------------------------------------------------------------------

    def delete(self, force: bool = False) -> None:
        """Delete the view; refused while training datasets depend on it unless ``force``."""
        self._storage.catalog.delete_feature_view(self.id, force=force)
