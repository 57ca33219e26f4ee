"""On-demand transformations on feature groups: computed and stored at insert (backfill)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pyarrow as pa
import pytest

import fti
from tests.featurestore.helpers import ts

UTC_US = pa.timestamp("us", tz="UTC")


@fti.udf(float)
def amount_ratio(amount, avg_amount):  # type: ignore[no-untyped-def]
    return amount / avg_amount


@fti.udf(int, drop=["request_ts"])
def age_days(opened_ts, request_ts):  # type: ignore[no-untyped-def]
    delta = request_ts - opened_ts
    return delta.days if hasattr(delta, "days") else delta.dt.days


def rows() -> pa.Table:
    return pa.table(
        {
            "tx_id": pa.array([1, 2, 3], pa.int64()),
            "event_ts": pa.array([ts(0), ts(1), ts(2)], UTC_US),
            "amount": pa.array([10.0, None, 0.0]),
            "avg_amount": pa.array([4.0, 2.0, 0.0]),
            "opened_ts": pa.array([ts(0), ts(0), ts(0)], UTC_US),
            "request_ts": pa.array([ts(86_400 * 3), ts(86_400), ts(5)], UTC_US),
        }
    )


def test_insert_computes_and_stores_the_outputs(fs: fti.FeatureStore) -> None:
    fg = fs.create_feature_group(
        "tx",
        primary_key=["tx_id"],
        event_time="event_ts",
        transformation_functions=[amount_ratio, age_days],
    )
    fg.insert(rows())
    stored = fg.read(dataframe_type="arrow").sort_by("tx_id")
    assert "request_ts" not in stored.column_names  # dropped: request data, not a feature
    assert stored.column("amount_ratio").to_pylist() == [2.5, None, None]
    assert stored.column("age_days").to_pylist() == [3, 1, 0]
    assert [f.name for f in fg.transformation_functions] == ["amount_ratio", "age_days"]


def test_declared_schema_gets_the_outputs_and_checks_inputs(fs: fti.FeatureStore) -> None:
    features = [
        fti.Feature("tx_id", "int64"),
        fti.Feature("event_ts", "timestamp"),
        fti.Feature("amount", "double"),
        fti.Feature("avg_amount", "double"),
    ]
    fg = fs.create_feature_group(
        "tx",
        primary_key=["tx_id"],
        event_time="event_ts",
        features=features,
        transformation_functions=[amount_ratio],
    )
    assert fg.schema is not None and fg.schema.field("amount_ratio").type == pa.float64()
    with pytest.raises(fti.SchemaError, match=r"reads column\(s\) \['opened_ts'\]"):
        fs.create_feature_group(
            "tx2",
            primary_key=["tx_id"],
            event_time="event_ts",
            features=features,
            transformation_functions=[age_days],
        )


def test_a_missing_input_at_insert_writes_nothing(fs: fti.FeatureStore) -> None:
    fg = fs.create_feature_group(
        "tx", primary_key=["tx_id"], event_time="event_ts", transformation_functions=[age_days]
    )
    with pytest.raises(fti.SchemaError, match=r"age_days needs column\(s\) \['request_ts'\]"):
        fg.insert(rows().drop_columns(["request_ts"]))
    assert fg.commit_details() == []


def test_supplied_output_values_are_recomputed(fs: fti.FeatureStore) -> None:
    fg = fs.create_feature_group(
        "tx", primary_key=["tx_id"], event_time="event_ts", transformation_functions=[amount_ratio]
    )
    fg.insert(rows().append_column("amount_ratio", pa.array([99.0, 99.0, 99.0])))
    assert fg.read(dataframe_type="arrow").sort_by("tx_id").column("amount_ratio").to_pylist() == [
        2.5,
        None,
        None,
    ]


@pytest.mark.parametrize(
    ("functions", "match"),
    [
        (["not a udf"], "takes @fti.udf functions"),
        ([amount_ratio.alias("tx_id")], "overwrite the key"),
        ([amount_ratio, amount_ratio("amount", "amount")], "both output 'amount_ratio'"),
        ([amount_ratio, amount_ratio("amount_ratio", "amount").alias("r2")], "outputs of other"),
    ],
)
def test_bad_on_demand_definitions(fs: fti.FeatureStore, functions: list, match: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(fti.FtiError, match=match):
        fs.create_feature_group(
            "tx", primary_key=["tx_id"], event_time="event_ts", transformation_functions=functions
        )
    assert fs.get_feature_groups() == []


def test_statistics_wanting_udf_is_not_on_demand(fs: fti.FeatureStore) -> None:
    @fti.udf(float)
    def scaled(amount, statistics):  # type: ignore[no-untyped-def]
        return amount / statistics.amount.max

    with pytest.raises(fti.FtiError, match="model-dependent"):
        fs.create_feature_group(
            "tx", primary_key=["tx_id"], event_time="event_ts", transformation_functions=[scaled]
        )


def test_another_process_runs_the_recorded_code(fs: fti.FeatureStore, tmp_path: Path) -> None:
    """The function is rebuilt from the catalog's source: the defining module is not needed."""
    fg = fs.create_feature_group(
        "tx", primary_key=["tx_id"], event_time="event_ts", transformation_functions=[amount_ratio]
    )
    fg.insert(rows().slice(0, 1))
    home = fs._storage.home
    script = textwrap.dedent(
        f"""
        import datetime as dt, pyarrow as pa, fti
        fs = fti.connect({str(home)!r}).get_feature_store()
        fg = fs.get_feature_group("tx", 1)
        t = pa.table({{"tx_id": [9], "event_ts": pa.array([dt.datetime(2030, 1, 1,
            tzinfo=dt.UTC)], pa.timestamp("us", tz="UTC")), "amount": [9.0],
            "avg_amount": [3.0], "opened_ts": pa.array([None], pa.timestamp("us", tz="UTC"))}})
        fg.insert(t.drop_columns(["opened_ts"]), allow_missing_columns=True)
        print(fg.read(dataframe_type="arrow").sort_by("tx_id").column("amount_ratio"))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=tmp_path
    )
    assert "3" in out.stdout
    stored = fg.read(dataframe_type="arrow").sort_by("tx_id")
    assert stored.column("amount_ratio").to_pylist() == [2.5, 3.0]
    assert fs._catalog.list_functions() == [("amount_ratio", 1, amount_ratio.hash)]


def test_changed_code_under_one_name_is_a_new_version(fs: fti.FeatureStore) -> None:
    fs.create_feature_group(
        "a", primary_key=["tx_id"], event_time="event_ts", transformation_functions=[amount_ratio]
    )

    @fti.udf(float)
    def amount_ratio_v2(amount, avg_amount):  # type: ignore[no-untyped-def]
        return amount / avg_amount * 100

    changed = fti.UDF(**{**amount_ratio_v2.__dict__, "name": "amount_ratio"})
    assert changed.hash != amount_ratio.hash
    fs.create_feature_group(
        "b", primary_key=["tx_id"], event_time="event_ts", transformation_functions=[changed]
    )
    fs.create_feature_group(
        "c", primary_key=["tx_id"], event_time="event_ts", transformation_functions=[amount_ratio]
    )
    versions = [(n, v) for n, v, _ in fs._catalog.list_functions()]
    assert versions == [("amount_ratio", 1), ("amount_ratio", 2)]
