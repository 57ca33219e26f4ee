"""Typed request models of ``fti serve`` and the one error a malformed request gets.

A deployment's predict route takes one instance or ``{"instances": [...]}``; its request models
are generated from the deployment's schema, so the OpenAPI description is the contract. A body
that fits neither form fails validation against both, and pydantic reports every way it
failed each form (a missing field also shows up as "field required" and "extra input" of the
other form): :func:`field_errors` keeps only the errors of the form the client meant.

Routes that take a body are :class:`StrictJsonRoute`: only ``application/json`` (415 for
anything else), and only what JSON allows. Python's parser, which FastAPI uses, also takes
``NaN``, ``Infinity``, numbers beyond a double (``1e400`` becomes infinity) and lone
surrogates; orjson, which the predict fast path uses, refuses them, so both paths give the
same 422 naming the field (and no model ever sees such a value).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Coroutine, Mapping, Sequence
from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field, create_model

from fti.serving import contract
from fti.serving.fast import is_json, unsupported_media_type

_PYTHON = {"integer": int, "number": float, "boolean": bool, "string": str}
# a request that is not one JSON object is wrong in the same way for both forms
_NOT_AN_OBJECT = 'the body must be a JSON object: one instance, or {"instances": [...]}'

Run = Callable[[Any, list[dict[str, Any]], bool], Response]


class FieldError(BaseModel):
    field: str
    message: str
    type: str


class ErrorBody(BaseModel):
    """The body of every error ``fti serve`` answers."""

    error: str = Field(description="the error class, e.g. InvalidDataError")
    detail: str
    request_id: str | None = None
    errors: list[FieldError] | None = Field(None, description="what is wrong, field by field")


_ANSWERS = {
    400: "Not a request fti can serve",
    404: "No such deployment",
    413: "Body or batch over the limit",
    415: "Body not sent as application/json",
    422: "Body that does not fit the deployment's schema (the fields are named)",
    503: "Deployment stopped, or a backend unavailable",
}
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": text} for status, text in _ANSWERS.items()
}


class StrictJsonRoute(APIRoute):
    """A route whose body must be declared JSON and be JSON as RFC 8259 has it."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        if self.body_field is None:
            return handler

        async def strict(request: Request) -> Response:
            content_type = request.headers.get("content-type")
            if not is_json(None if content_type is None else content_type.encode("latin-1")):
                status, body, _ = unsupported_media_type()
                return JSONResponse(body, status_code=status)
            errors, value = json_errors(await request.body())  # Starlette keeps the body
            if errors:
                raise RequestValidationError(errors, body=value)
            return await handler(request)

        return strict


class _NotFinite:
    def __init__(self, text: str) -> None:
        self.text = text


def _number(text: str) -> Any:
    value = float(text)
    return value if math.isfinite(value) else _NotFinite(text)


def json_errors(body: bytes) -> tuple[list[dict[str, Any]], Any]:
    """What in ``body`` JSON does not allow but Python's parser takes, as validation errors
    at the field (none when orjson reads it, or when it is no JSON at all: FastAPI then says
    where it breaks); and the body as Python read it."""
    try:
        orjson.loads(body)
        return [], None
    except orjson.JSONDecodeError:
        pass
    try:
        value = json.loads(body, parse_constant=_NotFinite, parse_float=_number)
        errors: list[dict[str, Any]] = []
        _find(value, ["body"], errors)
    except (ValueError, RecursionError):
        return [], None
    return errors, value


def _find(value: Any, loc: list[Any], errors: list[dict[str, Any]]) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _find(key, loc, errors)
            _find(item, [*loc, key], errors)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _find(item, [*loc, i], errors)
    elif isinstance(value, _NotFinite):
        message = f"Input should be a finite number; {value.text} is not one JSON allows"
        errors.append({"type": "finite_number", "loc": tuple(loc), "msg": message})
    elif isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            message = "Input should be a valid string; it holds a lone surrogate, not Unicode"
            errors.append({"type": "string_unicode", "loc": tuple(loc), "msg": message})


class Forms:
    """The names of a predict route's two request models: one instance, and a batch."""

    def __init__(self, instance: str, batch: str) -> None:
        self.instance = instance
        self.batch = batch

    def meant(self, body: Any) -> str:
        """The form a body most likely meant: a batch when it has ``instances``."""
        return self.batch if isinstance(body, Mapping) and "instances" in body else self.instance


def instance_model(deployment: Any) -> type[BaseModel]:
    """A strict request model from the deployment's schema (unknown fields rejected)."""
    schema = deployment.schema["input"]
    fields: dict[str, Any] = {}
    for name, prop in schema["properties"].items():
        typ: Any = _PYTHON.get(contract.kind(prop), Any)
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


def add_predict_route(router: APIRouter, deployment: Any, run: Run) -> Forms:
    """``POST /v1/deployments/{name}/predict`` with typed request models in the OpenAPI: one
    instance, or ``{"instances": [...]}``. Returns the names of the two forms."""
    instance = instance_model(deployment)
    batch = create_model(
        f"{instance.__name__}Batch",
        __config__=ConfigDict(extra="forbid"),
        instances=(list[instance], Field(..., min_length=1)),  # type: ignore[valid-type]
    )

    def predict(body: Any) -> Response:
        if isinstance(body, batch):
            items = body.model_dump(exclude_unset=True)["instances"]
            return run(deployment, items, False)
        return run(deployment, [body.model_dump(exclude_unset=True)], True)

    # the models exist only now: FastAPI reads them from the annotations
    predict.__annotations__ = {"body": instance | batch, "return": Response}

    router.add_api_route(
        f"/v1/deployments/{deployment.name}/predict",
        predict,
        methods=["POST"],
        summary=f"Predict with {deployment.name}",
        operation_id=f"predict_{deployment.name}",
        responses=ERROR_RESPONSES,
        route_class_override=StrictJsonRoute,
    )
    return Forms(instance.__name__, batch.__name__)


def field_errors(
    errors: Sequence[Mapping[str, Any]], body: Any, forms: Forms | None
) -> list[dict[str, str]]:
    """FastAPI's validation errors as ``{"field", "message", "type"}``, for a predict route
    (``forms``) only those of the form the body meant, one for a body that is no object."""
    if forms is not None:
        meant = forms.meant(body)
        other = forms.batch if meant == forms.instance else forms.instance
        errors = [e for e in errors if tuple(e["loc"][:2]) != ("body", other)]
    out: list[dict[str, str]] = []
    for error in errors:
        loc = list(error["loc"])
        if loc[:1] == ["body"]:
            loc = loc[1:]
            if forms is not None and loc[:1] == [forms.meant(body)]:
                loc = loc[1:]
        kind = str(error["type"])
        message = str(error["msg"])
        if kind == "json_invalid":
            reason = error.get("ctx", {}).get("error", "")
            loc, message = [], f"not valid JSON ({reason}) at character {error['loc'][-1]}"
        elif kind == "model_attributes_type" and not loc and forms is not None:
            message = _NOT_AN_OBJECT
        elif kind == "missing" and not loc:
            message = "a JSON body is required"
        entry = {"field": _path(loc), "message": message, "type": kind}
        if entry not in out:
            out.append(entry)
    return out


def describe(errors: Sequence[Mapping[str, str]]) -> str:
    """One line for the errors of :func:`field_errors`."""
    return "; ".join(f"{e['field']}: {e['message']}" for e in errors)


def _path(loc: Sequence[Any]) -> str:
    """``["instances", 1, "amount"]`` -> ``instances[1].amount`` (``body`` when empty)."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "body"
