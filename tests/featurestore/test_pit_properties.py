"""Point-in-time joins against a brute-force reference (docs/architecture.md §4).

For every root row and every joined group: the row with the greatest event time <= the root
row's event time (after upserts: a re-inserted key and time replaces the older row), nulls when
there is none or it is older than ``max_feature_age``; exactly one output row per root row.
"""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fti
from tests.featurestore.helpers import T0, ts

_names = itertools.count()
UTC_US = pa.timestamp("us", tz="UTC")

feature_rows = st.lists(
    st.tuples(st.integers(0, 3), st.integers(0, 6), st.one_of(st.none(), st.integers(-9, 9))),
    min_size=0,
    max_size=10,
    unique_by=lambda r: (r[0], r[1]),
)
root_rows = st.lists(st.tuples(st.integers(0, 4), st.integers(0, 6)), min_size=1, max_size=12)


def group_table(rows: list[tuple[int, int, int | None]], value: str) -> pa.Table:
    return pa.table(
        {
            "key": pa.array([r[0] for r in rows], pa.int64()),
            "event_ts": pa.array([ts(r[1]) for r in rows], UTC_US),
            value: pa.array([r[2] for r in rows], pa.int64()),
        }
    )


def apply(
    state: dict[tuple[int, int], int | None], rows: list[tuple[int, int, int | None]]
) -> None:
    for key, when, val in rows:
        state[(key, when)] = val


def as_of(
    state: dict[tuple[int, int], int | None], key: int, when: int, max_age: int | None
) -> int | None:
    times = [t for (k, t) in state if k == key and t <= when]
    if not times:
        return None
    best = max(times)
    if max_age is not None and when - best > max_age:
        return None
    return state[(key, best)]


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    root=root_rows,
    a_batches=st.lists(feature_rows, min_size=1, max_size=3),
    b_rows=feature_rows,
    c_rows=st.lists(st.tuples(st.integers(0, 4), st.integers(-9, 9)), unique_by=lambda r: r[0]),
    max_age=st.one_of(st.none(), st.integers(0, 4)),
)
def test_point_in_time_join_matches_brute_force(
    fs: fti.FeatureStore,
    root: list[tuple[int, int]],
    a_batches: list[list[tuple[int, int, int | None]]],
    b_rows: list[tuple[int, int, int | None]],
    c_rows: list[tuple[int, int]],
    max_age: int | None,
) -> None:
    n = next(_names)
    spine = fs.create_feature_group(f"spine_{n}", primary_key=["id"], event_time="event_ts")
    spine.insert(
        pa.table(
            {
                "id": pa.array(range(len(root)), pa.int64()),
                "key": pa.array([r[0] for r in root], pa.int64()),
                "event_ts": pa.array([ts(r[1]) for r in root], UTC_US),
            }
        )
    )
    # Declared schemas: a group may stay empty (no commit), which must read as no matches.
    a, b = (
        fs.create_feature_group(
            f"{v}_{n}",
            primary_key=["key"],
            event_time="event_ts",
            features=[
                fti.Feature("key", "int64"),
                fti.Feature("event_ts", "timestamp"),
                fti.Feature(f"v{v}", "int64"),
            ],
        )
        for v in ("a", "b")
    )
    c = fs.create_feature_group(
        f"c_{n}",
        primary_key=["key"],
        features=[fti.Feature("key", "int64"), fti.Feature("vc", "int64")],
    )
    a_state: dict[tuple[int, int], int | None] = {}
    for rows in a_batches:  # later batches re-insert keys and times: late rows and corrections
        a.insert(group_table(rows, "va"))
        apply(a_state, rows)
    b_state: dict[tuple[int, int], int | None] = {}
    b.insert(group_table(b_rows, "vb"))
    apply(b_state, b_rows)
    c.insert(
        pa.table(
            {
                "key": pa.array([r[0] for r in c_rows], pa.int64()),
                "vc": pa.array([r[1] for r in c_rows], pa.int64()),
            }
        )
    )
    c_state = dict(c_rows)

    age = None if max_age is None else dt.timedelta(seconds=max_age)
    query = (
        spine.select_all()
        .join(a.select(["key", "va"]), max_feature_age=age)
        .join(b.select_all(), prefix="b_")
        .join(c.select_all(), on=["key"])
    )
    result = query.read(dataframe_type="arrow")

    assert result.num_rows == len(root)  # one row per root row, none dropped or duplicated
    got: dict[int, dict[str, Any]] = {r["id"]: r for r in result.to_pylist()}
    for i, (key, when) in enumerate(root):
        row = got[i]
        assert row["key"] == key and row["event_ts"] == ts(when)
        assert row["va"] == as_of(a_state, key, when, max_age), (i, "va")
        assert row["b_vb"] == as_of(b_state, key, when, None), (i, "vb")
        b_times = [t for (k, t) in b_state if k == key and t <= when]
        assert row["b_event_ts"] == (ts(max(b_times)) if b_times else None)
        assert row["vc"] == c_state.get(key), (i, "vc")
    assert result.column_names == ["id", "key", "event_ts", "va", "b_event_ts", "b_vb", "vc"]
    assert min(r["event_ts"] for r in got.values()) >= T0
