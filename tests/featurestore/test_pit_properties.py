"""Point-in-time joins against a brute-force reference (docs/architecture.md §4).

Hypothesis draws the query as well as the data. A root (spine) group is joined to

* ``A`` on the root's ``key``, given as ``on=``, as ``left_on``/``right_on`` or left to the
  primary key, and through ``A`` to ``C`` (a snowflake of depth 2, on ``A``'s ``ck``);
* ``B`` on a composite key (``left_on``/``right_on`` in either column order), whose event time
  has its own name;
* ``D``, a group without an event time (a plain key join);

each join left or inner, with or without a prefix (nested prefixes add up), ``max_feature_age``
on the leaves, the root's joins in any order, ``A`` and ``C`` read at an earlier commit
(``as_of``) or the latest, and filters on a root feature and on a joined one.

The reference knows nothing of fti: each group's rows are dicts, upserted batch by batch on
(primary key, event time), and for every root row it scans them for the row with the greatest
event time <= the **root** row's event time (a nested join too compares with the root's, not
with its parent's), nulls when there is none or it is older than ``max_feature_age``, the row
dropped when an inner join finds nothing, then the filter as SQL reads it (a null compares
false).
"""

from __future__ import annotations

import datetime as dt
import itertools
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fti
from tests.featurestore.helpers import ts

_names = itertools.count()
UTC_US = pa.timestamp("us", tz="UTC")
Row = dict[str, Any]

OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}

small = st.integers(0, 3)
maybe = st.one_of(st.none(), st.integers(-3, 3))
second = st.integers(0, 6)


def rows_of(
    columns: dict[str, st.SearchStrategy[Any]], unique: Sequence[str], min_size: int
) -> st.SearchStrategy[list[Row]]:
    return st.lists(
        st.fixed_dictionaries(columns),
        min_size=min_size,
        max_size=8,
        unique_by=lambda r: tuple(r[c] for c in unique),
    )


# The root holds every key combination (nulls included) at every second: each drawn group row
# is seen from every root time, before, at and after its own, which makes the draws count.
KEYS_1 = (None, 0, 1, 2, 3)
KEYS_2 = (None, 0, 1, 2)
SECONDS = range(7)
SPINE: list[Row] = [
    {"key": key, "k2": k2, "x": (None, 0, 1, 2, 3)[i % 5], "event_ts": when}
    for i, (key, k2, when) in enumerate(itertools.product(KEYS_1, KEYS_2, SECONDS))
]
a_rows = rows_of(
    {"key": small, "a_ts": second, "va": maybe, "ck": st.sampled_from([None, 0, 1, 2])},
    ["key", "a_ts"],
    1,
)
c_rows = rows_of({"cid": st.integers(0, 2), "c_ts": second, "cv": maybe}, ["cid", "c_ts"], 1)
b_rows = rows_of(
    {"bk": small, "bk2": st.integers(0, 2), "b_ts": second, "vb": maybe}, ["bk", "bk2", "b_ts"], 0
)
d_rows = rows_of({"key": small, "vd": maybe}, ["key"], 0)


def conditions(values: st.SearchStrategy[int]) -> st.SearchStrategy[tuple[str, int] | None]:
    """A comparison with a value, most of the time."""
    drawn = st.tuples(st.sampled_from([None, *sorted(OPERATORS)]), values)
    return drawn.map(lambda c: None if c[0] is None else (c[0], c[1]))


@dataclass(frozen=True)
class Shape:
    """The drawn query: how each group is joined and what is pinned and filtered."""

    join_type: dict[str, str]  # group -> left | inner
    prefix: dict[str, str]  # group -> prefix of its own join
    a_keys: str  # on | left_right | primary_key
    b_swapped: bool  # composite key columns given in the other order
    b_age: int | None  # max_feature_age in seconds
    c_age: int | None
    order: tuple[str, ...]  # the root's joins
    x_filters: tuple[tuple[str, int], ...]  # two (operator, value) on the root's x
    b_filter: tuple[str, int] | None  # on B's vb as the output shows it, a query of its own


shapes = st.builds(
    Shape,
    join_type=st.fixed_dictionaries({g: st.sampled_from(["left", "inner"]) for g in "ABCD"}),
    prefix=st.fixed_dictionaries({g: st.sampled_from(["", f"p{g.lower()}_"]) for g in "ABCD"}),
    a_keys=st.sampled_from(["on", "left_right", "primary_key"]),
    b_swapped=st.booleans(),
    b_age=st.one_of(st.none(), st.integers(0, 4)),
    c_age=st.one_of(st.none(), st.integers(0, 4)),
    order=st.permutations(["A", "B", "D"]).map(tuple),
    x_filters=st.tuples(st.permutations(sorted(OPERATORS)), small, small).map(
        lambda t: ((t[0][0], t[1]), (t[0][1], t[2]))
    ),
    b_filter=conditions(st.integers(-3, 3)),
)


