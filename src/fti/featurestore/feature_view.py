"""Feature views: a query, labels and a fixed feature order, read for training and inference.

Every ``training_data`` / ``*_split`` call records a new training-dataset version: the
specification (window, filter, split, seed), the Delta commit of every group read and the
statistics of the train split. ``get_training_data(v)`` re-runs the query on those commits, so
it returns bit-identical data however many rows arrived since.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from fti.catalog import FeatureViewRecord, TrainingDatasetRecord
from fti.errors import FtiError
from fti.featurestore import model_dependent
from fti.featurestore.feature_group import _refuse_unknown
from fti.featurestore.filters import FeatureRef
from fti.featurestore.query import Query
from fti.featurestore.serving import ServingPlan
from fti.featurestore.training_data import Spec
from fti.featurestore.view_batch import ViewBatch
from fti.featurestore.view_logging import ViewLogging
from fti.featurestore.view_training import ViewTraining
from fti.featurestore.view_vectors import ViewVectors
from fti.transform import ModelTransform, Pipeline
from fti.types import parse_type

if TYPE_CHECKING:
    from fti.featurestore.storage import Storage

Source = tuple[str, int, str]  # (group name, group version, column)


class FeatureView(ViewTraining, ViewBatch, ViewVectors, ViewLogging):
    """Features for one model family; obtain it with ``fs.get_or_create_feature_view``."""

    def __init__(self, storage: Storage, record: FeatureViewRecord, query: Query) -> None:
        self._storage = storage
        self._record = record
        self._query = query
        self._batch_spec: Spec | None = None
        # (training-dataset version, MDT state) that batch data and serving apply
        self._scoring: tuple[int, list[Any]] | None = None
        self._serving: ServingPlan | None = None
        self._serving_args: tuple[int | None, float | None] = (None, None)
        self._serving_any: ServingPlan | None = None
        self._helpers: dict[str, ServingPlan] = {}
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
        """The columns that identify an entity, as the view names them: the root group's
        primary key and every join key (what ``primary_key=True`` returns)."""
        return [name for name, _ in self._identity()[0]]

    def _identity(self) -> tuple[list[tuple[str, Source]], tuple[str, Source] | None]:
        """The key columns and the root's event time as batch and training data name them,
        each with the group column it comes from."""
        nodes = self.query.nodes()
        by_alias = {node.alias: node for node in nodes}
        root = nodes[0].group
        keys = {k: (root.name, root.version, k) for k in root.primary_key}
        for node in nodes[1:]:
            parent = by_alias[node.parent] if node.parent else nodes[0]
            outputs = dict(parent.outputs)
            for c in node.left_on:
                keys.setdefault(
                    outputs.get(c, parent.prefix + c),
                    (parent.group.name, parent.group.version, c),
                )
        time = root.event_time
        return list(keys.items()), (time, (root.name, root.version, time)) if time else None

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
        names = [f["name"] for f in self._record.features if f["role"] in keep]
        keys, time = self._identity()
        wanted = (keys if primary_key else []) + ([time] if event_time and time else [])
        self._refuse_clashes(wanted)
        first = [n for n, _ in wanted]  # the rows' identity first, selected or not
        return first + [n for n in names if n not in first]

    def _refuse_clashes(self, identity: Sequence[tuple[str, Source]]) -> None:
        """Refuse identity columns whose name the view gives another group's column."""
        recorded = {f["name"]: (f["group"], f["group_version"], f["column"]) for f in self.features}
        clash = [n for n, source in identity if recorded.get(n, source) != source]
        if clash:
            raise FtiError(
                f"{self!r} cannot return the key or event-time column(s) {clash}: it selects "
                "another group's column(s) of that name; give that join a prefix="
            )

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

    @property
    def vector_names(self) -> list[str]:
        """The columns of an online feature vector, in the view's order: the features and
        the primary-key and event-time columns the query selects (no labels or helper
        columns), as Hopsworks returns them. A model reads :attr:`feature_names` of them."""
        identity = {"feature", "primary_key", "event_time"}
        return [f["name"] for f in self._record.features if f["role"] in identity]

    def _root_time(self) -> FeatureRef | None:
        group = self.query.group
        if group.event_time is None:
            return None
        return FeatureRef(group.name, group.version, group.event_time)

    def _rows(self, spec: Spec, commits: dict[str, int]) -> pa.Table:
        condition = spec.row_filter(self._root_time())
        query = self.query.with_keys()  # a time split reads the root's event time
        query = query if condition is None else query.filter(condition)
        time = self._identity()[1]
        if spec.split.kind == "time" and time is not None:
            self._refuse_clashes([time])
        return query.to_arrow(commits)

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

    # -- lifecycle --------------------------------------------------------------------------

    def delete(self, force: bool = False) -> None:
        """Delete the view; refused while training datasets depend on it unless ``force``."""
        self._storage.catalog.delete_feature_view(self.id, force=force)
