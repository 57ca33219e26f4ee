"""The v1 REST API of ``fti serve``: ``/v1/deployments[/{name}[/predict]]``.

Each served deployment gets its own predict route, with request models generated from its
schema (:mod:`fti.serving.request_models`), so the OpenAPI description is the contract; a
name that is not served reaches the catch-all route after them and gets a 404. The same
deployments' well-formed predictions are answered by the fast path
(:mod:`fti.serving.fast`) before FastAPI: :func:`router` hands it what it needs, the check
of a well-formed instance and :meth:`fti.serving.served.Served.run`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response

from fti.serving import http_errors, request_models
from fti.serving.fast import Handler, InstanceCheck
from fti.serving.served import Served, respond

PREDICT = "/v1/deployments/{name}/predict"


@dataclass
class V1Routes:
    """The v1 router, and what the rest of the app needs to know of its predict routes."""

    router: APIRouter
    # the request models of each predict path, for the errors of a malformed body
    forms: dict[str, request_models.Forms]
    # each predict path's instance check and handler, for the fast path
    fast: dict[str, tuple[InstanceCheck, Handler]]


def router(served: Served) -> V1Routes:
    """The v1 routes over ``served``."""
    api = APIRouter()
    deployments = served.deployments

    @api.get("/v1/deployments")
    def list_deployments() -> list[dict[str, Any]]:
        return [served.describe(d) for d in deployments.values()]

    @api.get("/v1/deployments/{name}")
    def get_deployment(name: str) -> Response:
        if name not in deployments:
            return http_errors.not_found(name)
        d = deployments[name]
        return JSONResponse({**served.describe(d), "schema": d.schema})

    forms: dict[str, request_models.Forms] = {}
    fast: dict[str, tuple[InstanceCheck, Handler]] = {}
    for deployment in deployments.values():
        path = PREDICT.format(name=deployment.name)
        forms[path] = request_models.add_predict_route(
            api, deployment, lambda d, i, single: respond(served.run(d, i, single))
        )
        fast[path] = (
            InstanceCheck(deployment.schema["input"]),
            functools.partial(served.run, deployment),
        )

    @api.post(PREDICT, include_in_schema=False)
    def predict_unknown(name: str) -> Response:
        # after every deployment's own route: reached only by names that are not served
        return http_errors.not_found(name)

    return V1Routes(api, forms, fast)
