"""Deployments: a model (or a feature view) behind a published request contract.

A deployment turns a request instance — serving keys, passed features, request parameters —
into a prediction: feature vector (online lookup, on-demand and model-dependent
transformations, :mod:`fti.featurestore.serving`), the model, an inference-log row. Its
``schema`` is the contract clients code against; the model behind it can change without the
contract changing (``schema_version`` moves only when the fields do).

Every ``deploy`` call records a new deployment version. ``start()`` loads the model (checked
against its sha256) and the feature view with the model's training-dataset state; ``predict``
runs in-process on the same code path the HTTP server uses. Options outside the contract
(resources, fallback, SLO) are parsed in :mod:`fti.serving.options`.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fti.catalog import Catalog, DeploymentRecord
from fti.config import ProjectLocation
from fti.errors import FeatureVectorNotFound, FtiError, InvalidDataError
from fti.featurestore.serving import serving_plan
from fti.serving import code, contract, log_reader, log_writes, options, predictor, states
from fti.serving.inference_log import InferenceLogger, log_group, row
from fti.serving.log_process import LogProcess
from fti.serving.names import check_deployment_name
from fti.serving.predictor import ModelColumns, PredictorContext, PredictorInputs
from fti.settings import Settings

if TYPE_CHECKING:
    from fti.featurestore import FeatureStore, FeatureView
    from fti.featurestore.serving import FeatureVector, ServingPlan
    from fti.registry import Model, ModelRegistry

log = logging.getLogger("fti.serving")


@dataclass
class _FallbackModel:
    """The loaded fallback model version of a started deployment."""

    model: Model
    predictor: Any
    # its training dataset's transformations, when they differ from the deployed model's
    plan: ServingPlan | None
    columns: ModelColumns


class Deployment(states.RecordedState):
    """One deployment version; ``start()`` it to predict."""

    _serving: ModelServing

    def __init__(self, serving: ModelServing, record: DeploymentRecord) -> None:
        self._serving = serving
        self._record = record
        self._predictor: Any = None
        self._columns: ModelColumns | None = None
        self._model_version: Model | None = None
        self._plan: ServingPlan | None = None  # set by start()
        self._logger: InferenceLogger | None = None
        self._fallback: _FallbackModel | None = None
        # a feature-view deployment asked for the untransformed features in its answers
        self._untransformed = "untransformed" in record.schema["output"]["properties"]
        self._max_batch = options.RESOURCE_DEFAULTS["max_batch"]

    name = property(lambda self: self._record.name)
    version = property(lambda self: self._record.version)
    schema = property(lambda self: dict(self._record.schema))
    schema_version = property(lambda self: self._record.schema_version)

    @property
    def missing(self) -> str:
        """The missing-values policy: what a serving key without an online row, or a failed
        online store, gets ("error", "impute", "null" or "last_known")."""
        return str(self._record.fallback["missing"])

    @property
    def fallback(self) -> str:
        """Deprecated: the old name of :attr:`missing` (the fallback model is
        :attr:`fallback_model`)."""
        warnings.warn(
            "Deployment.fallback is deprecated: read Deployment.missing (the missing-values "
            "policy); the fallback model is Deployment.fallback_model",
            DeprecationWarning,
            stacklevel=2,
        )
        return self.missing

    @property
    def lookup_timeout_ms(self) -> float | None:
        """How long an online lookup may take before the fallback answers, as deployed
        (None: :data:`fti.serving.options.LOOKUP_TIMEOUT_MS`)."""
        timeout = self._record.fallback.get("lookup_timeout_ms")
        return None if timeout is None else float(timeout)

    @property
    def lookup_failure(self) -> str | None:
        """Why the last online lookup failed, None when it answered (or none ran)."""
        return None if self._plan is None else self._plan.failure

    def probe_lookup(self) -> None:
        """One lookup outside any request, to learn whether the store answers again. Once
        called, requests no longer try a store whose last lookup failed: they answer from
        the fallback at once, until a probe succeeds (a stalled lookup would hold a
        server's event loop for the whole timeout, per request)."""
        if self._plan is not None:
            self._plan.fail_fast = True
            self._plan.probe()

    @property
    def resources(self) -> dict[str, Any]:
        """``model_threads``, ``max_batch``, ``log_queue``, ``log_flush_seconds`` and
        ``runtime``, defaults filled in (see :mod:`fti.serving.options`)."""
        return options.resources_of(self._record.resources)

    @property
    def slo(self) -> dict[str, float] | None:
        """``p99_ms`` and/or ``availability`` targets, or None."""
        return None if self._record.slo is None else dict(self._record.slo)

    @property
    def model(self) -> Model | None:
        """The model version behind the deployment (None for a feature-view deployment)."""
        return self._model_by_id(self._record.model_version_id)

    @property
    def fallback_model(self) -> Model | None:
        """The model version that answers when :attr:`model` raises (None: the error
        stands)."""
        return self._model_by_id(self._record.fallback_model_version_id)

    def _model_by_id(self, model_version_id: int | None) -> Model | None:
        if model_version_id is None:
            return None
        return self._serving.registry.get_model_by_id(model_version_id)

    @property
    def running(self) -> bool:
        return self._plan is not None

    def __repr__(self) -> str:
        return f"Deployment(name={self.name!r}, version={self.version})"

    # -- lifecycle --------------------------------------------------------------------------

    def start(
        self, *, log_process: bool = False, log_observer: Callable[..., None] | None = None
    ) -> Deployment:
        """Load the model and the feature view (serving state of the training dataset).

        ``log_process``: commit the inference log from a separate lower-priority process
        (:mod:`fti.serving.log_process`; what ``fti serve`` does) instead of a thread.
        ``log_observer``: told the log's state after each batch (see
        :attr:`fti.serving.inference_log.InferenceLogger.observer`)."""
        if self.running:
            return self
        catalog = self._serving.catalog
        fs = self._serving.feature_store
        if self._record.feature_view_id is None:
            raise FtiError(f"{self!r} has no feature view to read features from")
        trusted = fs.trusted_code
        if trusted is not None:  # one error naming every refused piece, before any is run
            trusted.check(code.needed(self))
        view = catalog.get_feature_view_by_id(self._record.feature_view_id)
        fv = fs.get_feature_view(view.name, view.version)
        plan = fv.init_serving(  # the deployment's own view (a predictor's context)
            self._record.training_dataset_version,
            missing=self.missing,
            lookup_timeout=(self.lookup_timeout_ms or options.LOOKUP_TIMEOUT_MS) / 1000,
        )
        model = self.model
        loaded = model.load() if model is not None else None
        self._model_version = model
        resources = self.resources
        context = PredictorContext(
            loaded,
            fv,
            self.name,
            self.version,
            model.version if model else None,
            resources,
            self._record.schema["output"],
        )
        predictor_class = predictor.build(self._record.predictor, trusted)
        self._predictor = predictor_class(context)
        self._fallback = self._load_fallback(predictor_class, fv, plan)
        self._max_batch = resources["max_batch"]
        group = log_group(fs, fv)
        serving = self._serving
        sink = (
            LogProcess(serving.location, serving.client, serving.settings, group)
            if log_process
            else None
        )
        self._logger = InferenceLogger(
            group,
            serving.location.home,
            compact_every=serving.settings.log_compact_every,
            max_queue=resources["log_queue"],
            flush_seconds=resources["log_flush_seconds"],
            sink=sink,
            observer=log_observer,
        )
        self._columns = ModelColumns(model, plan.names, fv)
        self._plan = plan
        return self

    def _load_fallback(
        self, predictor_class: type, fv: FeatureView, deployed: ServingPlan
    ) -> _FallbackModel | None:
        """The fallback model with the same predictor class; fed through its own training
        dataset's transformations when they are not the deployed model's."""
        model = self.fallback_model
        if model is None:
            return None
        plan = None
        served = fv
        if model.training_dataset_version != self._record.training_dataset_version:
            served = model.get_feature_view(init=False)
            # only its transformations are used: nothing is looked up or imputed through it
            plan = served.init_serving(model.training_dataset_version, missing="null")
        context = PredictorContext(
            model.load(),
            served,
            self.name,
            self.version,
            model.version,
            self.resources,
            self._record.schema["output"],
        )
        columns = ModelColumns(model, (plan or deployed).names, served)
        return _FallbackModel(model, predictor_class(context), plan, columns)

    def stop(self) -> None:
        """Stop serving; queued log rows are written first."""
        if self._logger is not None:
            self._logger.close()
        self._plan = None
        self._logger = None
        self._predictor = None
        self._fallback = None

    def flush_log(self) -> None:
        """Wait until every prediction so far is in the inference log."""
        if self._logger is not None:
            self._logger.flush()

    # -- predicting -------------------------------------------------------------------------
    # One request's path, top to bottom: predict() calls each step once; the feature vector
    # step is the feature view's (lookup, on-demand, model-dependent, timed there per step).

    def predict(
        self, inputs: Mapping[str, Any] | None = None, *, instances: Sequence[Any] | None = None
    ) -> dict[str, Any]:
        """One instance (``inputs``) or a batch (``instances``): the prediction(s) with the
        request id(s), model and deployment versions and per-step timings in milliseconds."""
        batch = self._checked_batch(inputs, instances)
        start = time.perf_counter()
        # serving keys, passed features and request parameters of each instance
        parts = [contract.split(instance, self._record.schema) for instance in batch]
        timings: dict[str, float] = {}  # feature_lookup, on_demand, model_dependent first
        vectors = self._feature_vectors(parts, timings)
        features = time.perf_counter()
        outputs, matrix, model, failure = self._predict(vectors, batch)
        predicted = time.perf_counter()
        ids = [uuid.uuid4().hex for _ in batch]
        reasons = [_reason(v, failure) for v in vectors]
        degraded = [r is not None for r in reasons]
        latency = (predicted - start) * 1000 / len(batch)
        self._log(parts, vectors, matrix, outputs, model, ids, reasons, latency)
        logged = time.perf_counter()
        timings["feature_vector"] = (features - start) * 1000
        timings["predict"] = (predicted - features) * 1000
        timings["log_enqueue"] = (logged - predicted) * 1000
        timings["total"] = (logged - start) * 1000
        single = inputs is not None
        return self._answer(single, outputs, ids, reasons, degraded, vectors, model, timings)

    def _checked_batch(
        self, inputs: Mapping[str, Any] | None, instances: Sequence[Any] | None
    ) -> list[Any]:
        """The instances of a request, refused unless started, exactly one form given, not
        empty and within ``max_batch``."""
        if self._plan is None:
            raise FtiError(f"{self!r} is not started: call deployment.start()")
        if (inputs is None) == (instances is None):
            raise InvalidDataError("give one instance (inputs=) or a batch (instances=)")
        batch = [inputs] if inputs is not None else list(instances or [])
        if not batch:
            raise InvalidDataError("instances is empty")
        if len(batch) > self._max_batch:
            raise InvalidDataError(
                f"a batch holds at most {self._max_batch} instances (resources max_batch), "
                f"got {len(batch)}"
            )
        return batch

    def _feature_vectors(
        self, parts: list[tuple[Any, Any, Any]], timings: dict[str, float]
    ) -> list[FeatureVector]:
        """The feature vectors, in one online round trip: lookup, on-demand transformations,
        model-dependent transformations (each step's milliseconds into ``timings``)."""
        plan = self._plan
        assert plan is not None  # _checked_batch refused a deployment not started
        try:
            vectors: list[FeatureVector] = plan.get_feature_vectors(
                [k for k, _, _ in parts],
                [p for _, p, _ in parts],
                [r for _, _, r in parts],
                details=True,
                timings=timings,
            )
        except FeatureVectorNotFound as exc:
            raise FeatureVectorNotFound(options.without_online_row(str(exc), self.name)) from exc
        return vectors

    def _predict(
        self, vectors: list[FeatureVector], batch: list[Any]
    ) -> tuple[list[Any], list[list[Any]], Model | None, str | None]:
        """The predictions, the vectors they came from, the model version that made them,
        and why it was not the deployed one (None when it was)."""
        columns = self._columns
        assert columns is not None  # started
        raw = [v.vector for v in vectors]
        given = PredictorInputs(
            columns.of(raw),
            list(columns.names),  # a predictor may keep or change its copy
            [v.untransformed for v in vectors],
            [dict(i) for i in batch],
        )
        try:
            return _call(self._predictor, given), given.features, self._model_version, None
        except Exception as exc:
            if self._fallback is None:
                raise
            return self._predict_fallback(self._fallback, given, raw, exc)

    def _predict_fallback(
        self, fallback: _FallbackModel, given: PredictorInputs, raw: list[Any], exc: Exception
    ) -> tuple[list[Any], list[list[Any]], Model | None, str | None]:
        """:meth:`_predict` by the fallback model version, once the deployed one raised."""
        failed = self._model_version.version if self._model_version else None
        # the client only learns the error type; the traceback is for the operator
        log.warning(
            "deployment %s v%s: model version %s raised, fallback version %s answers",
            self.name,
            self.version,
            failed,
            fallback.model.version,
            exc_info=exc,
        )
        if fallback.plan is not None:
            raw = fallback.plan.transform(given.untransformed)
        given = PredictorInputs(
            fallback.columns.of(raw),
            list(fallback.columns.names),
            given.untransformed,
            given.instances,
        )
        outputs = _call(fallback.predictor, given)
        reason = (
            f"model version {failed} raised {type(exc).__name__}; answered by fallback "
            f"model version {fallback.model.version}"
        )
        return outputs, given.features, fallback.model, reason

    def _log(
        self,
        parts: list[tuple[Any, Any, Any]],
        vectors: list[FeatureVector],
        matrix: list[list[Any]],
        outputs: list[Any],
        model: Model | None,
        ids: list[str],
        reasons: list[str | None],
        latency_ms: float,
    ) -> None:
        """One inference-log row per instance, queued (committed later, off the request)."""
        logger = self._logger
        assert logger is not None
        for i, (keys, _, _) in enumerate(parts):
            logger.log(
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
                    latency_ms=latency_ms,
                    degraded=reasons[i] is not None,
                    reason=reasons[i],
                )
            )

    def _answer(
        self,
        single: bool,
        outputs: list[Any],
        ids: list[str],
        reasons: list[str | None],
        degraded: list[bool],
        vectors: list[FeatureVector],
        model: Model | None,
        timings: dict[str, float],
    ) -> dict[str, Any]:
        """One instance's fields (``single``) or a batch's lists, then the versions and the
        timings."""
        if single:
            answer = {
                "prediction": outputs[0],
                "request_id": ids[0],
                "degraded": degraded[0],
                "reason": reasons[0],
            }
            if self._untransformed:
                answer["untransformed"] = vectors[0].untransformed
        else:
            answer = {
                "predictions": outputs,
                "request_ids": ids,
                "degraded": degraded,
                "reasons": reasons,
            }
            if self._untransformed:
                answer["untransformed"] = [v.untransformed for v in vectors]
        answer["deployment"] = self.name
        answer["deployment_version"] = self.version
        answer["model_version"] = model.version if model else None
        answer["timings_ms"] = timings
        return answer


