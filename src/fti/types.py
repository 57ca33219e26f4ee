"""Names and types shared by every layer: what a feature, column or object may be called, and
the Arrow type fti stores for a declared or given type.

Types are normalized to what Delta Lake stores natively (microsecond UTC timestamps, plain
strings, signed integers) so a value reads back exactly as it was written.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
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


def check_distinct(names: Iterable[str], what: str) -> None:
    """No name twice, also not in another case: Delta Lake and DuckDB compare column names
    without case, so ``x`` and ``X`` would be one column to them."""
    seen: dict[str, str] = {}
    for name in names:
        other = seen.get(name.lower())
        if other == name:
            raise SchemaError(f"{what} {name!r} appears twice")
        if other is not None:
            raise SchemaError(
                f"{what}s {other!r} and {name!r} differ only in case: Delta Lake and DuckDB "
                "treat them as one; rename one"
            )
        seen[name.lower()] = name


def parse_type(value: str | pa.DataType) -> pa.DataType:
    """An Arrow type from a DataType or a name such as "int64", "string", "timestamp"; every
    type's own name (``str(pa_type)``: ``decimal128(12, 3)``, ``list<item: double>``,
    ``struct<a: int64, b: string>``, ``map<string, int64>``) reads back as that type."""
    if isinstance(value, pa.DataType):
        return normalize_type(value)
    try:
        return normalize_type(_parse(value.strip()))
    except (ValueError, KeyError) as exc:
        raise SchemaError(
            f"unknown type {value!r}: use an Arrow type name such as int64, double, string, "
            "bool, timestamp, date32, binary, decimal128(10, 2), list<item: double>, or a "
            "pyarrow DataType"
        ) from exc


_DECIMAL = re.compile(r"^decimal(128|256)?\((\d+),\s*(-?\d+)\)$")
_NESTED = re.compile(r"^(list|large_list|struct|map)<(.*)>$")


def _parse(text: str) -> pa.DataType:
    if text in _ALIASES:
        return _ALIASES[text]
    if text.startswith("timestamp"):  # "timestamp", or an Arrow name: timestamp[ns, tz=...]
        naive = text.startswith("timestamp[") and "tz=" not in text
        return pa.timestamp("us") if naive else UTC_MICROS
    decimal = _DECIMAL.match(text)
    if decimal:
        bits, precision, scale = decimal.groups()
        make = pa.decimal256 if bits == "256" else pa.decimal128
        return make(int(precision), int(scale))
    nested = _NESTED.match(text)
    if nested is None:
        return pa.type_for_alias(text)
    kind, inner = nested.groups()
    parts = _split(inner)
    if kind == "map":
        if len(parts) != 2:
            raise ValueError(text)
        return pa.map_(_parse(parts[0]), _parse(parts[1]))
    fields = [_field(part) for part in parts]
    if kind == "struct":
        return pa.struct(fields)
    if len(fields) != 1:
        raise ValueError(text)
    return pa.list_(fields[0].type)


def _field(text: str) -> pa.Field:
    name, sep, typ = text.partition(": ")
    if not sep:
        raise ValueError(text)
    nullable = not typ.endswith(" not null")
    return pa.field(name, _parse(typ.removesuffix(" not null")), nullable=nullable)


def _split(text: str) -> list[str]:
    """``text`` split at its top-level commas (not those inside <...> or (...))."""
    parts, depth, start = [], 0, 0
    for i, char in enumerate(text):
        if char in "<([":
            depth += 1
        elif char in ">)]":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(text[start:i].strip())
            start = i + 1
    parts.append(text[start:].strip())
    return parts


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
    if pa.types.is_struct(typ):
        return pa.struct([f.with_type(normalize_type(f.type)) for f in typ])
    if pa.types.is_map(typ):
        return pa.map_(normalize_type(typ.key_type), normalize_type(typ.item_type))
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
