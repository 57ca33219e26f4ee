"""Property tests of the online side of docs/architecture.md §4 against brute-force models.

* online latest-wins: the online store equals "newest event time per key, ties to the later
  insert" over everything inserted, for random late and out-of-order inserts;
* no skew: online feature vectors (one at a time and in batches) equal a brute-force model of
  what they must hold (newest row per key, ``max_feature_age`` measured from now, the
  missing-values policy, composite keys), and so do the offline rows of the same entities at
  the same time; the newest-row batch data equals the model whichever store it is read from.

Time travel is in ``test_time_travel.py``, the point-in-time join in ``test_pit_properties.py``.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import statistics
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fti
from tests.featurestore.helpers import cards

_names = itertools.count()
UTC_US = pa.timestamp("us", tz="UTC")

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


# -- no skew -----------------------------------------------------------------------------------

# Entities: a user (uid) and one of their devices (dev). ``G`` holds a feature per (user,
# device), a composite key; ``H`` one per user. Event times are whole hours and a half before
# now, ages whole hours: a row is at least half an hour away from any age bound, however long
# the test takes.
UIDS, DEVS = range(6), range(3)
ENTITIES = [{"uid": u, "dev": d} for u in UIDS for d in DEVS]
assert (
    len(ENTITIES) >= fti.Settings.vector_batch_rows
)  # one get_feature_vectors call takes the column path
VALUE = st.one_of(st.none(), st.floats(-1e3, 1e3, allow_nan=False))
HOURS = st.integers(0, 8)
g_rows = st.lists(
    st.tuples(st.sampled_from(UIDS), st.sampled_from(DEVS), HOURS, VALUE),
    max_size=12,
    unique_by=lambda r: (r[0], r[1], r[2]),
)
h_rows = st.lists(
    st.tuples(st.sampled_from(UIDS), HOURS, VALUE), max_size=6, unique_by=lambda r: (r[0], r[1])
)
AGES = st.one_of(st.none(), st.sampled_from([1, 3, 6]))
Newest = dict[tuple[int, ...], tuple[int, float | None]]  # key -> (hours ago, value)


def newest(batches: list[list[tuple[Any, ...]]]) -> Newest:
    """Per key, the row with the newest event time (fewest hours ago); an equal time from a
    later batch replaces (it is the same offline row, upserted)."""
    out: Newest = {}
    for rows in batches:
        for *key, hours, value in rows:
            k = tuple(key)
            if k not in out or hours <= out[k][0]:
                out[k] = (hours, value)
    return out


def expected_value(
    rows: Newest, key: tuple[int, ...], age: int | None, missing: str, impute: float | None
) -> tuple[bool, float | None]:
    """(found, value) of one group's feature for one entity: a row older than ``age`` hours
    is found and null, a key without a row follows the ``missing`` policy."""
    if key not in rows:
        return False, impute if missing == "impute" else None
    hours, value = rows[key]
    return True, None if age is not None and hours >= age else value


def same(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12)


def same_rows(got: list[dict[str, Any]], want: list[dict[str, Any]]) -> bool:
    return len(got) == len(want) and all(
        g.keys() == w.keys() and all(same(g[k], w[k]) for k in g)
        for g, w in zip(got, want, strict=True)
    )


def groups(
    fs: fti.FeatureStore, now: dt.datetime, g_batches: list[Any], h_batches: list[Any]
) -> tuple[fti.FeatureGroup, fti.FeatureGroup, fti.FeatureGroup]:
    n = next(_names)
    tx = fs.create_feature_group(f"tx_{n}", primary_key=["tx_id"], event_time="event_ts")
    g = fs.create_feature_group(
        f"g_{n}",
        primary_key=["g_uid", "g_dev"],
        online_enabled=True,
        event_time="g_ts",
        features=[
            fti.Feature("g_uid", "int64"),
            fti.Feature("g_dev", "int64"),
            fti.Feature("g_ts", "timestamp"),
            fti.Feature("gv", "double"),
        ],
    )
    h = fs.create_feature_group(
        f"h_{n}",
        primary_key=["uid"],
        online_enabled=True,
        event_time="h_ts",
        features=[
            fti.Feature("uid", "int64"),
            fti.Feature("h_ts", "timestamp"),
            fti.Feature("hv", "double"),
        ],
    )

    def ago(hours: int) -> dt.datetime:
        return now - dt.timedelta(hours=hours, minutes=30)

    for rows in g_batches:  # one insert each: later ones carry older rows and corrections
        g.insert(
            pa.table(
                {
                    "g_uid": pa.array([r[0] for r in rows], pa.int64()),
                    "g_dev": pa.array([r[1] for r in rows], pa.int64()),
                    "g_ts": pa.array([ago(r[2]) for r in rows], UTC_US),
                    "gv": pa.array([r[3] for r in rows], pa.float64()),
                }
            )
        )
    for rows in h_batches:
        h.insert(
            pa.table(
                {
                    "uid": pa.array([r[0] for r in rows], pa.int64()),
                    "h_ts": pa.array([ago(r[1]) for r in rows], UTC_US),
                    "hv": pa.array([r[2] for r in rows], pa.float64()),
                }
            )
        )
    # one transaction per entity, to train on (the statistics the impute policy reads)
    tx.insert(spine(now - dt.timedelta(minutes=1)))
    return tx, g, h


def spine(when: dt.datetime) -> pa.Table:
    return pa.table(
        {
            "tx_id": pa.array(range(len(ENTITIES)), pa.int64()),
            "uid": pa.array([e["uid"] for e in ENTITIES], pa.int64()),
            "dev": pa.array([e["dev"] for e in ENTITIES], pa.int64()),
            "event_ts": pa.array([when] * len(ENTITIES), UTC_US),
            "amount": pa.array([float(i) for i in range(len(ENTITIES))]),
        }
    )


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    g_batches=st.lists(g_rows, min_size=1, max_size=3).map(lambda bs: [b for b in bs if b]),
    h_batches=st.lists(h_rows, min_size=1, max_size=2).map(lambda bs: [b for b in bs if b]),
    g_age=AGES,
    h_age=AGES,
    missing=st.sampled_from(["error", "null", "impute"]),
)
def test_online_vectors_match_a_brute_force_model(
    fs: fti.FeatureStore,
    monkeypatch: pytest.MonkeyPatch,
    g_batches: list[list[tuple[int, int, int, float | None]]],
    h_batches: list[list[tuple[int, int, float | None]]],
    g_age: int | None,
    h_age: int | None,
    missing: str,
) -> None:
    now = dt.datetime.now(dt.UTC)
    tx, g, h = groups(fs, now, g_batches, h_batches)
    query = (
        tx.select(["tx_id", "uid", "dev", "event_ts", "amount"])
        .join(
            g.select(["gv"]),
            left_on=["uid", "dev"],
            right_on=["g_uid", "g_dev"],
            max_feature_age=None if g_age is None else dt.timedelta(hours=g_age),
        )
        .join(
            h.select(["hv"]),
            on=["uid"],
            prefix="h_",
            max_feature_age=None if h_age is None else dt.timedelta(hours=h_age),
        )
    )
    fv = fs.create_feature_view(tx.name, query=query)
    x, _ = fv.training_data(dataframe_type="arrow")
    fv.init_serving(1, missing=missing)
    assert fv.serving_keys == ["uid", "dev"]

    def mean(column: str) -> float | None:
        present = [v for v in x.column(column).to_pylist() if v is not None]
        return statistics.fmean(present) if present else None

    g_rows, h_rows = newest(g_batches), newest(h_batches)

    def model(i: int, policy: str) -> tuple[bool, dict[str, Any]]:
        """Whether entity i has a row in both groups, and its expected vector."""
        entity = ENTITIES[i]
        g_found, gv = expected_value(
            g_rows, (entity["uid"], entity["dev"]), g_age, policy, mean("gv")
        )
        h_found, hv = expected_value(h_rows, (entity["uid"],), h_age, policy, mean("h_hv"))
        return g_found and h_found, {"amount": float(i), "gv": gv, "h_hv": hv}

    passed = [{"amount": float(i)} for i in range(len(ENTITIES))]
    vectors = [model(i, missing) for i in range(len(ENTITIES))]

    def online(i: int, features: dict[str, Any]) -> dict[str, Any]:
        """A vector holds the selected keys (the request's) and the transaction's id and time
        (its group is not online: null when not passed)."""
        return {"tx_id": None, **ENTITIES[i], "event_ts": None, **features}

    for i, (found, want) in enumerate(vectors):
        if missing == "error" and not found:
            with pytest.raises(fti.FeatureVectorNotFound, match="no online row in"):
                fv.get_feature_vector(ENTITIES[i], passed[i])
            continue
        got = fv.get_feature_vector(ENTITIES[i], passed[i], return_type="dict")
        assert same_rows([got], [online(i, want)]), (ENTITIES[i], got, want)
    if missing != "error" or all(found for found, _ in vectors):
        many = fv.get_feature_vectors(ENTITIES, passed, return_type="dict")
        assert same_rows(many, [online(i, want) for i, (_, want) in enumerate(vectors)])

    # offline, the same entities at the same time: a null where the store has no row
    now = spine(dt.datetime.now(dt.UTC))
    offline = fv.get_batch_data(
        spine=now, primary_key=False, event_time=False, dataframe_type="arrow"
    )
    assert same_rows(offline.to_pylist(), [model(i, "null")[1] for i in range(len(ENTITIES))])

    # the newest rows per entity, read from the offline table or from the online store, aged
    # from now as online
    for factor in (10**12, 0):  # never / always worth reading the online store
        monkeypatch.setattr(fs._storage, "settings", fti.Settings(online_scan_factor=factor))
        latest = fv.get_batch_data(latest_features=True, dataframe_type="arrow")
        expected = [model(i, "null")[1] for i in range(len(ENTITIES))]
        assert same_rows(latest.to_pylist(), expected), factor


def test_latest_batch_data_nulls_what_max_feature_age_nulls_online(fs: fti.FeatureStore) -> None:
    now = dt.datetime.now(dt.UTC)
    tx = fs.create_feature_group("tx", primary_key=["tx_id"], event_time="event_ts")
    card = fs.create_feature_group(
        "card", primary_key=["cc_num"], event_time="event_ts", online_enabled=True
    )
    tx.insert(
        pa.table(
            {
                "tx_id": pa.array([1], pa.int64()),
                "cc_num": pa.array([1], pa.int64()),
                "event_ts": pa.array([now - dt.timedelta(minutes=1)], UTC_US),
                "amount": [1.0],
            }
        )
    )
    card.insert(
        pa.table(
            {
                "cc_num": pa.array([1], pa.int64()),
                "event_ts": pa.array([now - dt.timedelta(hours=5)], UTC_US),
                "spend": [7.0],
            }
        )
    )
    query = tx.select_all().join(
        card.select_except(["event_ts"]), max_feature_age=dt.timedelta(hours=1)
    )
    fv = fs.create_feature_view("fraud", query=query)
    online = fv.get_feature_vector({"cc_num": 1}, {"amount": 1.0}, return_type="dict")
    features = {"amount": 1.0, "spend": None}  # five hours old, one allowed
    assert online == {"tx_id": None, "cc_num": 1, "event_ts": None, **features}
    latest = fv.get_batch_data(latest_features=True, dataframe_type="arrow")
    assert latest.to_pylist() == [features]
