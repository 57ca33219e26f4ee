"""A deployment's public contract: which fields a request carries, and JSON Schema for it.

A request instance is one flat object: the serving keys, the passed features and the request
parameters, by name (a name that is both a passed feature and a request parameter is one field
that feeds both). Unknown fields are rejected, so a typo is an error, not a silently ignored
value.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pyarrow as pa

from fti.errors import InvalidDataError
from fti.types import parse_type


def _base(arrow_type: str) -> dict[str, Any]:
    typ = parse_type(arrow_type) if arrow_type != "any" else pa.null()
    if pa.types.is_boolean(typ):
        return {"type": "boolean"}
    if pa.types.is_integer(typ):
        return {"type": "integer"}
    if pa.types.is_floating(typ) or pa.types.is_decimal(typ):
        return {"type": "number"}
    if pa.types.is_string(typ) or pa.types.is_large_string(typ):
        return {"type": "string"}
    if pa.types.is_timestamp(typ):
        return {"type": "string", "format": "date-time"}
    if pa.types.is_date(typ):
        return {"type": "string", "format": "date"}
    return {}


def kind(prop: Mapping[str, Any]) -> str:
    """The JSON type a schema property admits besides null ("any" if it says none)."""
    if "type" in prop:
        return str(prop["type"])
    for option in prop.get("anyOf", []):
        if option.get("type") != "null":
            return str(option["type"])
    return "any"


def json_type(arrow_type: str) -> dict[str, Any]:
    """The JSON Schema of a value of an Arrow type, null allowed (a feature may be missing)."""
    base = _base(arrow_type)
    return {"anyOf": [base, {"type": "null"}]} if base else {}


def contract(
    serving: Mapping[str, Any],
    passed: Sequence[str],
    parameters: Sequence[str],
    output: Mapping[str, Any],
) -> dict[str, Any]:
    """The deployment schema from a feature view's serving schema, the chosen fields and the
    answer's schema (:func:`model_output` or :func:`vector_output`)."""
    passed_types = {f["name"]: f["type"] for f in serving["passed_features"]}
    parameter_types = {f["name"]: f["type"] for f in serving["request_parameters"]}
    keys = [dict(f) for f in serving["serving_keys"]]
    fields: dict[str, dict[str, Any]] = {
        f["name"]: {**_base(f["type"]), "description": "serving key"} for f in keys
    }
    # Values a client sends are never null: a missing value has no meaning the model was
    # trained on (looked-up features that are missing follow the deployment's fallback).
    for name in passed:
        fields[name] = {**_base(passed_types[name]), "description": "passed feature"}
    for name in parameters:
        if name in fields:
            fields[name]["description"] += " and request parameter"
        else:
            fields[name] = {**_base(parameter_types[name]), "description": "request parameter"}
    required_passed = {f["name"] for f in serving["required_passed_features"]}
    required = [f["name"] for f in keys]
    required += [n for n in passed if n in required_passed]
    required += [n for n in parameters if n in serving["required_request_parameters"]]
    return {
        "serving_keys": keys,
        "passed_features": [{"name": n, "type": passed_types[n]} for n in passed],
        "request_parameters": [{"name": n, "type": parameter_types[n]} for n in parameters],
        "input": {
            "type": "object",
            "properties": fields,
            "required": list(dict.fromkeys(required)),
            "additionalProperties": False,
        },
        "output": dict(output),
    }


def model_output(outputs: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """A model deployment answers ``prediction``, of the type of the model's output."""
    return {
        "type": "object",
        "properties": {"prediction": json_type(outputs[0]["type"])} if outputs else {},
    }


def vector_output(serving: Mapping[str, Any], untransformed: bool) -> dict[str, Any]:
    """A feature-view deployment answers the transformed vector (``prediction``, in the view's
    order) and, if asked for, the ``untransformed`` features by name."""
    features = serving["features"]
    properties: dict[str, Any] = {
        "prediction": {
            "type": "array",
            "description": "the transformed features: " + ", ".join(f["name"] for f in features),
            "prefixItems": [json_type(f["type"]) for f in features],
            "items": False,
        }
    }
    if untransformed:
        properties["untransformed"] = {
            "type": "object",
            "description": "the features before model-dependent transformations",
            "properties": {f["name"]: json_type(f["type"]) for f in serving["passed_features"]},
        }
    return {"type": "object", "properties": properties}


def split(
    instance: Any, schema: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """One request instance as (serving keys, passed features, request parameters)."""
    if not isinstance(instance, Mapping):
        raise InvalidDataError(f"an instance must be a JSON object, got {instance!r}")
    properties = schema["input"]["properties"]
    unknown = [k for k in instance if k not in properties]
    if unknown:
        raise InvalidDataError(f"unknown field(s) {unknown}; the fields are {list(properties)}")
    missing = [k for k in schema["input"]["required"] if k not in instance]
    if missing:
        raise InvalidDataError(f"missing required field(s) {missing}")
    null = [k for k, v in instance.items() if v is None]
    if null:
        raise InvalidDataError(f"field(s) {null} must not be null")
    keys = {f["name"]: instance[f["name"]] for f in schema["serving_keys"]}
    passed = {
        f["name"]: instance[f["name"]] for f in schema["passed_features"] if f["name"] in instance
    }
    params = {
        f["name"]: instance[f["name"]]
        for f in schema["request_parameters"]
        if f["name"] in instance
    }
    return keys, passed, params
