"""The KServe Open Inference Protocol v2 routes of ``fti serve``.

``/v2/health/live|ready``, ``/v2/models/{name}[/ready]`` (metadata) and
``/v2/models/{name}/infer`` (columns of equal length, one prediction per row). Predictions go
through the same ``run`` as ``/v1`` (limits, metrics, errors); datatypes come from the
deployment's contract, so the metadata states what ``infer`` answers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict

from fti.errors import DeploymentNotFound, InvalidDataError
from fti.serving import contract, request_models
from fti.serving.deployment import Deployment
from fti.serving.fast import Answer
from fti.serving.states import RUNNING
from fti.serving.watcher import ready as serves_all

DATATYPES = {"integer": "INT64", "number": "FP64", "boolean": "BOOL", "string": "BYTES"}

Run = Callable[[Deployment, list[dict[str, Any]], bool], Answer]


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


def datatype(prop: Mapping[str, Any]) -> str:
    """The OIP datatype of a contract property (``BYTES`` for what it does not type)."""
    return DATATYPES.get(contract.kind(prop), "BYTES")


def output_datatype(d: Deployment) -> str:
    """The datatype of a deployment's predictions, from its contract (the default predictor
    casts to the contract's type)."""
    return datatype(d.schema["output"]["properties"].get("prediction", {}))


def add_routes(
    app: FastAPI,
    deployments: Mapping[str, Deployment],
    status: Callable[[], Mapping[str, str]],
    run: Run,
    respond: Callable[[Answer], Response],
    error: Callable[[Exception], Response],
) -> None:
    """The v2 routes over ``deployments``; ``status`` says which answer ("running") and why
    the others do not (:mod:`fti.serving.watcher`), ``run`` predicts, ``error`` answers an
    fti error."""

    @app.get("/v2/health/live")
    def live() -> dict[str, bool]:
        return {"live": True}

    @app.get("/v2/health/ready")
    def ready() -> dict[str, bool]:
        return {"ready": serves_all(status())}

    @app.get("/v2/models/{name}")
    def model_metadata(name: str) -> Response:
        if name not in deployments:
            return error(DeploymentNotFound(f"no deployment {name!r}"))
        d = deployments[name]
        props = d.schema["input"]["properties"]
        return JSONResponse(
            {
                "name": name,
                "versions": [str(d.version)],
                "platform": "fti",
                "inputs": [
                    {"name": n, "datatype": datatype(p), "shape": [-1]} for n, p in props.items()
                ],
                "outputs": [{"name": "prediction", "datatype": output_datatype(d), "shape": [-1]}],
            }
        )

    @app.get("/v2/models/{name}/ready")
    def model_ready(name: str) -> Response:
        if name not in deployments:
            return error(DeploymentNotFound(f"no deployment {name!r}"))
        return JSONResponse({"name": name, "ready": status()[name] == RUNNING})

    def infer(name: str, body: InferRequest) -> Response:
        if name not in deployments:
            return error(DeploymentNotFound(f"no deployment {name!r}"))
        lengths = {len(t.data) for t in body.inputs}
        if len(lengths) > 1:
            return error(InvalidDataError("inputs must all have the same length"))
        n = lengths.pop() if lengths else 0
        instances = [{t.name: t.data[i] for t in body.inputs} for i in range(n)]
        if not instances:
            return error(InvalidDataError("no inputs"))
        status, result, headers = run(deployments[name], instances, False)
        if status != 200:
            return respond((status, result, headers))
        return JSONResponse(
            {
                "model_name": name,
                "model_version": str(result["model_version"]),
                "id": body.id or result["request_ids"][0],
                "outputs": [
                    {
                        "name": "prediction",
                        "shape": [n],
                        "datatype": output_datatype(deployments[name]),
                        "data": result["predictions"],
                    }
                ],
            },
            headers=dict(headers),
        )

    app.router.add_api_route(
        "/v2/models/{name}/infer",
        infer,
        methods=["POST"],
        responses=request_models.ERROR_RESPONSES,
        route_class_override=request_models.StrictJsonRoute,  # JSON only, as JSON has it
    )
