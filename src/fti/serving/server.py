"""``fti serve``: an ASGI app (FastAPI) hosting every deployment of a project.

Handlers are thin: parse with a request model generated from the deployment's schema, call
``Deployment.predict`` (the same code path as in-process), format. fti's exceptions map to
status codes here and only here: anything a client sent wrong is a 4xx with a JSON error
naming the field; a failure of ours is a 500 with a request id and no traceback.

Endpoints: ``/v1/deployments[/{name}[/predict]]``, the KServe Open Inference Protocol v2
(``/v2/health/live|ready``, ``/v2/models/{name}[/ready|/infer]``) and ``/metrics``. Unknown
request fields are rejected (422), not ignored.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import uuid
from collections.abc import AsyncIterator, Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, ConfigDict, Field, create_model

import fti
from fti.errors import (
    DeploymentNotFound,
    FeatureVectorNotFound,
    FtiError,
    InvalidDataError,
    OnlineStoreUnavailable,
    SchemaError,
    TransformationError,
)
from fti.serving.deployment import Deployment
from fti.serving.metrics import ServingMetrics

log = logging.getLogger("fti.serving")

MAX_BODY_BYTES = 1 << 20
MAX_BATCH = 1_000
_PYTHON = {"integer": int, "number": float, "boolean": bool, "string": str}
_OIP = {"integer": "INT64", "number": "FP64", "boolean": "BOOL", "string": "BYTES"}


def _json_kind(prop: Mapping[str, Any]) -> str:
    if "type" in prop:
        return str(prop["type"])
    for option in prop.get("anyOf", []):
        if option.get("type") != "null":
            return str(option["type"])
    return "any"


def _instance_model(deployment: Deployment) -> type[BaseModel]:
    """A strict request model from the deployment's schema (unknown fields rejected)."""
    schema = deployment.schema["input"]
    fields: dict[str, Any] = {}
    for name, prop in schema["properties"].items():
        typ: Any = _PYTHON.get(_json_kind(prop), Any)
        if name in schema["required"]:
            fields[name] = (typ, Field(..., description=prop.get("description")))
        else:  # optional: may be left out, never null
            fields[name] = (typ, Field(None, description=prop.get("description")))
    title = "".join(p.capitalize() for p in deployment.name.replace("-", "_").split("_"))
    return create_model(
        f"{title}Instance",
        __config__=ConfigDict(extra="forbid", strict=True),
        **fields,
    )


class _Errors:
    """fti's exception tree -> HTTP status codes (the one place that knows both)."""

    STATUS: tuple[tuple[type[Exception], int], ...] = (
        (OnlineStoreUnavailable, 503),
        (DeploymentNotFound, 404),
        (FeatureVectorNotFound, 404),
        (InvalidDataError, 422),
        (SchemaError, 422),
        (TransformationError, 422),
        (FtiError, 400),
    )

    @classmethod
    def response(cls, exc: Exception, request_id: str) -> JSONResponse:
        for kind, status in cls.STATUS:
            if isinstance(exc, kind):
                body = {"error": type(exc).__name__, "detail": str(exc), "request_id": request_id}
                return JSONResponse(body, status_code=status)
        log.exception("request %s failed", request_id, exc_info=exc)
        body = {"error": "InternalError", "detail": "internal error", "request_id": request_id}
        return JSONResponse(body, status_code=500)


