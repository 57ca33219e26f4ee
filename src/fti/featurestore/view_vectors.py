"""Online feature vectors of a feature view, the Hopsworks-style API over a serving plan
(:mod:`fti.featurestore.vector`) the view keeps. Mixed into :class:`fti.FeatureView`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

from fti.catalog import FeatureViewRecord, TrainingDatasetRecord
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
        view = cast("FeatureView", self)  # this mixin is only ever a FeatureView
        self._serving = serving_plan(view, version, missing=missing, lookup_timeout=lookup_timeout)
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
