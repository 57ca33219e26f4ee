"""What the model registry and its models need of their project, handed to them when the
project opens the registry: the one internal interface between them, with no pointer back to
the project. The serving layer above is reached through a factory, for the facade users
expect on a model (``model.deploy``), so the registry never imports it."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from fti.catalog import Catalog
    from fti.featurestore import FeatureStore, FeatureView
    from fti.registry.artifacts import ArtifactStore
    from fti.registry.model import Model


class ModelDeployments(Protocol):
    """What ``model.deploy`` asks of the serving layer."""

    def create_deployment(
        self,
        fv: FeatureView,
        model: Model | None,
        name: str,
        passed_features: Sequence[str] | None,
        request_parameters: Sequence[str] | None,
        fallback: str | Mapping[str, Any],
        predictor_class: type | None = None,
        *,
        resources: Mapping[str, Any] | None = None,
        slo: Mapping[str, Any] | None = None,
    ) -> Any: ...  # a fti.Deployment (serving, above the registry, is not imported)


@dataclass(frozen=True)
class RegistryContext:
    catalog: Catalog
    store: ArtifactStore  # the artifacts of every model version
    client: str  # who writes, as recorded with each version
    feature_store: FeatureStore  # a model's feature view and training data
    deployments: Callable[[], ModelDeployments]  # opened on first use
