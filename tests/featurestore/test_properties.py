"""Property tests of docs/architecture.md §4 against brute-force models.

* time travel: ``read(as_of=i)`` is exactly the upsert-model state after the i-th insert;
* online latest-wins: the online store equals "newest event time per key, ties to the later
  insert" over everything inserted, for random late and out-of-order inserts.
"""

from __future__ import annotations

import itertools

import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fti
from tests.featurestore.helpers import cards

_names = itertools.count()

# A batch: rows of (key, event second, value) with (key, second) unique inside the batch.
batch = st.lists(
    st.tuples(
        st.integers(0, 5),
        st.integers(0, 4),
        st.one_of(st.none(), st.floats(-1e6, 1e6, allow_nan=False)),
    ),
    min_size=1,
    max_size=8,
    unique_by=lambda row: (row[0], row[1]),
)
SETTINGS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def as_rows(table: pa.Table) -> set[tuple[int, object, float | None]]:
    return set(
        zip(
            table.column("cc_num").to_pylist(),
            table.column("event_ts").to_pylist(),
            table.column("spend").to_pylist(),
            strict=True,
        )
    )


def insert(fg: fti.FeatureGroup, rows: list[tuple[int, int, float | None]]) -> pa.Table:
    data = cards([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows])
    fg.insert(data)
    return data


@SETTINGS
@given(batches=st.lists(batch, min_size=1, max_size=5))
def test_time_travel_returns_each_historical_state(
    fs: fti.FeatureStore, batches: list[list[tuple[int, int, float | None]]]
) -> None:
    fg = fs.create_feature_group(
        f"tt_{next(_names)}", primary_key=["cc_num"], event_time="event_ts"
    )
    model: dict[tuple[int, object], float | None] = {}
    states = []
    for rows in batches:
        data = insert(fg, rows)
        for key, when, value in as_rows(data):
            model[(key, when)] = value  # upsert on (key, event time)
        states.append({(k, t, v) for (k, t), v in model.items()})
    assert [c.commit_id for c in fg.commit_details()] == list(range(len(batches)))
    for commit_id, expected in enumerate(states):
        assert as_rows(fg.read(as_of=commit_id, dataframe_type="arrow")) == expected
    assert as_rows(fg.read(dataframe_type="arrow")) == states[-1]


@SETTINGS
@given(batches=st.lists(batch, min_size=1, max_size=5))
def test_online_store_is_latest_by_event_time_per_key(
    fs: fti.FeatureStore, batches: list[list[tuple[int, int, float | None]]]
) -> None:
    fg = fs.create_feature_group(
        f"online_{next(_names)}", primary_key=["cc_num"], event_time="event_ts", online_enabled=True
    )
    latest: dict[int, tuple[object, float | None]] = {}
    for rows in batches:
        data = insert(fg, rows)
        for key, when, value in sorted(as_rows(data), key=lambda r: (r[0], r[1])):
            # ties on event time go to the later insert; within a batch keys are unique per time
            if key not in latest or when >= latest[key][0]:  # type: ignore[operator]
                latest[key] = (when, value)
    expected = {(k, t, v) for k, (t, v) in latest.items()}
    assert as_rows(fg.read(online=True, dataframe_type="arrow")) == expected
