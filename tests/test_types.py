"""Type names round-trip: what fti records of a feature's type (``str(pa_type)``) reads back
as that type, for every type a feature group can store, nested ones included."""

from __future__ import annotations

import re

import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

import fti
from fti.types import normalize_type, parse_type

SCALARS = [
    pa.bool_(), pa.int8(), pa.int16(), pa.int32(), pa.int64(), pa.float32(), pa.float64(),
    pa.string(), pa.binary(), pa.date32(), pa.timestamp("us", tz="UTC"), pa.timestamp("ms"),
]  # fmt: skip
decimals = st.builds(
    lambda wide, precision, scale: (pa.decimal256 if wide else pa.decimal128)(
        precision, min(scale, precision)
    ),
    st.booleans(),
    st.integers(1, 38),
    st.integers(0, 38),
)
names = st.from_regex(r"[a-z_][a-z0-9_]{0,8}", fullmatch=True)


def _struct(fields: list[tuple[str, pa.DataType, bool]]) -> pa.DataType:
    unique = {name: (typ, nullable) for name, typ, nullable in fields}
    return pa.struct([pa.field(n, t, nullable=null) for n, (t, null) in unique.items()])


types = st.recursive(
    st.sampled_from(SCALARS) | decimals,
    lambda inner: st.one_of(
        inner.map(pa.list_),
        st.lists(st.tuples(names, inner, st.booleans()), min_size=1, max_size=3).map(_struct),
        st.tuples(st.sampled_from([pa.string(), pa.int64()]), inner).map(lambda kv: pa.map_(*kv)),
    ),
    max_leaves=6,
)


@given(typ=types)
def test_every_storable_type_reads_back_from_its_name(typ: pa.DataType) -> None:
    assert parse_type(str(typ)) == normalize_type(typ)


@pytest.mark.parametrize(
    ("name", "typ"),
    [
        ("double", pa.float64()),
        ("float", pa.float32()),
        ("str", pa.string()),
        ("timestamp", pa.timestamp("us", tz="UTC")),
        ("decimal(10, 2)", pa.decimal128(10, 2)),
    ],
)
def test_short_names(name: str, typ: pa.DataType) -> None:
    assert parse_type(name) == typ


@pytest.mark.parametrize(
    "name", ["nope", "list<double>", "decimal128(3)", "map<string>", "struct<a int64>", ""]
)
def test_an_unknown_type_name_is_a_schema_error(name: str) -> None:
    with pytest.raises(fti.SchemaError, match=re.escape(f"unknown type {name!r}")):
        parse_type(name)
