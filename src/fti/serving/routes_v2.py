"""The KServe Open Inference Protocol v2 API of ``fti serve``.

``/v2/health/live|ready``, ``/v2/models/{name}[/ready]`` (metadata) and
``/v2/models/{name}/infer`` (columns of equal length, one prediction per row). Predictions go
through the same :meth:`fti.serving.served.Served.run` as ``/v1`` (limits, metrics, errors);
datatypes come from the deployment's contract, so the metadata states what ``infer`` answers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict

from fti.errors import InvalidDataError
from fti.serving import contract, http_errors, request_models
from fti.serving.deployment import Deployment
from fti.serving.served import Served, respond
from fti.serving.states import RUNNING
from fti.serving.watcher import ready as serves_all

DATATYPES = {"integer": "INT64", "number": "FP64", "boolean": "BOOL", "string": "BYTES"}


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


def router(served: Served) -> APIRouter:
    """The v2 routes over ``served``; a deployment is ready while the states the watcher
    follows say it runs (:mod:`fti.serving.watcher`)."""
    api = APIRouter()
    deployments = served.deployments
    watcher = served.watcher

    @api.get("/v2/health/live")
    def live() -> dict[str, bool]:
        return {"live": True}

    @api.get("/v2/health/ready")
    def ready() -> dict[str, bool]:
        return {"ready": serves_all(watcher.status)}

    @api.get("/v2/models/{name}")
    def model_metadata(name: str) -> Response:
        if name not in deployments:
            return http_errors.not_found(name)
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

    @api.get("/v2/models/{name}/ready")
    def model_ready(name: str) -> Response:
        if name not in deployments:
            return http_errors.not_found(name)
        return JSONResponse({"name": name, "ready": watcher.status[name] == RUNNING})

    def infer(name: str, body: InferRequest) -> Response:
        if name not in deployments:
            return http_errors.not_found(name)
        lengths = {len(t.data) for t in body.inputs}
        if len(lengths) > 1:
            return http_errors.response(InvalidDataError("inputs must all have the same length"))
        n = lengths.pop() if lengths else 0
        instances = [{t.name: t.data[i] for t in body.inputs} for i in range(n)]
        if not instances:
            return http_errors.response(InvalidDataError("no inputs"))
        status, result, headers = served.run(deployments[name], instances, False)
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

    api.add_api_route(
        "/v2/models/{name}/infer",
        infer,
        methods=["POST"],
        responses=request_models.ERROR_RESPONSES,
        route_class_override=request_models.StrictJsonRoute,  # JSON only, as JSON has it
    )
    return api
