"""Online feature vectors of a feature view, the Hopsworks-style API over a serving plan
(:mod:`fti.featurestore.vector`) the view keeps. Mixed into :class:`fti.FeatureView`."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

from fti import _compat
from fti.catalog import FeatureViewRecord, TrainingDatasetRecord
from fti.errors import FtiError
from fti.featurestore.filters import FeatureRef
from fti.featurestore.serving import ServingPlan, serving_plan

if TYPE_CHECKING:
    from fti.featurestore.feature_view import FeatureView
    from fti.featurestore.query import Query
    from fti.featurestore.storage import Storage
    from fti.transform import Pipeline


class ViewVectors:
    """Online vectors of :class:`fti.FeatureView` (which supplies the rest)."""

    if TYPE_CHECKING:
        _serving: ServingPlan | None
        _serving_args: tuple[int | None, float | None]
        _serving_any: ServingPlan | None  # allow_missing's, when the view's raises
        _helpers: dict[str, ServingPlan]  # of the inference helper columns, by missing policy
        _scoring: tuple[int, list[Any]] | None
        _last_training_dataset_version: int | None
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

        def init_batch_scoring(self, training_dataset_version: int) -> None: ...

    # -- online feature vectors ---------------------------------------------------------------

    def init_serving(
        self,
        training_dataset_version: int | None = None,
        *,
        missing: str = "error",
        lookup_timeout: float | None = None,
        **hopsworks: Any,
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
        builds its own (:func:`fti.featurestore.serving.serving_plan`). Without a version, a
        view with model-dependent transformations serves those of the training dataset it
        created last here, else version 1 (as Hopsworks), and says so; Hopsworks' client
        options (``external``, ``init_rest_client``, ...) are ignored with a warning.
        """
        _compat.ignore(hopsworks, _INIT_SERVING, "init_serving")
        version = training_dataset_version
        if version is None and self._scoring is not None:  # the state batch scoring was given
            version = self._scoring[0]
        if version is None and self._pipeline:
            version = self._default_version()
        if version is not None:
            self.init_batch_scoring(version)
        view = cast("FeatureView", self)  # this mixin is only ever a FeatureView
        self._serving = serving_plan(view, version, missing=missing, lookup_timeout=lookup_timeout)
        self._serving_args = (version, lookup_timeout)
        self._serving_any = None
        return self._serving

    def _default_version(self) -> int | None:
        """The training dataset whose state serves when ``init_serving`` names none: the one
        created last here, else the only one; among several, version 1 (as Hopsworks), said."""
        if self._last_training_dataset_version is not None:
            return self._last_training_dataset_version
        versions = [td.version for td in self._storage.catalog.list_training_datasets(self.id)]
        if len(versions) <= 1:
            return versions[0] if versions else None  # none: transformed vectors raise
        warnings.warn(
            f"init_serving: no training_dataset_version given and {self!r} has training "
            f"datasets {sorted(versions)}: its transformations serve with the state of version "
            "1 (as Hopsworks); pass training_dataset_version= to choose",
            UserWarning,
            stacklevel=3,
        )
        return 1

    def _allowing_missing(self) -> ServingPlan:
        """The plan of ``allow_missing=True``: the view's, with missing values as nulls."""
        plan = self._plan()
        if plan.missing != "error":
            return plan
        if self._serving_any is None:
            version, timeout = self._serving_args
            view = cast("FeatureView", self)
            self._serving_any = serving_plan(view, version, missing="null", lookup_timeout=timeout)
        return self._serving_any

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
        serving_keys: Mapping[str, Any] | None = None,
        passed_features: Mapping[str, Any] | None = None,
        request_parameters: Mapping[str, Any] | None = None,
        return_type: str = "list",
        transform: bool = True,
        details: bool = False,
        *,
        allow_missing: bool = False,
        entry: Mapping[str, Any] | None = None,
        **hopsworks: Any,
    ) -> Any:
        """The features of one entity from the online store, transformed as in training.

        ``return_type``: ``"list"`` (the view's order), ``"dict"``, ``"numpy"``, ``"pandas"``
        or ``"polars"``. ``passed_features`` override looked-up values;
        ``request_parameters`` feed on-demand transformations. ``details=True`` returns a
        :class:`FeatureVector` with the untransformed values and what was imputed.
        ``allow_missing=True``: a key without an online row gets nulls instead of raising
        (as Hopsworks); ``entry`` is Hopsworks' deprecated name of ``serving_keys``; its
        client options (``external``, ``force_rest_client``, ...) are ignored with a warning.
        """
        if entry is not None or allow_missing or hopsworks or serving_keys is None:
            keys = _serving_keys(serving_keys, entry)
            _compat.ignore(hopsworks, _VECTOR, "get_feature_vector")
            plan = self._allowing_missing() if allow_missing else self._plan()
            return plan.get_feature_vector(
                keys, passed_features, request_parameters, return_type, transform, details
            )
        return (self._serving or self._plan()).get_feature_vector(
            serving_keys, passed_features, request_parameters, return_type, transform, details
        )

    def get_feature_vectors(
        self,
        serving_keys: Sequence[Mapping[str, Any]] | None = None,
        passed_features: Sequence[Mapping[str, Any] | None] | None = None,
        request_parameters: Sequence[Mapping[str, Any] | None] | None = None,
        return_type: str = "list",
        transform: bool = True,
        details: bool = False,
        timings: dict[str, float] | None = None,
        *,
        allow_missing: bool = False,
        entry: Sequence[Mapping[str, Any]] | None = None,
        **hopsworks: Any,
    ) -> Any:
        """Feature vectors of many entities in one online round trip (lists aligned with
        ``serving_keys``); a list of vectors, or one DataFrame / 2-D array. With
        ``details=True`` a list of :class:`FeatureVector` (each vector a list, or a dict).
        ``allow_missing``, ``entry`` and Hopsworks' client options as for
        :meth:`get_feature_vector`."""
        keys = _serving_keys(serving_keys, entry)
        _compat.ignore(hopsworks, _VECTOR, "get_feature_vectors")
        plan = self._allowing_missing() if allow_missing else self._plan()
        return plan.get_feature_vectors(
            keys,
            passed_features,
            request_parameters,
            return_type,
            transform,
            details,
            timings,
        )

    # -- inference helper columns -------------------------------------------------------------

    def get_inference_helper(
        self,
        serving_keys: Mapping[str, Any] | None = None,
        return_type: str = "pandas",
        *,
        allow_missing: bool = False,
        entry: Mapping[str, Any] | None = None,
        **hopsworks: Any,
    ) -> Any:
        """The view's inference helper columns of one entity, from the online store (a
        one-row pandas DataFrame, or ``return_type="dict"`` / ``"polars"``), as Hopsworks:
        values a caller needs around a prediction that the model does not read."""
        keys = _serving_keys(serving_keys, entry)
        _compat.ignore(hopsworks, _VECTOR, "get_inference_helper")
        plan = self._helper_plan(allow_missing)
        found = plan.get_feature_vectors([keys], return_type=return_type, transform=False)
        return found[0] if return_type == "dict" else found

    def get_inference_helpers(
        self,
        serving_keys: Sequence[Mapping[str, Any]] | None = None,
        return_type: str = "pandas",
        *,
        allow_missing: bool = False,
        entry: Sequence[Mapping[str, Any]] | None = None,
        **hopsworks: Any,
    ) -> Any:
        """:meth:`get_inference_helper` of many entities in one online round trip (a
        DataFrame, or a list of dicts)."""
        keys = _serving_keys(serving_keys, entry)
        _compat.ignore(hopsworks, _VECTOR, "get_inference_helpers")
        plan = self._helper_plan(allow_missing)
        return plan.get_feature_vectors(keys, return_type=return_type, transform=False)

    def _helper_plan(self, allow_missing: bool) -> ServingPlan:
        helpers = self._record.inference_helper_columns
        if not helpers:
            raise FtiError(f"{self!r} has no inference helper columns (inference_helper_columns=)")
        missing = "null" if allow_missing else "error"
        if missing not in self._helpers:
            view = cast("FeatureView", self)
            self._helpers[missing] = serving_plan(view, missing=missing, columns=helpers)
        return self._helpers[missing]


def _serving_keys(serving_keys: Any, entry: Any) -> Any:
    if entry is None:
        if serving_keys is None:
            raise FtiError("give the serving keys (serving_keys=)")
        return serving_keys
    if serving_keys is not None:
        raise FtiError("give serving_keys or its deprecated name entry, not both")
    warnings.warn(
        "entry= is deprecated (in Hopsworks too): pass serving_keys=",
        DeprecationWarning,
        stacklevel=4,
    )
    return entry


_CLIENT = "fti reads the online store in this process: there is no REST or SQL client"
_INIT_SERVING = dict.fromkeys(
    ("external", "options", "init_sql_client", "init_rest_client", "reset_rest_client",
     "config_rest_client", "default_client"), _CLIENT,
) | {
    "n_processes": "fti's transformations run in this process",
    "feature_logger": "a deployment logs its own requests; fv.log() logs the others",
}  # fmt: skip
_VECTOR = dict.fromkeys(
    ("external", "force_rest_client", "force_sql_client", "timeout"), _CLIENT
) | {
    "on_demand_features": "on-demand features are always computed",
    "transformation_context": "fti's transformations take no context",
    "logging_data": "a deployment logs its own requests",
    "n_processes": "fti's transformations run in this process",
}
