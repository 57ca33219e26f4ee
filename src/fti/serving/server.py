"""``fti serve``: an ASGI app (FastAPI) hosting every deployment of a project.

Handlers are thin: parse with a request model generated from the deployment's schema, call
``Deployment.predict`` (the same code path as in-process), format. fti's exceptions map to
status codes here and only here: anything a client sent wrong is a 4xx with a JSON error
naming the field; a failure of ours is a 500 with a request id and no traceback.

Endpoints: ``/v1/deployments[/{name}[/predict]]``, the KServe Open Inference Protocol v2
(``/v2/health/live|ready``, ``/v2/models/{name}[/ready|/infer]``), ``/metrics`` and ``/docs``
(:mod:`fti.serving.docs_ui`). Unknown request fields are rejected (422), not ignored; a
malformed request gets the errors of the form it meant (:mod:`fti.serving.request_models`).
A deployment recorded as stopped answers 503, a deleted one 404 (:mod:`fti.serving.watcher`).
"""

from __future__ import annotations

import contextlib
import functools
import gc
import logging
import os
import threading
import uuid
from collections.abc import AsyncIterator
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response

import fti
from fti import trust
from fti.errors import (
    DeploymentNotFound,
    DeploymentStopped,
    FeatureVectorNotFound,
    FtiError,
    InvalidDataError,
    OnlineStoreUnavailable,
    SchemaError,
    TransformationError,
)
from fti.serving import docs_ui, oip, request_models
from fti.serving.deployment import Deployment
from fti.serving.fast import Answer, FastPredict, InstanceCheck
from fti.serving.metrics import ServingMetrics
from fti.serving.watcher import STATE_POLL_SECONDS, StateWatcher
from fti.trust import TrustedCode

log = logging.getLogger("fti.serving")

MAX_BODY_BYTES = 1 << 20
MAX_BATCH = 1_000


class _Errors:
    """fti's exception tree -> HTTP status codes (the one place that knows both)."""

    STATUS: tuple[tuple[type[Exception], int], ...] = (
        (OnlineStoreUnavailable, 503),
        (DeploymentStopped, 503),
        (DeploymentNotFound, 404),
        (FeatureVectorNotFound, 404),
        (InvalidDataError, 422),
        (SchemaError, 422),
        (TransformationError, 422),
        (FtiError, 400),
    )

    @classmethod
    def answer(cls, exc: Exception, request_id: str) -> Answer:
        for kind, status in cls.STATUS:
            if isinstance(exc, kind):
                body = {"error": type(exc).__name__, "detail": str(exc), "request_id": request_id}
                return status, body, {}
        log.exception("request %s failed", request_id, exc_info=exc)
        body = {"error": "InternalError", "detail": "internal error", "request_id": request_id}
        return 500, body, {}

    @classmethod
    def response(cls, exc: Exception, request_id: str) -> JSONResponse:
        status, body, _ = cls.answer(exc, request_id)
        return JSONResponse(body, status_code=status)


