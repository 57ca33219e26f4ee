"""A model version's schema: the columns it reads, by name and in its order, and its outputs.

A model need not read every column of its feature view's vectors: trained on some of the
features (``X_train[["amount", "spend"]]``), it says so with its input example or its
``model_schema``, and a deployment feeds it exactly those columns, by name. Without either
its inputs are the view's features after the model-dependent transformations.

``model_schema`` is fti's form (``{"inputs": [{"name", "type"}], "outputs": [...]}``) or
Hopsworks' (``ModelSchema(input_schema=Schema(X_train), ...)``, or its ``to_dict()``, whose
columns sit under ``input_schema.columnar_schema``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from fti.errors import SchemaError
from fti.transform import UdfTransform
from fti.types import parse_type

if TYPE_CHECKING:
    from fti.featurestore import FeatureView


def model_schema_of(fv: FeatureView, training_dataset_version: int) -> dict[str, Any]:
    """Inputs: the view's features after its model-dependent transformations with that
    training dataset's state (a one-hot encoder's columns included); outputs: the labels."""
    types = {f["name"]: f["type"] for f in fv.features}
    schema = fv.transformed_schema(training_dataset_version)
    return {
        "inputs": [_column(fv, f.name, f.type) for f in schema],
        "outputs": [{"name": n, "type": types[n]} for n in fv.labels],
    }


def readable(fv: FeatureView, training_dataset_version: int) -> pa.Schema:
    """Every column a model of ``fv`` may read: the transformed features, and the key and
    event-time columns its vectors carry (no transformation reads or changes those)."""
    schema = fv.transformed_schema(training_dataset_version)
    types = {f["name"]: f["type"] for f in fv.features}
    features = set(fv.feature_names)
    extra = [(n, parse_type(types[n])) for n in fv.vector_names if n not in features]
    return pa.schema([*schema, *extra])


def of_view(
    fv: FeatureView,
    training_dataset_version: int,
    given: Any,
    columns: Sequence[str] | None,
) -> dict[str, Any]:
    """The schema of a model of ``fv``: ``given`` (any form, its inputs checked against what
    the view's vectors hold), else the example's ``columns`` (a subset, in their order),
    else every transformed feature."""
    available = readable(fv, training_dataset_version)
    if given is not None:
        schema = normalize(given)
        _check_known([c["name"] for c in schema["inputs"]], available, "model_schema's inputs")
        return schema
    schema = model_schema_of(fv, training_dataset_version)
    if columns is not None:
        _check_known(columns, available, "input example's columns")
        schema["inputs"] = [_column(fv, n, available.field(n).type) for n in columns]
    return schema


def normalize(given: Any) -> dict[str, Any]:
    """A model schema in fti's form, from fti's or Hopsworks' (object or dict)."""
    if hasattr(given, "to_dict") and not isinstance(given, Mapping):
        given = given.to_dict()
    if not isinstance(given, Mapping):
        raise SchemaError(
            "model_schema must be a dict {'inputs': [{'name': ..., 'type': ...}], 'outputs': "
            f"[...]}} or a Hopsworks ModelSchema, got {type(given).__name__}"
        )
    if "inputs" in given or "outputs" in given:
        inputs, outputs = given.get("inputs") or [], given.get("outputs") or []
    else:
        inputs = _columnar(given.get("input_schema"))
        outputs = _columnar(given.get("output_schema"))
    for what, columns in (("inputs", inputs), ("outputs", outputs)):
        bad = [c for c in columns if not isinstance(c, Mapping) or not c.get("name")]
        if bad:
            raise SchemaError(f"model_schema {what} need a name each; got {bad[:3]}")
    return {
        "inputs": [{**c, "name": str(c["name"]), "type": str(c.get("type", ""))} for c in inputs],
        "outputs": [{**c, "name": str(c["name"]), "type": str(c.get("type", ""))} for c in outputs],
    }


def _columnar(schema: Any) -> list[Any]:
    if schema is None:
        return []
    if isinstance(schema, Mapping) and "columnar_schema" in schema:
        return list(schema["columnar_schema"])
    if isinstance(schema, Mapping) and "tensor_schema" in schema:
        raise SchemaError(
            "a tensor model_schema names no columns, so a deployment could not feed the model "
            "by name: build the Schema from a DataFrame of the training features"
        )
    raise SchemaError(f"model_schema: unreadable schema {schema!r}")


def _check_known(names: Sequence[str], available: pa.Schema, what: str) -> None:
    unknown = [n for n in names if n not in available.names]
    if unknown or len(set(names)) != len(names) or not names:
        raise SchemaError(
            f"the {what} {list(names)} must be distinct columns of the feature view's "
            f"vectors after its transformations, {available.names}"
            + (f"; unknown: {unknown}" if unknown else "")
        )


def _column(fv: FeatureView, name: str, type_: pa.DataType) -> dict[str, str]:
    return {"name": name, "type": str(type_), "description": _describe(fv, name)}


def _describe(fv: FeatureView, name: str) -> str:
    """The feature group's description of a feature; for a column a model-dependent
    transformation made (a UDF output, a one-hot column), that transformation."""
    feature = {f["name"]: f for f in fv.features}.get(name)
    if feature is not None:
        for node in fv.query.nodes():
            group = node.group
            if (group.name, group.version) == (feature["group"], feature["group_version"]):
                return {f.name: f.description for f in group.features}.get(feature["column"], "")
        return ""
    for t in fv.transformation_functions:
        if isinstance(t, UdfTransform):
            made = name in t.udf.output_names
        else:
            made = name.startswith(f"{t.inputs[0]}_")  # <column>_<category>
        if made:
            return f"made by {t!r}"
    return ""
