"""Online keys: the sizes the codec predicts from the columns are those of the encoded keys."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from fti.online.codec import RowCodec, key_sizes, oversized_keys

INT64 = st.integers(-(2**63), 2**63 - 1)
UTC = dt.UTC
# every type a primary key can have once fti has normalized it, with values at the edges of
# msgpack's size classes (fixint, 8/16/32/64-bit; fixstr, str8/16/32; bin8/16/32)
COLUMNS = {
    "int64": (pa.int64(), st.one_of(INT64, st.integers(-(2**33), 2**33))),
    "int32": (pa.int32(), st.integers(-(2**31), 2**31 - 1)),
    "int8": (pa.int8(), st.integers(-128, 127)),
    "float64": (pa.float64(), st.floats(allow_nan=False)),
    "float32": (pa.float32(), st.floats(width=32, allow_nan=False)),
    "bool": (pa.bool_(), st.booleans()),
    "string": (
        pa.string(),
        st.one_of(st.text(max_size=40), st.integers(0, 70_000).map(lambda n: "é" * (n // 2))),
    ),
    "binary": (pa.binary(), st.integers(0, 70_000).map(lambda n: b"\x00" * n)),
    "timestamp": (
        pa.timestamp("us", tz="UTC"),
        st.datetimes(timezones=st.just(UTC), min_value=dt.datetime(1, 1, 1)),
    ),
    "date32": (pa.date32(), st.dates()),
}


@st.composite
def keyed_tables(draw: st.DrawFn) -> tuple[pa.Table, list[str]]:
    names = draw(st.lists(st.sampled_from(sorted(COLUMNS)), min_size=1, max_size=4, unique=True))
    rows = draw(st.integers(1, 5))
    columns = {
        n: pa.array(draw(st.lists(COLUMNS[n][1], min_size=rows, max_size=rows)), COLUMNS[n][0])
        for n in names
    }
    return pa.table({**columns, "value": pa.array(range(rows), pa.int64())}), names


@settings(max_examples=200, deadline=None)
@given(keyed=keyed_tables())
def test_key_sizes_are_the_encoded_lengths(keyed: tuple[pa.Table, list[str]]) -> None:
    table, key = keyed
    codec = RowCodec(table.schema, key, None)
    encoded = [len(k) for k in codec.encode_table(table)[0]]
    assert key_sizes(table, key).to_pylist() == encoded
    for limit in sorted({*encoded, min(encoded) - 1, max(encoded) + 1}):
        expected = [(i, n) for i, n in enumerate(encoded) if n > limit][:10]
        assert oversized_keys(table, key, limit) == expected


def test_keys_of_numbers_only_are_never_oversized() -> None:
    table = pa.table({"a": pa.array([2**62, -(2**62)], pa.int64()), "b": [1.5, 2.5]})
    assert oversized_keys(table, ["a", "b"], 511) == []
    assert oversized_keys(table, ["a", "b"], 18) == [(0, 19), (1, 19)]