# -- the reference ----------------------------------------------------------------------------


def upserted(batches: Sequence[list[Row]], key: Sequence[str]) -> list[Row]:
    """The rows after the batches, each replacing a stored row with the same ``key`` values."""
    state: dict[tuple[Any, ...], Row] = {}
    for batch in batches:
        for row in batch:
            state[tuple(row[c] for c in key)] = row
    return list(state.values())


def as_of(rows: list[Row], match: dict[str, Any], time: str | None, when: int) -> Row | None:
    """The row whose columns equal ``match`` with the greatest ``time`` <= ``when`` (any, for a
    group without an event time); a null key value matches nothing, as in SQL."""
    if any(v is None for v in match.values()):
        return None
    found = [
        r
        for r in rows
        if all(r[c] == v for c, v in match.items()) and (time is None or r[time] <= when)
    ]
    if not found:
        return None
    assert time is not None or len(found) == 1  # a key without event time is unique
    return max(found, key=lambda r: r[time]) if time else found[0]


def passes(condition: tuple[str, int] | None, value: Any) -> bool:
    if condition is None:
        return True
    op, operand = condition
    return value is not None and bool(OPERATORS[op](value, operand))


def reference(
    spine: list[Row],
    groups: dict[str, list[Row]],
    shape: Shape,
    b_filter: tuple[str, int] | None,
) -> tuple[list[str], list[Row]]:
    """The expected output columns and rows, in root primary-key order, of the rows a filter
    on B's vb keeps."""
    pre = shape.prefix
    own = {"A": ["a_ts", "va", "ck"], "C": ["c_ts", "cv"], "B": ["b_ts", "vb"], "D": ["vd"]}
    # a nested join's prefix follows its parent's
    named = {g: [pre[g] + c for c in cs] for g, cs in own.items() if g != "C"}
    named["C"] = [pre["A"] + pre["C"] + c for c in own["C"]]
    columns = ["id", "key", "k2", "x", "event_ts"]
    for group in shape.order:
        columns += named[group] + (named["C"] if group == "A" else [])
    ages = {"B": shape.b_age, "C": shape.c_age}
    expected = []
    for i, root in enumerate(spine):
        when = root["event_ts"]
        matches = {}
        matches["A"] = as_of(groups["A"], {"key": root["key"]}, "a_ts", when)
        parent = matches["A"]
        # the nested join compares C's event time with the root's, through A's matched row
        matches["C"] = (
            None if parent is None else as_of(groups["C"], {"cid": parent["ck"]}, "c_ts", when)
        )
        matches["B"] = as_of(groups["B"], {"bk": root["key"], "bk2": root["k2"]}, "b_ts", when)
        matches["D"] = as_of(groups["D"], {"key": root["key"]}, None, when)
        if any(matches[g] is None and shape.join_type[g] == "inner" for g in "ABCD"):
            continue  # an inner join without a match drops the root row
        out: Row = {"id": i, **root}
        for group, row in matches.items():
            age = ages.get(group)
            fresh = row is not None and (age is None or when - row[f"{group.lower()}_ts"] <= age)
            for source, name in zip(own[group], named[group], strict=True):
                out[name] = row[source] if fresh and row is not None else None
        if passes(b_filter, out[named["B"][1]]):
            expected.append(out)
    times = [c for c in columns if c.endswith("_ts")]
    return columns, [
        {c: ts(row[c]) if c in times and row[c] is not None else row[c] for c in columns}
        for row in expected
    ]


# -- fti ---------------------------------------------------------------------------------------


def table(rows: list[Row], types: dict[str, pa.DataType]) -> pa.Table:
    return pa.table(
        {
            name: pa.array([ts(r[name]) if typ == UTC_US else r[name] for r in rows], typ)
            for name, typ in types.items()
        }
    )


def declared(
    fs: fti.FeatureStore,
    name: str,
    types: dict[str, pa.DataType],
    primary_key: list[str],
    event_time: str | None,
) -> fti.FeatureGroup:
    """A group with a declared schema: it may stay empty (no commit), which reads as no
    matches."""
    return fs.create_feature_group(
        name,
        primary_key=primary_key,
        event_time=event_time,
        features=[
            fti.Feature(n, "timestamp" if t == UTC_US else "int64") for n, t in types.items()
        ],
    )


INT = pa.int64()
TYPES = {
    "A": {"key": INT, "a_ts": UTC_US, "va": INT, "ck": INT},
    "B": {"bk": INT, "bk2": INT, "b_ts": UTC_US, "vb": INT},
    "C": {"cid": INT, "c_ts": UTC_US, "cv": INT},
    "D": {"key": INT, "vd": INT},
}
KEYS: dict[str, tuple[list[str], str | None]] = {
    "A": (["key"], "a_ts"),
    "B": (["bk", "bk2"], "b_ts"),
    "C": (["cid"], "c_ts"),
    "D": (["key"], None),
}

