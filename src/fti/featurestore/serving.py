"""The serving plan of a feature view: built once, from the view and a training dataset.

A :class:`ServingPlan` (:mod:`fti.featurestore.vector`) holds everything a feature vector
needs that does not depend on the request, and cannot be changed once built. Whoever serves
builds and keeps its own with :func:`serving_plan`: a deployment its plan, with its training
dataset, fallback policy and lookup timeout; ``fv.init_serving`` the plan behind
``fv.get_feature_vector`` (the Hopsworks-style API), which is all it keeps on the view.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from fti.featurestore.model_dependent import states_of
from fti.featurestore.vector import MISSING_POLICIES, RETURN_TYPES, FeatureVector, ServingPlan

if TYPE_CHECKING:
    from fti.featurestore.feature_view import FeatureView

__all__ = [
    "MISSING_POLICIES",
    "RETURN_TYPES",
    "FeatureVector",
    "ServingPlan",
    "serving_plan",
]


def serving_plan(
    fv: FeatureView,
    training_dataset_version: int | None = None,
    *,
    missing: str = "error",
    lookup_timeout: float | None = None,
    batch_rows: int | None = None,
    last_known_keys: int | None = None,
    columns: Sequence[str] | None = None,
) -> ServingPlan:
    """A new plan for ``fv``'s online vectors, with the model-dependent state and the
    statistics (for ``missing="impute"``) of ``training_dataset_version``; without one, a
    view with model-dependent transformations serves untransformed vectors only. Reads the
    catalog; changes nothing on ``fv``.

    ``missing`` and ``lookup_timeout`` as for :meth:`fti.FeatureView.init_serving`;
    ``batch_rows``: from how many entities a call takes the column core (below, entity by
    entity); ``last_known_keys``: how many keys per group ``missing="last_known"`` remembers;
    both default to the project's :class:`fti.Settings`; ``columns``: other columns of the
    view than its vectors' (its inference helper columns), untransformed.
    """
    settings = fv._storage.settings
    states = None
    statistics = None
    if training_dataset_version is not None:
        record = fv.get_training_dataset(training_dataset_version)
        statistics = record.statistics
        if fv._pipeline:
            states = states_of(record.transformation_state, record.version)
    return ServingPlan(
        fv,
        fv._pipeline,
        states,
        statistics,
        missing,
        lookup_timeout,
        store=fv._storage.online,
        batch_rows=settings.vector_batch_rows if batch_rows is None else batch_rows,
        last_known_keys=settings.last_known_keys if last_known_keys is None else last_known_keys,
        columns=columns,
    )
