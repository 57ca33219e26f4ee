"""Event times and time bounds as Hopsworks-style code gives them: timestamps with or without
a zone (without: UTC, as Hopsworks and Spark read them), dates, integer epoch milliseconds,
and bounds as strings in several forms; every time comes back as a UTC timestamp named
``UTC``, whatever the machine's zone."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

import fti
from fti._time import utc

UTC_US = pa.timestamp("us", tz="UTC")
DAY = dt.datetime(2022, 1, 1, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("2022-01-01", DAY),
        ("2022/01/01", DAY),
        ("2022-01-01 00:00:00", DAY),
        ("2022-01-01T10:30:00Z", DAY.replace(hour=10, minute=30)),
        ("2022-01-01 10:30:00+02:00", DAY.replace(hour=8, minute=30)),
        ("2022/01/01 10:30", DAY.replace(hour=10, minute=30)),
        ("20220101", DAY),
        ("2022010110", DAY.replace(hour=10)),
        ("202201011030", DAY.replace(hour=10, minute=30)),
        ("20220101103045", DAY.replace(hour=10, minute=30, second=45)),
        ("20220101103045123", DAY.replace(hour=10, minute=30, second=45, microsecond=123000)),
        (1640995200000, DAY),  # epoch milliseconds
        (1640995200, DAY),  # up to 10 digits: epoch seconds, as Hopsworks reads them
        (dt.datetime(2022, 1, 1), DAY),  # naive: UTC
        (dt.date(2022, 1, 1), DAY),
    ],
)
def test_time_forms(given: object, expected: dt.datetime) -> None:
    assert utc(given) == expected
    assert utc(given).tzinfo == dt.UTC


@pytest.mark.parametrize("bad", ["soon", "2022-13-01", "123", "", True, 1.5, [2022]])
def test_anything_else_is_an_error_naming_the_forms(bad: object) -> None:
    with pytest.raises(fti.FtiError, match=r"start_time.*2022-01-01.*epoch seconds or ms"):
        utc(bad, "start_time")


times = st.datetimes(
    min_value=dt.datetime(1971, 1, 1),
    max_value=dt.datetime(2200, 1, 1),
    timezones=st.sampled_from([dt.UTC, dt.timezone(dt.timedelta(hours=-7, minutes=-30))]),
)


@given(when=times)
def test_every_form_of_one_instant_is_that_instant(when: dt.datetime) -> None:
    instant = when.astimezone(dt.UTC)
    naive = instant.replace(tzinfo=None)
    forms = [
        when,
        naive,
        when.isoformat(),
        naive.isoformat(sep=" "),
        naive.strftime("%Y/%m/%d %H:%M:%S.%f"),
        naive.strftime("%Y%m%d%H%M%S") + f"{naive.microsecond // 1000:03d}",
    ]
    assert all(utc(f) == instant for f in forms[:5]), forms
    assert utc(forms[5]) == instant.replace(microsecond=instant.microsecond // 1000 * 1000)
    millis = int(instant.timestamp() * 1000)
    assert utc(millis) == dt.datetime.fromtimestamp(millis / 1000, dt.UTC)
    assert utc(int(instant.timestamp())) == instant.replace(microsecond=0)


KINDS = {
    "timestamp with a zone": pa.array([DAY, DAY + dt.timedelta(hours=5)], UTC_US),
    "timestamp without a zone": pa.array(
        [DAY.replace(tzinfo=None), (DAY + dt.timedelta(hours=5)).replace(tzinfo=None)],
        pa.timestamp("ms"),
    ),
    "date": pa.array([dt.date(2022, 1, 1), dt.date(2022, 1, 1)], pa.date32()),
    "epoch milliseconds": pa.array([1640995200000, 1640995200000 + 5 * 3600_000], pa.int64()),
}


@pytest.mark.parametrize("kind", list(KINDS))
def test_an_event_time_of_any_kind_is_stored_as_utc(fs: fti.FeatureStore, kind: str) -> None:
    fg = fs.create_feature_group("g", primary_key=["k"], event_time="ts", online_enabled=True)
    fg.insert(pa.table({"k": [1, 2], "ts": KINDS[kind], "v": [1.0, 2.0]}))
    read = fg.read(dataframe_type="arrow").sort_by("k")
    assert read.schema.field("ts").type == UTC_US
    hours = 0 if kind == "date" else 5
    assert read.column("ts").to_pylist() == [DAY, DAY + dt.timedelta(hours=hours)]
    assert fg.read(online=True, dataframe_type="arrow").sort_by("k").equals(read)


@pytest.mark.parametrize("kind", list(KINDS))
def test_a_declared_event_time_of_any_kind_is_a_utc_timestamp(
    fs: fti.FeatureStore, kind: str
) -> None:
    fg = fs.create_feature_group(
        "g",
        primary_key=["k"],
        event_time="ts",
        features=[fti.Feature("k", "int64"), fti.Feature("ts", KINDS[kind].type)],
    )
    assert fg.schema is not None and fg.schema.field("ts").type == UTC_US
    fg.insert(pa.table({"k": [1, 2], "ts": KINDS[kind]}))
    assert fg.read(dataframe_type="arrow").schema.field("ts").type == UTC_US


def test_point_in_time_joins_and_bounds_across_kinds(fs: fti.FeatureStore) -> None:
    """A spine with dates joined to a group whose event times are epoch milliseconds: the
    same rows as with UTC timestamps on both sides, bounded by strings."""
    tx = fs.create_feature_group("tx", primary_key=["id"], event_time="day")
    tx.insert(
        pa.table(
            {
                "id": [1, 2, 3],
                "card": [7, 7, 7],
                "day": pa.array([dt.date(2022, 1, d) for d in (1, 2, 3)], pa.date32()),
            }
        )
    )
    cards = fs.create_feature_group("cards", primary_key=["card"], event_time="at")
    hour = 3600_000
    cards.insert(
        pa.table(
            {
                "card": [7, 7],
                "at": pa.array([1640995200000 + 12 * hour, 1640995200000 + 36 * hour], pa.int64()),
                "spend": [10.0, 20.0],
            }
        )
    )
    fv = fs.create_feature_view("v", query=tx.select_all().join(cards.select(["spend"])))
    x, _ = fv.training_data(start_time="2022/01/02", end_time="20220104", dataframe_type="arrow")
    assert fv.get_batch_data(dataframe_type="arrow").num_rows == 3
    # Jan 2 00:00 sees the row of Jan 1 12:00; Jan 3 00:00 the row of Jan 2 12:00
    assert x.column("spend").to_pylist() == [10.0, 20.0]
    batch = fv.get_batch_data(start_time=dt.datetime(2022, 1, 1), dataframe_type="arrow")
    assert batch.column("spend").to_pylist() == [None, 10.0, 20.0]
    filtered = tx.filter(tx.day >= "2022-01-02").read(dataframe_type="arrow")
    assert filtered.column("id").to_pylist() == [2, 3]
    assert tx.filter(tx.day < 1641081600000).read(dataframe_type="arrow").num_rows == 1


def test_times_come_back_named_utc_whatever_the_machines_zone(tmp_path: Path) -> None:
    """fg.read, training data and batch data in a process whose zone is Tokyo: timestamp
    columns say ``UTC`` and hold the same instants (DuckDB's session zone would otherwise be
    the machine's)."""
    script = f"""
import datetime as dt, json
import pyarrow as pa
import fti
project = fti.connect({str(tmp_path / "home")!r})
fs = project.get_feature_store()
tx = fs.create_feature_group("tx", primary_key=["id"], event_time="ts")
naive = pa.array([dt.datetime(2022, 1, 1, 23, 30)], pa.timestamp("us"))
tx.insert(pa.table({{"id": [1], "ts": naive, "v": [1.0]}}))
fv = fs.create_feature_view("v", query=tx.select_all())
x, _ = fv.training_data(event_time=True, dataframe_type="arrow")
out = {{}}
for what, table in [("read", tx.read(dataframe_type="arrow")), ("training", x),
                    ("batch", fv.get_batch_data(event_time=True, dataframe_type="arrow"))]:
    field = table.schema.field("ts")
    out[what] = [field.type.tz, table.column("ts")[0].as_py().isoformat()]
print(json.dumps(out))
"""
    env = {**os.environ, "TZ": "Asia/Tokyo"}
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout.strip().splitlines()[-1])
    expected = ["UTC", "2022-01-01T23:30:00+00:00"]
    assert found == {"read": expected, "training": expected, "batch": expected}
