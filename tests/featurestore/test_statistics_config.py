"""Statistics configuration as Hopsworks spells it (``statistics_config=``,
``fg.statistics_config = ...`` then ``fg.update_statistics_config()``), settings that do not
exist refused instead of ignored, and the training statistics a UDF reads: Hopsworks' names,
percentiles and the unique values a label encoder needs."""

from __future__ import annotations

import math
import statistics as py_statistics
from typing import Any

import pyarrow as pa
import pytest

import fti
from tests.featurestore.helpers import T0, ts

UTC_US = pa.timestamp("us", tz="UTC")


def _rows(n: int, offset: int = 0) -> pa.Table:
    return pa.table(
        {
            "k": pa.array(range(offset, offset + n), pa.int64()),
            "event_ts": pa.array([ts(offset + i) for i in range(n)], UTC_US),
            "v": [float(i % 4) for i in range(n)],
            "tier": [["gold", "silver", "gold", None][i % 4] for i in range(n)],
        }
    )


def _columns(fg: fti.FeatureGroup) -> dict[str, Any]:
    stats = fg.statistics()
    assert stats is not None
    columns: dict[str, Any] = stats["columns"]
    return columns


def test_a_configuration_given_at_creation_shapes_every_commit(fs: fti.FeatureStore) -> None:
    fg = fs.create_feature_group(
        "g",
        primary_key=["k"],
        event_time="event_ts",
        statistics_config={"histograms": False, "exact_uniqueness": True, "columns": ["v"]},
    )
    assert fg.statistics_config == fti.StatisticsConfig(
        histograms=False, exact_uniqueness=True, columns=("v",)
    )
    fg.insert(_rows(8))
    columns = _columns(fg)
    assert list(columns) == ["v"]  # only the configured column
    v = columns["v"]
    assert "histogram" not in v
    # v is 0, 1, 2, 3 twice: 4 distinct of 8, none seen once, entropy ln 4
    assert v["distinctness"] == 0.5 and v["uniqueness"] == 0.0
    assert v["entropy"] == pytest.approx(math.log(4))


def test_setting_then_updating_the_configuration(
    fs: fti.FeatureStore, project: fti.Project
) -> None:
    fg = fs.create_feature_group("g", primary_key=["k"], event_time="event_ts")
    fg.insert(_rows(4))
    assert "histogram" in _columns(fg)["v"]  # the default
    fg.statistics_config = {"histograms": False, "correlations": True}
    assert fg.statistics_config.correlations  # set here, not recorded yet
    assert not fs.get_feature_group("g", 1).statistics_config.correlations
    fg.update_statistics_config()
    fg.insert(_rows(4, offset=4))
    stats = fg.statistics()
    assert stats is not None and "correlations" in stats
    assert "histogram" not in stats["columns"]["v"]
    with fti.connect(project.home) as again:  # recorded in the catalog
        other = again.get_feature_store().get_feature_group("g", 1)
        assert other.statistics_config == fti.StatisticsConfig(histograms=False, correlations=True)
    fg.update_statistics_config(False)
    fg.insert(_rows(4, offset=8))
    assert fg.statistics(commit_id=2) is None  # this commit has none
    assert fg.statistics(commit_id=1) is not None


def test_no_statistics_and_bad_configurations(fs: fti.FeatureStore) -> None:
    off = fs.create_feature_group("off", primary_key=["k"], statistics_config=False)
    legacy = fs.create_feature_group("legacy", primary_key=["k"], statistics_enabled=False)
    for fg in (off, legacy):
        fg.insert(_rows(2).drop_columns(["event_ts"]))
        assert fg.statistics() is None and not fg.statistics_config.enabled
    with pytest.raises(fti.FtiError, match=r"unknown statistics_config key\(s\) \['bins'\]"):
        fs.create_feature_group("bad", primary_key=["k"], statistics_config={"bins": 3})
    with pytest.raises(fti.FtiError, match=r"unknown column\(s\) \['nope'\]"):
        fs.create_feature_group(
            "bad",
            primary_key=["k"],
            features=[fti.Feature("k", "int64")],
            statistics_config={"columns": ["nope"]},
        )
    with pytest.raises(fti.FtiError, match=r"unknown column\(s\) \['nope'\]"):
        off.update_statistics_config({"columns": ["nope"]})
    with pytest.warns(UserWarning, match=r"statistics_config\['kll'\] is ignored"):
        kll = fs.create_feature_group("kll", primary_key=["k"], statistics_config={"kll": True})
    assert kll.statistics_config == fti.StatisticsConfig()
    with pytest.raises(fti.FtiError, match="must be a bool"):
        fs.create_feature_group("bad", primary_key=["k"], statistics_config={"histograms": 1})


def test_whole_table_statistics_follow_the_configuration(fs: fti.FeatureStore) -> None:
    fg = fs.create_feature_group(
        "g", primary_key=["k"], event_time="event_ts", statistics_config={"columns": ["tier"]}
    )
    fg.insert(_rows(4))
    first = fg.commit_details()[0].committed_at
    fg.insert(_rows(4, offset=4))
    whole = fg.compute_statistics(wallclock_time=first)
    assert whole["commit_id"] == 0 and list(whole["columns"]) == ["tier"]
    assert whole["columns"]["tier"]["count"] == 3  # one null of four
    assert fg.compute_statistics()["columns"]["tier"]["count"] == 6
    with pytest.raises(fti.FtiError, match="as_of or wallclock_time"):
        fg.compute_statistics(1, wallclock_time=first)


