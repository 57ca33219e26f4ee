"""Model-dependent transformations of feature views: checked at definition, stored by
reference (built-ins by name and parameters, UDFs by name, version and hash)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pyarrow as pa

from fti.errors import FtiError, SchemaError, TransformationError
from fti.transform import UDF, ModelTransform, UdfTransform
from fti.transform.builtins import Builtin, from_reference
from fti.types import parse_type


def check_model_dependent(
    functions: Sequence[Any], features: Sequence[Mapping[str, Any]]
) -> list[ModelTransform]:
    """The view's MDTs, after the checks that need no data: every input is a feature of the
    view (or the output of an earlier step) of a type the transformation takes."""
    transforms: list[ModelTransform] = []
    for f in functions:
        if isinstance(f, UDF):
            transforms.append(UdfTransform(f))
        elif isinstance(f, Builtin):
            transforms.append(f)
        else:
            raise FtiError(
                "transformation_functions of a feature view takes fti.builtins transformations "
                f"or @fti.udf functions, not {f!r}"
            )
    roles = {f["name"]: f["role"] for f in features}
    # column -> type while untouched by earlier steps (None once a step rewrote it)
    available: dict[str, pa.DataType | None] = {
        f["name"]: parse_type(f["type"]) for f in features if f["role"] == "feature"
    }
    for t in transforms:
        for column in t.inputs:
            if column not in available:
                role = roles.get(column)
                why = f"it is a {role.replace('_', ' ')} column" if role else "not in the view"
                raise SchemaError(
                    f"{t!r} reads {column!r}: {why}; model-dependent transformations read "
                    f"features: {list(available)}"
                )
        if isinstance(t, Builtin):
            typ = available[t.column]
            if typ is not None:
                t.check_type(typ)
            if t.kind == "one_hot_encoder":  # its columns are known once fitted
                del available[t.column]
            else:
                available[t.column] = None
        elif isinstance(t, UdfTransform):
            for name in t.drop:
                available.pop(name, None)
            for name in t.udf.output_names:
                available[name] = None
    return transforms


def reference(t: ModelTransform, register: Callable[[UDF], dict[str, Any]]) -> dict[str, Any]:
    if isinstance(t, UdfTransform):
        return register(t.udf)
    return t.reference()


def load(
    refs: Sequence[Mapping[str, Any]], load_udfs: Callable[[Sequence[Mapping[str, Any]]], list[UDF]]
) -> list[ModelTransform]:
    out: list[ModelTransform] = []
    for ref in refs:
        if "builtin" in ref:
            out.append(from_reference(ref))
        else:
            out.append(UdfTransform(load_udfs([ref])[0]))
    return out


def states_of(transformation_state: Mapping[str, Any] | None, version: int) -> list[Any]:
    if transformation_state is None:
        raise TransformationError(
            f"training dataset {version} has no model-dependent state (it was created before "
            "the view had transformations)"
        )
    return list(transformation_state["steps"])
