"""Encoding feature rows for the online store.

A key is the msgpack encoding of the primary-key value (or the list of values for composite
keys); a value is the msgpack list of every other column in schema order. Temporal values
travel as integers (microseconds or days) so that encoding and decoding stay in msgpack's fast
C paths: this is the hot path of online feature vectors. msgpack was chosen over JSON (no bytes,
slower float round trips) and pickle (unsafe to read from a shared store).
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import msgpack
import pyarrow as pa
import pyarrow.compute as pc

from fti.errors import InvalidDataError, SchemaError

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_EPOCH_DATE = dt.date(1970, 1, 1)


def _is_temporal(typ: pa.DataType) -> bool:
    return bool(pa.types.is_timestamp(typ) or pa.types.is_date32(typ))


def _integer_type(typ: pa.DataType) -> pa.DataType:
    return pa.int64() if pa.types.is_timestamp(typ) else pa.int32()


def _key_normalizer(field: pa.Field) -> Callable[[Any], Any]:
    typ = field.type
    if pa.types.is_integer(typ):
        return operator.index  # ints and NumPy ints; a float or string key is an error
    if pa.types.is_string(typ):
        return str
    if pa.types.is_floating(typ):
        return float
    if pa.types.is_boolean(typ):
        return bool
    if pa.types.is_binary(typ):
        return bytes
    if pa.types.is_timestamp(typ):
        return micros
    if pa.types.is_date32(typ):
        return lambda v: (v - _EPOCH_DATE).days
    raise SchemaError(f"primary key column {field.name!r} of type {typ} is not supported online")


def from_integer(typ: pa.DataType) -> Callable[[int], Any] | None:
    """How a stored integer becomes a datetime or date again (``None``: stored as is)."""
    if pa.types.is_timestamp(typ):
        tz = dt.UTC if typ.tz is not None else None
        epoch = _EPOCH.replace(tzinfo=tz)
        return lambda v: epoch + dt.timedelta(microseconds=v)
    if pa.types.is_date32(typ):
        return lambda v: _EPOCH_DATE + dt.timedelta(days=v)
    return None


def micros(value: Any) -> int:
    """Microseconds since the epoch of a datetime (naive means UTC) or pandas Timestamp."""
    if isinstance(value, int):
        return value
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        delta: dt.timedelta = value - _EPOCH
        return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    raise InvalidDataError(f"expected a datetime, got {value!r}")


class RowCodec:
    """Encodes rows of one feature group's schema to online keys and values, and back."""

    def __init__(self, schema: pa.Schema, primary_key: Sequence[str], event_time: str | None):
        self.schema = schema
        self.primary_key = list(primary_key)
        self.event_time = event_time
        self.value_columns = [n for n in schema.names if n not in self.primary_key]
        self._normalizers = [_key_normalizer(schema.field(k)) for k in self.primary_key]
        self._single = len(self.primary_key) == 1
        self._width = len(self.value_columns)
        self._packb: Callable[[Any], bytes] = msgpack.Packer().pack
        for name in self.value_columns:
            typ = schema.field(name).type
            if pa.types.is_decimal(typ) or pa.types.is_struct(typ) or pa.types.is_map(typ):
                raise SchemaError(f"feature {name!r} of type {typ} is not supported online")

    def encode_key(self, values: Sequence[Any]) -> bytes:
        """The online key of one entity given its primary-key values in key order."""
        try:
            if self._single:
                return self._packb(self._normalizers[0](values[0]))
            return self._packb([f(v) for f, v in zip(self._normalizers, values, strict=True)])
        except (TypeError, ValueError, OverflowError) as exc:
            raise InvalidDataError(
                f"invalid primary key value(s) {list(values)!r} for {self.primary_key}: {exc}"
            ) from exc

    def key_encoder(self, names: Sequence[str]) -> Callable[[Mapping[str, Any]], bytes]:
        """An encoder of the key found under ``names`` (in primary-key order) in a mapping,
        built once: the per-request cost of a feature vector lookup."""
        if not self._single:
            return lambda entity: self.encode_key([entity[n] for n in names])
        name, normalize, pack = names[0], self._normalizers[0], self._packb

        def encode(entity: Mapping[str, Any]) -> bytes:
            try:
                return pack(normalize(entity[name]))
            except (TypeError, ValueError, OverflowError) as exc:
                raise InvalidDataError(
                    f"invalid primary key value {entity[name]!r} for {self.primary_key}: {exc}"
                ) from exc

        return encode

    def _pylists(self, table: pa.Table, names: Iterable[str]) -> list[list[Any]]:
        out = []
        for name in names:
            column = table.column(name)
            if _is_temporal(column.type):
                column = column.cast(_integer_type(column.type))
            out.append(column.to_pylist())
        return out

    def encode_table(self, table: pa.Table) -> tuple[list[bytes], list[int], list[bytes]]:
        """Keys, event times (µs, 0 without event time) and values of every row."""
        pack = self._packb
        key_lists = self._pylists(table, self.primary_key)
        if self._single:
            keys = [pack(v) for v in key_lists[0]]
        else:
            keys = [pack(list(row)) for row in zip(*key_lists, strict=True)]
        value_lists = self._pylists(table, self.value_columns)
        if value_lists:
            values = [pack(list(row)) for row in zip(*value_lists, strict=True)]
        else:  # a group of keys only: every entity maps to an empty row
            values = [pack([])] * table.num_rows
        if self.event_time is None:
            times = [0] * table.num_rows
        else:
            times = table.column(self.event_time).cast(pa.int64()).to_pylist()
        return keys, times, values

    def decode_value(self, value: bytes) -> list[Any]:
        """The raw value list (temporal features as integers) in ``value_columns`` order."""
        values: list[Any] = msgpack.unpackb(value)
        if len(values) < self._width:
            # Written before features were appended (appends only ever add at the end).
            values.extend([None] * (self._width - len(values)))
        return values

    def reader(self, features: Sequence[str] | None = None) -> Callable[[bytes], dict[str, Any]]:
        """A decoder of stored values into ``{feature: value}`` for the chosen features.

        Built once per feature selection so the per-lookup work is one msgpack decode and a
        few list lookups; timestamps come back as UTC datetimes, dates as dates.
        """
        names = list(self.value_columns if features is None else features)
        unknown = [n for n in names if n not in self.value_columns]
        if unknown:
            raise SchemaError(
                f"unknown feature(s) {unknown}; the online row has {self.value_columns}"
            )
        positions = [self.value_columns.index(n) for n in names]
        converters = [from_integer(self.schema.field(n).type) for n in names]
        plain = all(c is None for c in converters)
        decode = self.decode_value

        def read(value: bytes) -> dict[str, Any]:
            row = decode(value)
            if plain:
                return {n: row[p] for n, p in zip(names, positions, strict=True)}
            return {
                n: (row[p] if c is None or row[p] is None else c(row[p]))
                for n, p, c in zip(names, positions, converters, strict=True)
            }

        return read

    def to_table(self, pairs: Iterable[tuple[bytes, bytes]]) -> pa.Table:
        """An Arrow table of the schema from stored ``(key, value)`` pairs."""
        columns: dict[str, list[Any]] = {n: [] for n in self.schema.names}
        key_columns = [columns[k] for k in self.primary_key]
        value_columns = [columns[n] for n in self.value_columns]
        for key, value in pairs:
            decoded = msgpack.unpackb(key)
            for target, v in zip(key_columns, [decoded] if self._single else decoded, strict=True):
                target.append(v)
            for target, v in zip(value_columns, self.decode_value(value), strict=True):
                target.append(v)
        arrays = []
        for field in self.schema:
            if _is_temporal(field.type):
                raw = pa.array(columns[field.name], _integer_type(field.type))
                arrays.append(raw.cast(field.type))
            else:
                arrays.append(pa.array(columns[field.name], field.type))
        return pa.Table.from_arrays(arrays, schema=self.schema)


