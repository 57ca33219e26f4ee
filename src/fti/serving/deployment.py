"""Deployments: a model (or a feature view) behind a published request contract.

A deployment turns a request instance — serving keys, passed features, request parameters —
into a prediction: feature vector (online lookup, on-demand and model-dependent
transformations, :mod:`fti.featurestore.serving`), the model, an inference-log row. Its
``schema`` is the contract clients code against; the model behind it can change without the
contract changing (``schema_version`` moves only when the fields do).

Every ``deploy`` call records a new deployment version. ``start()`` loads the model (checked
against its sha256) and the feature view with the model's training-dataset state; ``predict``
runs in-process on the same code path the HTTP server uses.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from fti.catalog import DeploymentRecord
from fti.errors import FtiError, InvalidDataError
from fti.serving import contract, predictor
from fti.serving.inference_log import InferenceLogger, log_group, row
from fti.serving.predictor import PredictorContext, PredictorInputs

if TYPE_CHECKING:
    from fti.featurestore import FeatureView
    from fti.project import Project
    from fti.registry import Model

FALLBACKS = ("error", "impute", "null", "last_known")


class Deployment:
    """One deployment version; ``start()`` it to predict."""

    def __init__(self, serving: ModelServing, record: DeploymentRecord) -> None:
        self._serving = serving
        self._record = record
        self._predictor: Any = None
        self._feature_names: list[Any] = []
        self._model_version: Model | None = None
        self._fv: FeatureView | None = None
        self._logger: InferenceLogger | None = None

    name = property(lambda self: self._record.name)
    version = property(lambda self: self._record.version)
    schema = property(lambda self: dict(self._record.schema))
    schema_version = property(lambda self: self._record.schema_version)
    fallback = property(lambda self: self._record.fallback["missing"])

    @property
    def model(self) -> Model | None:
        """The model version behind the deployment (None for a feature-view deployment)."""
        if self._record.model_version_id is None:
            return None
        registry = self._serving._project.get_model_registry()
        record = registry._catalog.get_model_version_by_id(self._record.model_version_id)
        return registry._model(record)

    @property
    def running(self) -> bool:
        return self._fv is not None

    def __repr__(self) -> str:
        return f"Deployment(name={self.name!r}, version={self.version})"

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> Deployment:
        """Load the model and the feature view (serving state of the training dataset)."""
        if self.running:
            return self
        catalog = self._serving._project._catalog
        fs = self._serving._project.get_feature_store()
        if self._record.feature_view_id is None:
            raise FtiError(f"{self!r} has no feature view to read features from")
        view = catalog.get_feature_view_by_id(self._record.feature_view_id)
        fv = fs.get_feature_view(view.name, view.version)
        fv.init_serving(self._record.training_dataset_version, missing=self.fallback)
        model = self.model
        loaded = model.load() if model is not None else None
        self._model_version = model
        context = PredictorContext(
            loaded, fv, self.name, self.version, model.version if model else None
        )
        self._predictor = predictor.build(self._record.predictor)(context)
        self._logger = InferenceLogger(log_group(fs, fv))
        self._feature_names = list(fv.serving_schema["features"])
        self._fv = fv
        return self

    def stop(self) -> None:
        """Stop serving; queued log rows are written first."""
        if self._logger is not None:
            self._logger.close()
        self._fv = None
        self._logger = None
        self._predictor = None

    def flush_log(self) -> None:
        """Wait until every prediction so far is in the inference log."""
        if self._logger is not None:
            self._logger.flush()

    # -- predicting -------------------------------------------------------------------------

    def predict(
        self, inputs: Mapping[str, Any] | None = None, *, instances: Sequence[Any] | None = None
    ) -> dict[str, Any]:
        """One instance (``inputs``) or a batch (``instances``): the prediction(s) with the
        request id(s), model and deployment versions and per-step timings in milliseconds."""
        if self._fv is None:
            raise FtiError(f"{self!r} is not started: call deployment.start()")
        if (inputs is None) == (instances is None):
            raise InvalidDataError("give one instance (inputs=) or a batch (instances=)")
        batch = [inputs] if inputs is not None else list(instances or [])
        if not batch:
            raise InvalidDataError("instances is empty")
        start = time.perf_counter()
        parts = [contract.split(instance, self._record.schema) for instance in batch]
        steps: dict[str, float] = {}
        vectors = self._fv.get_feature_vectors(
            [k for k, _, _ in parts],
            [p for _, p, _ in parts],
            [r for _, _, r in parts],
            details=True,
            timings=steps,
        )
        features = time.perf_counter()
        matrix = [v.vector for v in vectors]
        given = PredictorInputs(
            matrix,
            [f["name"] for f in self._feature_names],
            [v.untransformed for v in vectors],
            [dict(i) for i in batch],
        )
        outputs = list(self._predictor.predict(given))
        if len(outputs) != len(batch):
            raise FtiError(f"the predictor returned {len(outputs)} predictions for {len(batch)}")
        predicted = time.perf_counter()
        ids = [uuid.uuid4().hex for _ in batch]
        degraded = [bool(v.missing or v.reason) for v in vectors]
        latency = (predicted - start) * 1000 / len(batch)
        model = self._model_version
        assert self._logger is not None
        for i, (keys, _, _) in enumerate(parts):
            self._logger.log(
                row(
                    request_id=ids[i],
                    deployment=self.name,
                    deployment_version=self.version,
                    model_name=model.name if model else "",
                    model_version=model.version if model else None,
                    serving_keys=keys,
                    untransformed=vectors[i].untransformed,
                    transformed=matrix[i],
                    prediction=outputs[i],
                    latency_ms=latency,
                    degraded=degraded[i],
                    reason=vectors[i].reason
                    or (f"no online row in {vectors[i].missing}" if degraded[i] else None),
                )
            )
        logged = time.perf_counter()
        timings = {
            **steps,  # feature_lookup, on_demand, model_dependent
            "feature_vector": (features - start) * 1000,
            "predict": (predicted - features) * 1000,
            "log_enqueue": (logged - predicted) * 1000,
            "total": (logged - start) * 1000,
        }
        meta = {
            "deployment": self.name,
            "deployment_version": self.version,
            "model_version": model.version if model else None,
            "timings_ms": timings,
        }
        if inputs is not None:
            return {
                "prediction": outputs[0],
                "request_id": ids[0],
                "degraded": degraded[0],
                **meta,
            }
        return {"predictions": outputs, "request_ids": ids, "degraded": degraded, **meta}


class ModelServing:
    """Deployments of a project: ``ms = project.get_model_serving()``."""

    def __init__(self, project: Project) -> None:
        self._project = project

    def get_deployment(self, name: str, version: int | None = None) -> Deployment:
        """A deployment version (the latest by default)."""
        return Deployment(self, self._project._catalog.get_deployment(name, version))

    def get_deployments(self) -> list[Deployment]:
        """The latest version of every deployment."""
        latest: dict[str, DeploymentRecord] = {}
        for record in self._project._catalog.list_deployments():
            latest[record.name] = record
        return [Deployment(self, r) for r in latest.values()]

    def delete_deployment(self, name: str) -> None:
        """Delete every version of deployment ``name`` (stop running ones first); the models
        it served can be deleted afterwards, its inference log stays."""
        self._project._catalog.delete_deployment(name)

    def create_deployment(
        self,
        fv: FeatureView,
        model: Model | None,
        name: str,
        passed_features: Sequence[str] | None,
        request_parameters: Sequence[str] | None,
        fallback: str,
        predictor_class: type | None = None,
    ) -> Deployment:
        """Record a new deployment version (see ``Model.deploy`` / ``FeatureView.deploy``)."""
        if fallback not in FALLBACKS:
            raise FtiError(f"fallback must be one of {list(FALLBACKS)}, got {fallback!r}")
        td = model.training_dataset_version if model else fv.last_training_dataset_version
        fv.init_serving(td, missing=fallback)
        serving = fv.serving_schema
        required_passed = [f["name"] for f in serving["required_passed_features"]]
        passed = list(passed_features) if passed_features is not None else required_passed
        allowed = [f["name"] for f in serving["passed_features"]]
        unknown = [n for n in passed if n not in allowed]
        if unknown:
            raise FtiError(f"passed feature(s) {unknown} are not features of {fv!r}: {allowed}")
        absent = [n for n in required_passed if n not in passed]
        if absent:
            raise FtiError(f"passed_features must include {absent}: their groups are not online")
        required_params = list(serving["required_request_parameters"])
        params = list(request_parameters) if request_parameters is not None else required_params
        allowed = [f["name"] for f in serving["request_parameters"]]
        unknown = [n for n in params if n not in allowed]
        if unknown:
            raise FtiError(
                f"request parameter(s) {unknown} are not read by any on-demand "
                f"transformation of {fv!r}: {allowed}"
            )
        absent = [n for n in required_params if n not in params]
        if absent:
            raise FtiError(f"request_parameters must include {absent}")
        if model is not None:
            schema = model.model_schema or {}
            outputs = [{"name": "prediction", "type": o["type"]} for o in schema.get("outputs", [])]
        else:
            outputs = [{"name": f["name"], "type": f["type"]} for f in serving["features"]]
        published = contract.contract(serving, passed, params, outputs)
        catalog = self._project._catalog
        previous = catalog.list_deployments(name)
        schema_version = 1
        if previous:
            last = previous[-1]
            schema_version = last.schema_version + (last.schema != published)
        record = catalog.create_deployment(
            name,
            {
                "model_version_id": model._record.id if model and model._record else None,
                "feature_view_id": fv.id,
                "training_dataset_version": td,
                "passed_features": passed,
                "request_parameters": params,
                "predictor": None
                if predictor_class is None
                else predictor.reference(predictor_class),
                "fallback": {"missing": fallback},
                "schema": published,
                "schema_version": schema_version,
            },
            self._project._client,
        )
        return Deployment(self, record)