UPSERT_KEYS = {g: [*pk, *([time] if time else [])] for g, (pk, time) in KEYS.items()}


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    a_batches=st.lists(a_rows, min_size=1, max_size=3),
    c_batches=st.lists(c_rows, min_size=1, max_size=2),
    b_batch=b_rows,
    d_batch=d_rows,
    shape=shapes,
    a_pin=st.one_of(st.none(), st.integers(0, 2)),
    c_pin=st.one_of(st.none(), st.integers(0, 1)),
)
def test_point_in_time_join_matches_brute_force(
    fs: fti.FeatureStore,
    a_batches: list[list[Row]],
    c_batches: list[list[Row]],
    b_batch: list[Row],
    d_batch: list[Row],
    shape: Shape,
    a_pin: int | None,
    c_pin: int | None,
) -> None:
    n = next(_names)
    root = fs.create_feature_group(f"spine_{n}", primary_key=["id"], event_time="event_ts")
    root.insert(
        table(
            [{"id": i, **r} for i, r in enumerate(SPINE)],
            {"id": INT, "key": INT, "k2": INT, "x": INT, "event_ts": UTC_US},
        )
    )
    batches = {"A": a_batches, "C": c_batches, "B": [b_batch], "D": [d_batch]}
    groups = {}
    for g, (primary_key, event_time) in KEYS.items():
        groups[g] = declared(fs, f"{g.lower()}_{n}", TYPES[g], primary_key, event_time)
        for batch in batches[g]:  # late rows and corrections of earlier (key, time) rows
            groups[g].insert(table(batch, TYPES[g]))
    # A and C read at an earlier commit (commit i holds batches 0 to i) or the latest
    a_pin = None if a_pin is None else min(a_pin, len(a_batches) - 1)
    c_pin = None if c_pin is None else min(c_pin, len(c_batches) - 1)
    read = {"A": a_pin, "C": c_pin, "B": None, "D": None}
    seen = {
        g: upserted(batches[g] if pin is None else batches[g][: pin + 1], UPSERT_KEYS[g])
        for g, pin in read.items()
    }

    def age(seconds: int | None) -> dt.timedelta | None:
        return None if seconds is None else dt.timedelta(seconds=seconds)

    a, b, c, d = (groups[g] for g in "ABCD")
    keys: dict[str, Any] = {
        "on": {"on": ["key"]},
        "left_right": {"left_on": ["key"], "right_on": ["key"]},
        "primary_key": {},
    }[shape.a_keys]
    a_query = a.select_all().join(
        c.select_all(),
        left_on=["ck"],
        right_on=["cid"],
        join_type=shape.join_type["C"],
        prefix=shape.prefix["C"],
        max_feature_age=age(shape.c_age),
    )
    b_left, b_right = (
        (["k2", "key"], ["bk2", "bk"]) if shape.b_swapped else (["key", "k2"], ["bk", "bk2"])
    )
    joins = {
        "A": lambda q: q.join(
            a_query, join_type=shape.join_type["A"], prefix=shape.prefix["A"], **keys
        ),
        "B": lambda q: q.join(
            b.select_all(),
            left_on=b_left,
            right_on=b_right,
            join_type=shape.join_type["B"],
            prefix=shape.prefix["B"],
            max_feature_age=age(shape.b_age),
        ),
        "D": lambda q: q.join(
            d.select_all(), on=["key"], join_type=shape.join_type["D"], prefix=shape.prefix["D"]
        ),
    }
    query = root.select_all()
    for g in shape.order:
        query = joins[g](query)
    pinned = {
        f"{groups[g].name}:1": pin for g, pin in (("A", a_pin), ("C", c_pin)) if pin is not None
    }
    if pinned:
        query = query.as_of(pinned)
    # Unfiltered, then each filter on its own: together they would leave few rows to check
    # the joins on. The root's x is filtered on the root alone, where every value of x is
    # present, so that a comparison is always told from its neighbour (>= from >).
    queries: list[tuple[fti.Query, tuple[str, int] | None]] = [(query, None)]
    if shape.b_filter is not None:
        op, value = shape.b_filter
        queries.append((query.filter(OPERATORS[op](b.vb, value)), shape.b_filter))
    for query, b_filter in queries:
        columns, expected = reference(SPINE, seen, shape, b_filter)
        result = query.read(dataframe_type="arrow")
        assert result.column_names == columns
        assert result.to_pylist() == expected, b_filter

    for op, value in shape.x_filters:
        rows = root.select_all().filter(OPERATORS[op](root.x, value)).read(dataframe_type="arrow")
        kept = [
            {"id": i, **r, "event_ts": ts(r["event_ts"])}
            for i, r in enumerate(SPINE)
            if passes((op, value), r["x"])
        ]
        assert rows.to_pylist() == kept, (op, value)