# msgpack's size classes: (lowest, highest, bytes) of ints from fixint to 32 bits (wider: 9),
# and (longest payload, header bytes) of str (fixstr to str32) and bin (bin8 to bin32).
_INT_SIZES = (
    (-(2**31), 2**32 - 1, 5),
    (-(2**15), 2**16 - 1, 3),
    (-(2**7), 2**8 - 1, 2),
    (-32, 127, 1),
)
_STR_HEADERS = ((2**16 - 1, 3), (2**8 - 1, 2), (31, 1))
_BIN_HEADERS = ((2**16 - 1, 3), (2**8 - 1, 2))
_WIDEST = 9  # a number's type byte and 8 bytes; a str or bin header is at most 5


def _is_sized(typ: pa.DataType) -> bool:
    return bool(pa.types.is_string(typ) or pa.types.is_binary(typ))


def _column_size(column: pa.ChunkedArray) -> int | pa.ChunkedArray:
    """The packed size of each value of a key column (one number when all take the same)."""
    typ = column.type
    if pa.types.is_floating(typ):
        return _WIDEST  # packed as a double whatever its width
    if pa.types.is_boolean(typ):
        return 1
    size: Any = pa.scalar(5 if _is_sized(typ) else _WIDEST, pa.int64())
    if _is_sized(typ):
        length = pc.cast(pc.binary_length(column), pa.int64())
        for longest, n in _STR_HEADERS if pa.types.is_string(typ) else _BIN_HEADERS:
            size = pc.if_else(pc.less_equal(length, longest), n, size)
        return pc.add(length, size)
    if _is_temporal(typ):
        column = column.cast(_integer_type(typ))
    elif not pa.types.is_integer(typ):
        raise SchemaError(f"a primary key of type {typ} is not supported online")
    values = pc.cast(column, pa.int64())
    for low, high, n in _INT_SIZES:
        inside = pc.and_(pc.greater_equal(values, low), pc.less_equal(values, high))
        size = pc.if_else(inside, n, size)
    return size


def key_sizes(table: pa.Table, primary_key: Sequence[str]) -> pa.ChunkedArray:
    """The byte length of every row's online key, as :meth:`RowCodec.encode_key` makes it,
    computed column by column (no key is encoded)."""
    header = 0 if len(primary_key) == 1 else 1 if len(primary_key) <= 15 else 3
    total: Any = pa.chunked_array([pa.repeat(pa.scalar(header, pa.int64()), table.num_rows)])
    for name in primary_key:
        size = _column_size(table.column(name))
        # a null packs as nil (1 byte); inserts refuse null keys before this anyway
        total = pc.add(total, size if isinstance(size, int) else pc.fill_null(size, 1))
    return total


def oversized_keys(
    table: pa.Table, primary_key: Sequence[str], limit: int, shown: int = 10
) -> list[tuple[int, int]]:
    """(row, key bytes) of the first ``shown`` rows whose online key is longer than ``limit``.

    Only strings and binaries make keys long: the longest of each column bounds every key
    from above, so inserts whose keys all fit (nearly all) cost one pass over those columns.
    """
    bound = 3  # the widest array header
    for name in primary_key:
        column = table.column(name)
        longest = pc.max(pc.binary_length(column)).as_py() if _is_sized(column.type) else None
        bound += _WIDEST if longest is None else longest + 5
    if bound <= limit:
        return []
    sizes = key_sizes(table, primary_key)
    rows = pc.indices_nonzero(pc.greater(sizes, limit)).slice(0, shown).to_pylist()
    return [(row, sizes[row].as_py()) for row in rows]