def test_a_group_recorded_without_a_configuration_reads_its_flag(fs: fti.FeatureStore) -> None:
    """Groups created before configurations were recorded (migration 0010) have none."""
    fg = fs.create_feature_group("g", primary_key=["k"], statistics_enabled=False)
    fs._catalog.update_feature_group(fg.id, fg._record.revision, {"statistics_config": None})
    assert fs.get_feature_group("g", 1).statistics_config == fti.StatisticsConfig(enabled=False)


def test_setting_what_does_not_exist_is_an_error(fs: fti.FeatureStore) -> None:
    fg = fs.create_feature_group("g", primary_key=["k"], event_time="event_ts")
    fg.insert(_rows(4))
    fv = fs.create_feature_view("v", query=fg.select_all())
    for obj in (fg, fv):
        with pytest.raises(AttributeError, match="has no attribute 'statistic_config'"):
            obj.statistic_config = {"enabled": False}  # type: ignore[union-attr]
    with pytest.raises(AttributeError, match="has no setter"):
        fg.primary_key = ["other"]  # type: ignore[misc]
    with pytest.raises(AttributeError, match="has no setter"):
        fv.query = fg.select(["v"])  # type: ignore[misc]
    fg._scratch = 1  # private names are the object's own business


@fti.udf(int, mode="python")
def tier_code(tier, statistics):  # type: ignore[no-untyped-def]
    """A label encoder written as a UDF: the training categories, sorted; others -1."""
    known = statistics.tier.unique_values
    return known.index(tier) if tier in known else -1


@fti.udf(float)
def robust(v, statistics):  # type: ignore[no-untyped-def]
    """Hopsworks' robust scaler, by its statistics' names: median and the IQR."""
    p = statistics.v.percentiles
    return (v - p[49]) / (p[74] - p[24])


def test_training_statistics_a_udf_reads(fs: fti.FeatureStore) -> None:
    fg = fs.create_feature_group("g", primary_key=["k"], event_time="event_ts", online_enabled=True)
    fg.insert(_rows(8))
    fv = fs.create_feature_view(
        "v", query=fg.select(["v", "tier"]), transformation_functions=[tier_code, robust]
    )
    x, _ = fv.training_data(dataframe_type="arrow")
    # tier: gold, silver, gold, None: the known values are ["gold", "silver"]
    assert x.column("tier_code").to_pylist()[:4] == [0, 1, 0, -1]
    values = sorted(float(i % 4) for i in range(8))
    q = py_statistics.quantiles(values, n=4, method="inclusive")  # quantile_cont's
    expected = [(float(i % 4) - q[1]) / (q[2] - q[0]) for i in range(8)]
    assert x.column("robust").to_pylist() == pytest.approx(expected)
    stats = fv.get_training_dataset(1).statistics
    assert stats is not None
    assert stats["columns"]["tier"]["unique_values"] == ["gold", "silver"]
    fv.init_serving(1)
    served = fv.get_feature_vector({"k": 1}, return_type="dict")
    assert (served["robust"], served["tier_code"]) == (pytest.approx(expected[1]), 1)
    fg.insert(
        pa.table({"k": [20], "event_ts": pa.array([T0], UTC_US), "v": [9.0], "tier": ["bronze"]})
    )
    served = fv.get_feature_vector({"k": 20}, return_type="dict")
    assert served["tier_code"] == -1  # a category training never saw


@fti.udf({"std_dev": float, "nulls": int, "completeness": float, "distinct": int, "sum": float})
def hopsworks_names(v, statistics):  # type: ignore[no-untyped-def]
    s = statistics.v
    return {
        "std_dev": s.std_dev,
        "nulls": s.num_null_values,
        "completeness": s.completeness,
        "distinct": s.exact_num_distinct_values,
        "sum": s.sum,
    }


@fti.udf(int)
def count_categories(v, statistics):  # type: ignore[no-untyped-def]
    return len(statistics.v.unique_values)


def test_training_statistics_under_hopsworks_names(fs: fti.FeatureStore) -> None:
    fg = fs.create_feature_group("g", primary_key=["k"], event_time="event_ts")
    fg.insert(_rows(8))
    fv = fs.create_feature_view(
        "v", query=fg.select(["v", "tier"]), transformation_functions=[hopsworks_names]
    )
    x, _ = fv.training_data(dataframe_type="arrow")
    values = [float(i % 4) for i in range(8)]
    assert x.column("std_dev")[0].as_py() == pytest.approx(py_statistics.stdev(values))
    assert (x.column("nulls")[0].as_py(), x.column("completeness")[0].as_py()) == (0, 1.0)
    assert x.column("distinct")[0].as_py() == 4
    assert x.column("sum")[0].as_py() == pytest.approx(sum(values))
    view = fs.create_feature_view(
        "w", query=fg.select(["v"]), transformation_functions=[count_categories]
    )
    with pytest.raises(fti.FtiError, match=r"unique values of categorical columns .* only"):
        view.training_data()
