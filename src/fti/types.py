"""Names and types shared by every layer: what a feature, column or object may be called, and
the Arrow type fti stores for a declared or given type.

Types are normalized to what Delta Lake stores natively (microsecond UTC timestamps, plain
strings, signed integers) so a value reads back exactly as it was written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from fti.errors import SchemaError

NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_ALIASES = {"float": pa.float32(), "double": pa.float64(), "str": pa.string(), "bool": pa.bool_()}
UTC_MICROS = pa.timestamp("us", tz="UTC")


def check_name(name: str, what: str) -> None:
    if not isinstance(name, str) or not NAME_PATTERN.match(name) or len(name) > 128:
        raise SchemaError(
            f"invalid {what} name {name!r}: use letters, digits and underscores, "
            "starting with a letter or underscore (at most 128 characters)"
        )


def parse_type(value: str | pa.DataType) -> pa.DataType:
    """An Arrow type from a DataType or a name such as "int64", "string", "timestamp"."""
    if isinstance(value, pa.DataType):
        return normalize_type(value)
    text = value.strip()
    if text in _ALIASES:
        return _ALIASES[text]
    if text.startswith("timestamp"):
        return UTC_MICROS
    try:
        return normalize_type(pa.type_for_alias(text))
    except (ValueError, KeyError) as exc:
        raise SchemaError(
            f"unknown type {value!r}: use an Arrow type name such as int64, double, string, "
            "bool, timestamp, date32, binary, or a pyarrow DataType"
        ) from exc


def normalize_type(typ: pa.DataType) -> pa.DataType:
    """The type fti stores for ``typ`` (what Delta Lake keeps without loss)."""
    if pa.types.is_timestamp(typ):
        return pa.timestamp("us", tz="UTC" if typ.tz is not None else None)
    if pa.types.is_large_string(typ) or pa.types.is_string_view(typ):
        return pa.string()
    if pa.types.is_large_binary(typ) or pa.types.is_binary_view(typ):
        return pa.binary()
    if pa.types.is_dictionary(typ):
        return normalize_type(typ.value_type)
    if pa.types.is_unsigned_integer(typ):
        # Delta has no unsigned types: take the next wider signed one (uint64 must fit int64).
        widths = {8: pa.int16(), 16: pa.int32(), 32: pa.int64(), 64: pa.int64()}
        return widths[typ.bit_width]
    if pa.types.is_float16(typ):
        return pa.float32()
    if pa.types.is_date64(typ):
        return pa.date32()
    if pa.types.is_list(typ) or pa.types.is_large_list(typ) or pa.types.is_list_view(typ):
        return pa.list_(normalize_type(typ.value_type))
    if pa.types.is_time(typ) or pa.types.is_duration(typ) or pa.types.is_null(typ):
        raise SchemaError(f"type {typ} cannot be stored in a feature group")
    return typ


@dataclass(frozen=True)
class Feature:
    """One column of a feature group: name, Arrow type and a description."""

    name: str
    type: pa.DataType
    description: str = ""

    def __init__(self, name: str, type: str | pa.DataType, description: str = "") -> None:
        check_name(name, "feature")
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "type", parse_type(type))
        object.__setattr__(self, "description", description)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "type": str(self.type), "description": self.description}