def create_app(
    project: fti.Project,
    names: list[str] | None = None,
    *,
    max_batch: int = MAX_BATCH,
    freeze_gc: bool = False,
    log_process: bool = False,
    allow_empty: bool = False,
    state_poll_seconds: float = STATE_POLL_SECONDS,
    trusted_code: TrustedCode | None = None,
) -> FastAPI:
    """An app serving the latest version of every deployment (or of ``names``).

    An unknown name raises :class:`DeploymentNotFound` and a project without deployments an
    :class:`FtiError` (a server that would serve nothing and still say it is ready), unless
    ``allow_empty``. Deployments recorded as stopped get their routes but are not loaded;
    every ``state_poll_seconds`` the server follows the recorded states (see
    :mod:`fti.serving.watcher`).
    ``freeze_gc`` (for a server process, not a test): once a deployment is loaded, move
    everything alive into the garbage collector's permanent generation; full collections
    then no longer walk the models and feature views, which otherwise stalls a request for
    ~100 ms now and then. ``log_process``: each deployment commits its inference log from a
    separate lower-priority process (see :mod:`fti.serving.log_process`). ``trusted_code``:
    the sha256 of the only code from the catalog this project's deployments may run (see
    :mod:`fti.trust`); None runs whatever the catalog holds."""
    project._trusted_code = trusted_code
    deployments = select(project, names, allow_empty)
    metrics = ServingMetrics()
    limits = {name: d.resources["max_batch"] for name, d in deployments.items()}

    def start(d: Deployment) -> None:
        d.start(log_process=log_process)
        assert d._logger is not None
        d._logger.observer = functools.partial(metrics.log_state, d.name)
        if d.slo:
            metrics.add_slo(d.name, d.slo)
        if freeze_gc:  # loaded by the watcher, this stalls requests once instead of now and then
            gc.collect()
            gc.freeze()

    watcher = StateWatcher(deployments, project._catalog.deployment_states, start)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        watcher.begin(state_poll_seconds)
        ticking = threading.Event()
        ticker = threading.Thread(
            target=_tick, args=(metrics, ticking), name="fti-metrics", daemon=True
        )
        ticker.start()
        try:
            yield
        finally:
            watcher.close()
            ticking.set()
            metrics.flush()
            for d in deployments.values():
                d.stop()  # drains the inference log

    app = ServingApp(
        title="fti serving",
        version=fti.__version__,
        lifespan=lifespan,
        docs_url=None,  # served from the package's files by add_docs
        redoc_url=None,
    )
    docs_ui.add_docs(app)

    def run(deployment: Deployment, instances: list[dict[str, Any]], single: bool) -> Answer:
        """Predict and answer: (status, JSON body, headers); errors become 4xx/5xx here."""
        refused = watcher.unavailable.get(deployment.name)
        if refused is not None:  # not served on purpose (or never loaded): not an SLO failure
            metrics.errors.labels(deployment.name, type(refused).__name__).inc()
            return _Errors.answer(refused, uuid.uuid4().hex)
        limit = min(max_batch, limits[deployment.name])
        if len(instances) > limit:
            detail = f"at most {limit} instances per request"
            return 413, {"error": "BatchTooLarge", "detail": detail}, {}
        try:
            result = (
                deployment.predict(instances[0])
                if single
                else deployment.predict(instances=instances)
            )
        except Exception as exc:
            metrics.errors.labels(deployment.name, type(exc).__name__).inc()
            answer = _Errors.answer(exc, uuid.uuid4().hex)
            if answer[0] >= 500:
                metrics.failed(deployment.name)
            return answer
        degraded = result["degraded"]
        timings = result["timings_ms"]
        metrics.answered(deployment.name, timings["total"] / 1000)
        metrics.observe(
            deployment.name,
            result["model_version"],
            timings,
            len(instances),
            int(degraded) if single else sum(degraded),
        )
        timing = ", ".join([f"{k};dur={v:.3f}" for k, v in timings.items()])
        return 200, result, {"Server-Timing": timing}

    def respond(answer: Answer) -> Response:
        status, body, headers = answer
        return Response(_dumps(body), status, headers, media_type="application/json")

    @app.get("/v1/deployments")
    def list_deployments() -> list[dict[str, Any]]:
        return [_describe(d, watcher) for d in deployments.values()]

    @app.get("/v1/deployments/{name}")
    def get_deployment(name: str) -> Response:
        if name not in deployments:
            return _Errors.response(DeploymentNotFound(f"no deployment {name!r}"), "")
        d = deployments[name]
        return JSONResponse({**_describe(d, watcher), "schema": d.schema})

    routes = {}
    forms: dict[str, request_models.Forms] = {}
    for deployment in deployments.values():
        forms[f"/v1/deployments/{deployment.name}/predict"] = request_models.add_predict_route(
            app, deployment, lambda d, i, single: respond(run(d, i, single))
        )
        check = InstanceCheck(deployment.schema["input"])
        routes[f"/v1/deployments/{deployment.name}/predict"] = (
            check,
            functools.partial(run, deployment),
        )

    @app.post("/v1/deployments/{name}/predict", include_in_schema=False)
    def predict_unknown(name: str) -> Response:
        # after every deployment's own route: reached only by names that are not served
        return _Errors.response(DeploymentNotFound(f"no deployment {name!r}"), "")

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        errors = request_models.field_errors(exc.errors(), exc.body, forms.get(request.url.path))
        status, body, _ = _Errors.answer(InvalidDataError(request_models.describe(errors)), "")
        return JSONResponse({**body, "errors": errors}, status_code=status)

    app.fast_path = FastPredict(
        functools.partial(FastAPI.__call__, app), routes, MAX_BODY_BYTES, max_batch
    )

    oip.add_routes(
        app,
        deployments,
        lambda: watcher.status,
        run,
        respond,
        lambda exc: _Errors.response(exc, ""),
    )

    @app.get("/metrics")
    def prometheus() -> Response:
        metrics.flush()
        body, media_type = metrics.exposition()
        return Response(body, media_type=media_type)

    return app


