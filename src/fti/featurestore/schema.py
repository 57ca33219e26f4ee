"""Feature-group schemas: conforming inserted tables to them, and the evolution rules.

Evolution: appending a nullable feature is allowed in place; any other change needs a new
feature-group version. Names and type normalization are shared by every layer (fti.types).
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pyarrow as pa

from fti.errors import SchemaError
from fti.types import Feature


def features_to_schema(features: Sequence[Feature], not_null: Iterable[str]) -> pa.Schema:
    required = set(not_null)
    return pa.schema([pa.field(f.name, f.type, nullable=f.name not in required) for f in features])


def schema_to_features(schema: pa.Schema, descriptions: Mapping[str, str]) -> list[Feature]:
    return [Feature(f.name, f.type, descriptions.get(f.name, "")) for f in schema]


def serialize_schema(schema: pa.Schema) -> str:
    return base64.b64encode(schema.serialize().to_pybytes()).decode("ascii")


def deserialize_schema(text: str) -> pa.Schema:
    return pa.ipc.read_schema(pa.py_buffer(base64.b64decode(text)))


def _castable(source: pa.DataType, target: pa.DataType) -> bool:
    """Whether a column of ``source`` may be written into a feature of ``target``."""
    if source == target or pa.types.is_null(source):
        return True
    if pa.types.is_integer(source) and (
        pa.types.is_integer(target) or pa.types.is_floating(target)
    ):
        return True  # the cast itself is checked for overflow
    if pa.types.is_floating(source) and pa.types.is_floating(target):
        return bool(source.bit_width <= target.bit_width)
    if pa.types.is_timestamp(source) and pa.types.is_timestamp(target):
        return (source.tz is None) == (target.tz is None)
    if pa.types.is_list(source) and pa.types.is_list(target):
        return _castable(source.value_type, target.value_type)
    return False


def conform(
    table: pa.Table,
    schema: pa.Schema,
    defaults: Mapping[str, Any] | None = None,
    allow_missing: bool = False,
) -> tuple[pa.Table, dict[str, Any]]:
    """Cast ``table`` (already normalized) to ``schema``: same columns, order and types; also
    returns the columns that were missing and what filled them.

    A missing column is an error unless ``defaults`` gives its value or ``allow_missing`` lets
    nullable ones be null: a forgotten column must not become nulls silently. Unknown columns
    and incompatible types are a :class:`SchemaError` that says how to evolve the schema.
    """
    # name sets, not per-name lookups in the lists: a 10,000-column table stays linear
    stored, given = set(schema.names), set(table.column_names)
    unknown = [c for c in table.column_names if c not in stored]
    if unknown:
        raise SchemaError(
            f"unknown column(s) {unknown}: the feature group has {schema.names}. Append a "
            "nullable feature in place with fg.append_features([...]), or create a new version"
        )
    defaults = dict(defaults or {})
    strays = [c for c in defaults if c not in stored]
    if strays:
        raise SchemaError(f"defaults name unknown column(s) {strays}: the group has {schema.names}")
    missing = [f for f in schema if f.name not in given]
    required = [f.name for f in missing if not f.nullable]
    if required:
        raise SchemaError(f"column {required[0]!r} is missing and required (key or event time)")
    unfilled = [f.name for f in missing if f.name not in defaults]
    if unfilled and not allow_missing:
        raise SchemaError(
            f"column(s) {unfilled} are missing; nothing was written. Pass them, give values "
            "with defaults={name: value}, or allow_missing_columns=True to store nulls"
        )
    filled = {f.name: defaults.get(f.name) for f in missing}
    columns = []
    for field in schema:
        if field.name not in given:
            columns.append(_filled(field, filled[field.name], table.num_rows))
            continue
        column = table.column(field.name)
        if column.type != field.type:
            if not _castable(column.type, field.type):
                raise SchemaError(
                    f"column {field.name!r} has type {column.type} but the feature group stores "
                    f"{field.type}; changing a feature's type needs a new feature group version"
                )
            try:
                column = column.cast(field.type)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                raise SchemaError(
                    f"column {field.name!r} cannot be stored as {field.type}: {exc}"
                ) from exc
        columns.append(column)
    return pa.Table.from_arrays(columns, schema=schema), filled


def _filled(field: pa.Field, value: Any, rows: int) -> pa.Array:
    if value is None:
        return pa.nulls(rows, field.type)
    try:
        return pa.repeat(pa.scalar(value, field.type), rows)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError) as exc:
        message = f"default {value!r} of {field.name!r} is not a {field.type}: {exc}"
        raise SchemaError(message) from exc
