"""Typed request models of ``fti serve`` and the one error a malformed request gets.

A deployment's predict route takes one instance or ``{"instances": [...]}``; its request models
are generated from the deployment's schema, so the OpenAPI description is the contract. A body
that fits neither form fails validation against both, and pydantic reports every way it
failed each form (a missing field also shows up as "field required" and "extra input" of the
other form): :func:`field_errors` keeps only the errors of the form the client meant.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from fastapi import FastAPI
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, create_model

from fti.serving import contract

_PYTHON = {"integer": int, "number": float, "boolean": bool, "string": str}
# a request that is not one JSON object is wrong in the same way for both forms
_NOT_AN_OBJECT = 'the body must be a JSON object: one instance, or {"instances": [...]}'

Run = Callable[[Any, list[dict[str, Any]], bool], Response]


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


def add_predict_route(app: FastAPI, deployment: Any, run: Run) -> Forms:
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

    app.post(
        f"/v1/deployments/{deployment.name}/predict",
        summary=f"Predict with {deployment.name}",
        operation_id=f"predict_{deployment.name}",
    )(predict)
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