def select(
    project: fti.Project, names: list[str] | None = None, allow_empty: bool = False
) -> dict[str, Deployment]:
    """The latest version of the deployments ``names`` (default: all), checked as
    :func:`create_app` describes."""
    every = {d.name: d for d in project.get_model_serving().get_deployments()}
    existing = ", ".join(repr(n) for n in every) or "none"
    if names is not None:
        unknown = [n for n in dict.fromkeys(names) if n not in every]
        if unknown:
            raise DeploymentNotFound(
                f"no deployment {', '.join(repr(n) for n in unknown)}; the deployments of "
                f"the project are: {existing}"
            )
        every = {n: every[n] for n in dict.fromkeys(names)}
    if not every and not allow_empty:
        raise FtiError(
            f"the project in {project.home} has no deployments: nothing to serve (deploy a "
            "model first, or allow an empty server)"
        )
    return every


class ServingApp(FastAPI):
    """FastAPI behind :class:`FastPredict`: the body limit for every request, and well-formed
    predictions answered before Starlette's middleware stack and routing (half the CPU of a
    request otherwise)."""

    fast_path: FastPredict | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if self.fast_path is None:
            await super().__call__(scope, receive, send)
        else:
            await self.fast_path(scope, receive, send)


def _tick(metrics: ServingMetrics, stop: threading.Event) -> None:
    """Every second, this worker's observations and SLO burn rates into its metrics (with
    several workers, ``/metrics`` reads every worker's, not only the one it reached)."""
    while not stop.wait(1.0):
        metrics.flush()


def _dumps(value: Any) -> bytes:
    """JSON of an answer; NumPy values a custom predictor returns are serialized too."""
    return orjson.dumps(value, default=_jsonable, option=orjson.OPT_SERIALIZE_NUMPY)


def _jsonable(value: Any) -> Any:
    if hasattr(value, "item"):  # NumPy scalars of types orjson does not know
        return value.item()
    return str(value)


def _describe(d: Deployment, watcher: StateWatcher) -> dict[str, Any]:
    model = d.model
    reason = watcher.reason(d.name)  # why it does not answer, or answers degraded
    return {
        "name": d.name,
        "version": d.version,
        "schema_version": d.schema_version,
        "model": None if model is None else {"name": model.name, "version": model.version},
        "status": watcher.status[d.name],  # see fti.serving.watcher
        "slo": d.slo,
        **({} if reason is None else {"reason": reason}),
    }


def app_from_environment() -> FastAPI:
    """The app ``fti serve`` runs in each worker: the project in ``FTI_HOME``."""
    names = os.environ.get("FTI_SERVE_DEPLOYMENTS")
    project = fti.connect(os.environ.get("FTI_HOME"), create=False)
    return create_app(
        project,
        names.split(",") if names else None,
        freeze_gc=True,
        log_process=True,
        allow_empty=os.environ.get("FTI_SERVE_ALLOW_EMPTY") == "1",
        trusted_code=trust.configured(project.home),
    )