def _call(model_predictor: Any, given: PredictorInputs) -> list[Any]:
    outputs = list(model_predictor.predict(given))
    if len(outputs) != len(given.features):
        raise FtiError(
            f"the predictor returned {len(outputs)} predictions for {len(given.features)}"
        )
    return outputs


def _reason(vector: FeatureVector, failure: str | None) -> str | None:
    """Why an answer is degraded (None when it is not): the lookup's, the model's, or both."""
    lookup = vector.reason or (f"no online row in {vector.missing}" if vector.missing else None)
    if lookup and failure:
        return f"{lookup}; {failure}"
    return lookup or failure


class ModelServing(states.ServingStates):
    """Deployments of a project: ``ms = project.get_model_serving()``."""

    def __init__(
        self,
        catalog: Catalog,
        feature_store: FeatureStore,
        registry: Callable[[], ModelRegistry],
        client: str,
        location: ProjectLocation,
        settings: Settings,
    ) -> None:
        self.catalog = catalog
        self.feature_store = feature_store
        self._registry = registry  # opened on first use, as by the project
        self.client = client
        self.location = location  # how a log process opens the same project
        self.settings = settings

    @property
    def registry(self) -> ModelRegistry:
        return self._registry()

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
    ) -> Deployment:
        """A feature-view deployment (``fv.deploy`` delegates here)."""
        return self.create_deployment(
            fv,
            None,
            name,
            passed_features,
            request_parameters,
            fallback,
            resources=resources,
            slo=slo,
            untransformed=untransformed,
            training_dataset_version=training_dataset_version,
        )

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
    ) -> Any:
        """The view's inference log (``fv.read_log`` delegates here)."""
        return log_reader.read_log(
            self.feature_store,
            fv,
            start_time,
            end_time,
            model_version,
            dataframe_type,
            labels=labels,
            on=on,
            transformed=transformed,
            model_name=model_name,
            inputs=self._model_inputs,
            **hopsworks,
        )

    def log_view(self, fv: FeatureView, untransformed: Any, **rows: Any) -> list[str]:
        """Rows of ``fv.log`` into the view's inference log."""
        return log_writes.log_view(self.feature_store, fv, untransformed, **rows)

    def _model_inputs(self, name: str, version: int) -> list[str]:
        """The input columns of a model version, by name (its schema's)."""
        model = self.registry.get_model(name, version)
        return [c["name"] for c in (model.model_schema or {}).get("inputs", [])]

    def get_deployment(self, name: str, version: int | None = None) -> Deployment:
        """A deployment version (the latest by default)."""
        return Deployment(self, self.catalog.get_deployment(name, version))

    def get_deployments(self) -> list[Deployment]:
        """The latest version of every deployment."""
        latest: dict[str, DeploymentRecord] = {}
        for record in self.catalog.list_deployments():
            latest[record.name] = record
        return [Deployment(self, r) for r in latest.values()]

    def delete_deployment(self, name: str) -> None:
        """Delete every version of deployment ``name`` and its state (servers then answer it
        404); the models it served can be deleted afterwards, its inference log stays."""
        self.catalog.delete_deployment(name)

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
        untransformed: bool = False,
        training_dataset_version: int | None = None,
    ) -> Deployment:
        """Record a new deployment version (see ``Model.deploy`` / ``FeatureView.deploy``);
        every option (and the name) is checked before anything is written.
        ``training_dataset_version``: whose transformation state a feature-view deployment
        applies (a model deployment applies its model's)."""
        check_deployment_name(name)
        if untransformed and model is not None:
            raise FtiError("untransformed= is for feature-view deployments (fv.deploy)")
        chosen = options.parse_fallback(fallback)
        limits = options.parse_resources(resources)
        targets = options.parse_slo(slo)
        fallback_model = options.fallback_model(self.registry, model, chosen.model_version)
        if predictor_class is None:
            for served in (model, fallback_model):
                if served is not None:
                    predictor.check_model_files(served)
        td = model.training_dataset_version if model else training_dataset_version
        # a plan of its own: the caller's view keeps its serving state
        serving = serving_plan(fv, td, missing=chosen.missing).serving_schema
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
            output = contract.model_output((model.model_schema or {}).get("outputs", []))
        else:
            output = contract.vector_output(serving, untransformed)
        published = contract.contract(serving, passed, params, output)
        catalog = self.catalog
        previous = catalog.list_deployments(name)
        schema_version = 1
        if previous:
            last = previous[-1]
            schema_version = last.schema_version + (last.schema != published)
        record = catalog.create_deployment(
            name,
            {
                "model_version_id": model.record.id if model else None,
                "feature_view_id": fv.id,
                "training_dataset_version": td,
                "passed_features": passed,
                "request_parameters": params,
                "predictor": None
                if predictor_class is None
                else predictor.reference(predictor_class),
                "fallback": chosen.stored(),
                "fallback_model_version_id": fallback_model.record.id if fallback_model else None,
                "resources": limits,
                "slo": targets,
                "schema": published,
                "schema_version": schema_version,
            },
            self.client,
        )
        return Deployment(self, record)
