"""fti's exceptions as HTTP answers: the one place that knows both.

Anything a client sent wrong is a 4xx with a JSON error naming the field; a failure of ours
is a 500 with a request id and no traceback (the traceback goes to the log). Every router of
``fti serve`` answers an error through :func:`answer` (a tuple, as the predict fast path
sends it) or :func:`response` (a FastAPI response); FastAPI's own validation errors come
here too (:func:`add_handlers`), so a malformed body gets the same JSON error on every route.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response

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
from fti.serving import request_models
from fti.serving.fast import Answer

log = logging.getLogger("fti.serving")

# first match wins: subclasses before the classes they refine
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


def answer(exc: Exception, request_id: str) -> Answer:
    """``exc`` as (status, JSON body, headers); anything outside fti's tree is a 500."""
    for kind, status in STATUS:
        if isinstance(exc, kind):
            body = {"error": type(exc).__name__, "detail": str(exc), "request_id": request_id}
            return status, body, {}
    log.exception("request %s failed", request_id, exc_info=exc)
    body = {"error": "InternalError", "detail": "internal error", "request_id": request_id}
    return 500, body, {}


def response(exc: Exception, request_id: str = "") -> JSONResponse:
    """``exc`` as a FastAPI response."""
    status, body, _ = answer(exc, request_id)
    return JSONResponse(body, status_code=status)


def not_found(name: str) -> JSONResponse:
    """The answer for a deployment this server does not serve."""
    return response(DeploymentNotFound(f"no deployment {name!r}"))


def add_handlers(app: FastAPI, forms: Mapping[str, request_models.Forms]) -> None:
    """FastAPI's validation errors as an :class:`InvalidDataError` naming each field; on a
    predict route (``forms`` by path) only the errors of the form the body meant."""

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        errors = request_models.field_errors(exc.errors(), exc.body, forms.get(request.url.path))
        status, body, _ = answer(InvalidDataError(request_models.describe(errors)), "")
        return JSONResponse({**body, "errors": errors}, status_code=status)
