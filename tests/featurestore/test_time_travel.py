"""Time travel against a brute-force model (docs/architecture.md §4): after random upserts,
commit ``i`` reads as the upsert model's state after the ``i``-th insert through every path
that reads history:

* ``fg.read(as_of=i)`` (delta-rs reads the snapshot);
* a query pinned with ``as_of`` (a commit id for every group, a commit per group, or a time),
  run by DuckDB over the commit's Parquet files, materialized or streamed;
* the training data of a feature view whose query is pinned, and its re-creation after later
  inserts.
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
Rows = set[tuple[int, object, float | None]]


def as_rows(table: pa.Table) -> Rows:
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
@given(batches=st.lists(batch, min_size=1, max_size=4), later=batch, pin=st.integers(0, 3))
def test_every_read_path_returns_each_historical_state(
    fs: fti.FeatureStore,
    batches: list[list[tuple[int, int, float | None]]],
    later: list[tuple[int, int, float | None]],
    pin: int,
) -> None:
    fg = fs.create_feature_group(
        f"tt_{next(_names)}", primary_key=["cc_num"], event_time="event_ts"
    )
    key = f"{fg.name}:{fg.version}"
    model: dict[tuple[int, object], float | None] = {}
    states: list[Rows] = []
    for rows in batches:
        data = insert(fg, rows)
        for k, when, value in as_rows(data):
            model[(k, when)] = value  # upsert on (key, event time)
        states.append({(k, t, v) for (k, t), v in model.items()})
    commits = fg.commit_details()
    assert [c.commit_id for c in commits] == list(range(len(batches)))

    for i, expected in enumerate(states):
        assert as_rows(fg.read(as_of=i, dataframe_type="arrow")) == expected
        query = fg.select_all().as_of(i)
        assert as_rows(query.to_arrow()) == expected
        assert as_rows(pa.Table.from_batches(list(query.read_batches(batch_size=3)))) == expected
        by_group = fg.select_all().as_of({key: i}).read(dataframe_type="arrow")
        assert as_rows(by_group) == expected
        # a time names the newest commit at or before it (commits may share a millisecond)
        when = commits[i].committed_at
        newest = max(c.commit_id for c in commits if c.committed_at <= when)
        assert as_rows(fg.select_all().as_of(when).to_arrow()) == states[newest]
    assert as_rows(fg.read(dataframe_type="arrow")) == states[-1]
    assert as_rows(fg.select_all().to_arrow()) == states[-1]

    # a feature view on a pinned query trains on that commit, then and after later inserts
    pinned = min(pin, len(batches) - 1)
    fv = fs.create_feature_view(f"{fg.name}_view", query=fg.select_all().as_of(pinned))
    x, _ = fv.training_data(
        primary_key=True, event_time=True, statistics_config=False, dataframe_type="arrow"
    )
    assert as_rows(x) == states[pinned]
    assert fv.get_training_dataset(1).commits == {key: pinned}
    insert(fg, later)
    again, _ = fv.get_training_data(1, primary_key=True, event_time=True, dataframe_type="arrow")
    assert again.equals(x)