def create_app(
    project: fti.Project, names: list[str] | None = None, *, max_batch: int = MAX_BATCH
) -> FastAPI:
    """An app serving the latest version of every deployment (or of ``names``)."""
    serving = project.get_model_serving()
    deployments: dict[str, Deployment] = {
        d.name: d for d in serving.get_deployments() if names is None or d.name in names
    }
    metrics = ServingMetrics()

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        for d in deployments.values():
            d.start()
        try:
            yield
        finally:
            for d in deployments.values():
                d.stop()  # drains the inference log

    app = FastAPI(title="fti serving", version=fti.__version__, lifespan=lifespan)

    @app.middleware("http")
    async def limit_body(request: Request, call_next: Any) -> Response:
        size = request.headers.get("content-length")
        if size is not None and size.isdigit() and int(size) > MAX_BODY_BYTES:
            return JSONResponse(
                {"error": "PayloadTooLarge", "detail": f"the body is over {MAX_BODY_BYTES} bytes"},
                status_code=413,
            )
        response: Response = await call_next(request)
        return response

    def run(deployment: Deployment, instances: list[dict[str, Any]], single: bool) -> Response:
        request_id = uuid.uuid4().hex
        if len(instances) > max_batch:
            return JSONResponse(
                {"error": "BatchTooLarge", "detail": f"at most {max_batch} instances per request"},
                status_code=413,
            )
        try:
            result = (
                deployment.predict(instances[0])
                if single
                else deployment.predict(instances=instances)
            )
        except Exception as exc:
            metrics.errors.labels(deployment.name, type(exc).__name__).inc()
            return _Errors.response(exc, request_id)
        degraded = result["degraded"]
        metrics.observe(
            deployment.name,
            result["model_version"],
            result["timings_ms"],
            len(instances),
            int(degraded) if single else sum(degraded),
        )
        timing = ", ".join(f"{k};dur={v:.3f}" for k, v in result["timings_ms"].items())
        return JSONResponse(result, headers={"Server-Timing": timing})

    @app.get("/v1/deployments")
    def list_deployments() -> list[dict[str, Any]]:
        return [_describe(d) for d in deployments.values()]

    @app.get("/v1/deployments/{name}")
    def get_deployment(name: str) -> Response:
        if name not in deployments:
            return _Errors.response(DeploymentNotFound(f"no deployment {name!r}"), "")
        return JSONResponse({**_describe(deployments[name]), "schema": deployments[name].schema})

    for deployment in deployments.values():
        _add_predict_route(app, deployment, run)

    @app.get("/v2/health/live")
    def live() -> dict[str, bool]:
        return {"live": True}

    @app.get("/v2/health/ready")
    def ready() -> dict[str, bool]:
        return {"ready": all(d.running for d in deployments.values())}

    @app.get("/v2/models/{name}")
    def model_metadata(name: str) -> Response:
        if name not in deployments:
            return _Errors.response(DeploymentNotFound(f"no deployment {name!r}"), "")
        d = deployments[name]
        props = d.schema["input"]["properties"]
        return JSONResponse(
            {
                "name": name,
                "versions": [str(d.version)],
                "platform": "fti",
                "inputs": [
                    {"name": n, "datatype": _OIP.get(_json_kind(p), "BYTES"), "shape": [-1]}
                    for n, p in props.items()
                ],
                "outputs": [{"name": "prediction", "datatype": "BYTES", "shape": [-1]}],
            }
        )

    @app.get("/v2/models/{name}/ready")
    def model_ready(name: str) -> Response:
        if name not in deployments:
            return _Errors.response(DeploymentNotFound(f"no deployment {name!r}"), "")
        return JSONResponse({"name": name, "ready": deployments[name].running})

    @app.post("/v2/models/{name}/infer")
    def infer(name: str, body: InferRequest) -> Response:
        if name not in deployments:
            return _Errors.response(DeploymentNotFound(f"no deployment {name!r}"), "")
        lengths = {len(t.data) for t in body.inputs}
        if len(lengths) > 1:
            return _Errors.response(InvalidDataError("inputs must all have the same length"), "")
        n = lengths.pop() if lengths else 0
        instances = [{t.name: t.data[i] for t in body.inputs} for i in range(n)]
        if not instances:
            return _Errors.response(InvalidDataError("no inputs"), "")
        response = run(deployments[name], instances, single=False)
        if response.status_code != 200:
            return response
        result = json.loads(bytes(response.body))
        return JSONResponse(
            {
                "model_name": name,
                "model_version": str(result["model_version"]),
                "id": body.id or result["request_ids"][0],
                "outputs": [
                    {
                        "name": "prediction",
                        "shape": [n],
                        "datatype": _oip_type(result["predictions"]),
                        "data": result["predictions"],
                    }
                ],
            },
            headers={"Server-Timing": response.headers["Server-Timing"]},
        )

    @app.get("/metrics")
    def prometheus() -> Response:
        for d in deployments.values():
            logger = d._logger
            if logger is not None:
                metrics.log_dropped.labels(d.name).set(logger.dropped)
                metrics.log_queued.labels(d.name).set(logger.queued)
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return app


class InferTensor(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    shape: list[int]
    datatype: str
    data: list[Any]


class InferRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str | None = None
    inputs: list[InferTensor]


def _oip_type(values: list[Any]) -> str:
    if all(isinstance(v, bool) for v in values):
        return "BOOL"
    if all(isinstance(v, int) for v in values):
        return "INT64"
    if all(isinstance(v, int | float) for v in values):
        return "FP64"
    return "BYTES"


def _describe(d: Deployment) -> dict[str, Any]:
    model = d.model
    return {
        "name": d.name,
        "version": d.version,
        "schema_version": d.schema_version,
        "model": None if model is None else {"name": model.name, "version": model.version},
        "status": "running" if d.running else "stopped",
    }


def _add_predict_route(app: FastAPI, deployment: Deployment, run: Any) -> None:
    """``POST /v1/deployments/{name}/predict`` with typed request models in the OpenAPI: one
    instance, or ``{"instances": [...]}``."""
    instance = _instance_model(deployment)
    batch = create_model(
        f"{instance.__name__}Batch",
        __config__=ConfigDict(extra="forbid"),
        instances=(list[instance], Field(..., min_length=1)),  # type: ignore[valid-type]
    )

    def predict(body: Any) -> Response:
        response: Response
        if isinstance(body, batch):
            items = body.model_dump(exclude_unset=True)["instances"]
            response = run(deployment, items, single=False)
        else:
            response = run(deployment, [body.model_dump(exclude_unset=True)], single=True)
        return response

    # the models exist only now: FastAPI reads them from the annotations
    predict.__annotations__ = {"body": instance | batch, "return": Response}

    app.post(
        f"/v1/deployments/{deployment.name}/predict",
        summary=f"Predict with {deployment.name}",
        operation_id=f"predict_{deployment.name}",
    )(predict)


def app_from_environment() -> FastAPI:
    """The app ``fti serve`` runs in each worker: the project in ``FTI_HOME``."""
    names = os.environ.get("FTI_SERVE_DEPLOYMENTS")
    project = fti.connect(os.environ.get("FTI_HOME"))
    return create_app(project, names.split(",") if names else None)
