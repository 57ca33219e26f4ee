"""What the feature store's facades ask of the serving layer above it, which it may not import.

Users expect ``fv.deploy()`` and ``fv.read_log()`` on a feature view (as in Hopsworks); the
work is the serving layer's. The project hands the feature store a way to reach that layer
when it opens it, typed by this protocol, so dependencies keep pointing down.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import datetime as dt

    from fti.featurestore.feature_view import FeatureView


class ViewServing(Protocol):
    """Deployments of feature views, and writing and reading their inference log."""

    def deploy_view(
        self,
        fv: FeatureView,
        name: str,
        passed_features: Sequence[str] | None,
        request_parameters: Sequence[str] | None,
        fallback: str | Mapping[str, Any],
        *,
        training_dataset_version: int | None,
        resources: Mapping[str, Any] | None,
        slo: Mapping[str, Any] | None,
        untransformed: bool,
    ) -> Any: ...

    def read_log(
        self,
        fv: FeatureView,
        start_time: dt.datetime | str | None,
        end_time: dt.datetime | str | None,
        model_version: int | None,
        dataframe_type: str,
        *,
        labels: Any,
        on: Sequence[str],
        transformed: bool = False,
        model_name: str | None = None,
        **hopsworks: Any,
    ) -> Any: ...

    def log_view(self, fv: FeatureView, untransformed: Any, **rows: Any) -> list[str]: ...


# Called when a facade needs serving: opening a project does not load the serving layer.
ServingFactory = Callable[[], ViewServing]
