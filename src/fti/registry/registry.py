"""The model registry of a project: ``mr = project.get_model_registry()``."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from fti.catalog import AliasMove
from fti.errors import AlreadyExistsError, FtiError, ModelNotFound
from fti.registry.context import RegistryContext
from fti.registry.flavors import FLAVORS
from fti.registry.model import Model, _example_columns, _jsonable, check_example
from fti.registry.model_schema import normalize, of_view

if TYPE_CHECKING:
    from fti.featurestore import FeatureView

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_\-]{0,127}$")


class FlavorApi:
    """``mr.sklearn`` and friends: create model versions of one flavor."""

    def __init__(self, registry: ModelRegistry, flavor: str) -> None:
        self._registry = registry
        self.flavor = flavor

    def create_model(
        self,
        name: str,
        version: int | None = None,
        metrics: Mapping[str, float] | None = None,
        description: str = "",
        input_example: Any = None,
        model_schema: Mapping[str, Any] | None = None,
        feature_view: FeatureView | None = None,
        training_dataset_version: int | None = None,
        tags: Mapping[str, Any] | None = None,
    ) -> Model:
        """A new version of model ``name`` (the next one unless ``version`` is given), saved
        with :meth:`Model.save`. With a ``feature_view`` the training-dataset version defaults
        to the last one that view created in this process, and the schema is inferred."""
        registry = self._registry
        if not isinstance(name, str) or not _NAME.match(name):
            raise FtiError(f"invalid model name {name!r}: letters, digits, '_' and '-'")
        if version is not None:
            if not isinstance(version, int) or isinstance(version, bool) or version < 1:
                raise FtiError(f"version must be a positive integer, got {version!r}")
            # Fails early, before any upload; the same error as losing the race to register
            # it (the catalog's unique constraint), whichever comes first.
            if registry._catalog.model_version_exists(name, version):
                raise AlreadyExistsError(f"model {name!r} version {version} already exists")
        metrics = dict(metrics or {})
        for key, value in metrics.items():
            if not isinstance(value, int | float) or isinstance(value, bool):
                raise FtiError(f"metric {key!r} must be a number, got {value!r}")
        draft: dict[str, Any] = {
            "metrics": metrics,
            "description": description,
            "tags": dict(tags or {}),
            "input_example": _jsonable(input_example),
            "model_schema": normalize(model_schema) if model_schema is not None else None,
        }
        if feature_view is not None:
            td = training_dataset_version or feature_view.last_training_dataset_version
            if td is None:
                raise FtiError(
                    f"{feature_view!r} created no training dataset in this process: pass "
                    "training_dataset_version="
                )
            feature_view.get_training_dataset(td)  # must exist
            draft["feature_view_id"] = feature_view.id
            draft["training_dataset_version"] = td
            columns = _example_columns(input_example)
            draft["model_schema"] = of_view(feature_view, td, model_schema, columns)
            check_example(input_example, draft["model_schema"])
        elif training_dataset_version is not None:
            raise FtiError("training_dataset_version needs the feature_view it belongs to")
        return Model(registry, self.flavor, name, version=version, draft=draft)


class ModelRegistry:
    """Models and their versions, aliases and lineage; artifacts in the project's store."""

    def __init__(self, context: RegistryContext, require_approval: Sequence[str] = ()) -> None:
        self._context = context
        self._catalog = context.catalog
        self._client = context.client
        self.require_approval = list(require_approval)
        for flavor in FLAVORS:
            setattr(self, flavor, FlavorApi(self, flavor))

    # typed accessors (set in __init__ for every flavor)
    python: FlavorApi
    sklearn: FlavorApi
    xgboost: FlavorApi
    lightgbm: FlavorApi
    onnx: FlavorApi
    torch: FlavorApi

    def _model(self, record: Any) -> Model:
        return Model(self, record.flavor, record.name, record=record)

    def get_model_by_id(self, model_version_id: int) -> Model:
        """The model version with this catalog id (what a deployment records)."""
        return self._model(self._catalog.get_model_version_by_id(model_version_id))

    def get_model(self, name: str, version: int | None = None, alias: str | None = None) -> Model:
        """A version by number, by alias, or the latest."""
        if version is not None and alias is not None:
            raise FtiError("give version or alias, not both")
        if alias is not None:
            aliases = self._catalog.model_aliases(name)
            if alias not in aliases:
                raise ModelNotFound(
                    f"model {name!r} has no alias {alias!r}; aliases: {sorted(aliases)}"
                )
            version = aliases[alias]
        return self._model(self._catalog.get_model_version(name, version))

    def get_models(self, name: str) -> list[Model]:
        """Every version of ``name``, oldest first."""
        records = self._catalog.list_model_versions(name)
        if not records:
            raise ModelNotFound(f"model {name!r} does not exist")
        return [self._model(r) for r in records]

    def list_models(self) -> list[Model]:
        """Every version of every model."""
        return [self._model(r) for r in self._catalog.list_model_versions()]

    def get_best_model(self, name: str, metric: str, direction: str = "max") -> Model:
        """The version with the highest (``"max"``) or lowest (``"min"``) value of ``metric``."""
        if direction not in ("max", "min"):
            raise FtiError(f"direction must be 'max' or 'min', got {direction!r}")
        scored = [m for m in self.get_models(name) if metric in m.metrics]
        if not scored:
            raise ModelNotFound(f"no version of model {name!r} records metric {metric!r}")
        pick = max if direction == "max" else min
        return pick(scored, key=lambda m: (m.metrics[metric], m.version or 0))

    def set_alias(
        self, name: str, version: int, alias: str, approved_by: str | None = None
    ) -> None:
        """Move ``alias`` to ``version``; aliases listed in ``require_approval`` need an
        ``approved_by``. Every move is kept (:meth:`alias_history`)."""
        if not isinstance(alias, str) or not _NAME.match(alias) or alias.isdigit():
            raise FtiError(f"invalid alias {alias!r}")
        if alias in self.require_approval and not approved_by:
            raise FtiError(f"moving {alias!r} needs an approver: set_alias(..., approved_by=...)")
        self._catalog.set_model_alias(name, alias, version, self._client, approved_by)

    def delete_alias(self, name: str, alias: str) -> None:
        self._catalog.set_model_alias(name, alias, None, self._client, None)

    def alias_history(self, name: str, alias: str | None = None) -> list[AliasMove]:
        return self._catalog.model_alias_history(name, alias)
