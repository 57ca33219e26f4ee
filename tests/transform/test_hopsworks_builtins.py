"""Hopsworks' built-in transformations on fti (``fti.hsfs.builtin_transformations``): the
column names and values Hopsworks' own definitions give, offline and online alike; and
fti's label encoder with Hopsworks' handling of unseen categories."""

from __future__ import annotations

import math
import statistics

import pyarrow as pa
import pytest

import fti
from fti.hsfs import builtin_transformations as hw
from tests.featurestore.helpers import ts

UTC_US = pa.timestamp("us", tz="UTC")
AMOUNTS = [1.0, 2.0, 4.0, 8.0, 16.0, None]
TIERS = ["gold", "silver", "gold", "bronze", None, "gold"]


def _view(fs: fti.FeatureStore, transforms: list[object]) -> fti.FeatureView:
    fg = fs.create_feature_group("g", primary_key=["k"], event_time="t", online_enabled=True)
    fg.insert(
        pa.table(
            {
                "k": list(range(6)),
                "t": pa.array([ts(i) for i in range(6)], UTC_US),
                "amount": AMOUNTS,
                "tier": TIERS,
            }
        )
    )
    return fs.create_feature_view(
        "v", query=fg.select(["amount", "tier"]), transformation_functions=transforms
    )


def test_names_and_values_as_hopsworks_defines_them(fs: fti.FeatureStore) -> None:
    fv = _view(fs, [hw.standard_scaler("amount"), hw.label_encoder("tier")])
    x, _ = fv.training_data(dataframe_type="arrow")
    assert x.column_names == ["standard_scaler_amount_", "label_encoder_tier_"]
    present = [a for a in AMOUNTS if a is not None]
    mean, sd = statistics.mean(present), statistics.stdev(present)  # pandas' sample std
    expected = [None if a is None else (a - mean) / sd for a in AMOUNTS]
    got = x.column("standard_scaler_amount_").to_pylist()
    assert got[:5] == pytest.approx(expected[:5]) and got[5] is None
    # sorted categories bronze, gold, silver; a null stays null
    assert x.column("label_encoder_tier_").to_pylist() == [1, 2, 1, 0, None, 1]
    fv.init_serving(1)
    assert fv.get_feature_vector({"k": 4}) == [pytest.approx(expected[4]), None]


def test_one_hot_and_log(fs: fti.FeatureStore) -> None:
    fv = _view(fs, [hw.one_hot_encoder("tier"), hw.log_transform("amount")])
    x, _ = fv.training_data(dataframe_type="arrow")
    # in place of their inputs; one column per category, numbered in sorted order
    assert x.column_names == [
        "log_transform_amount_",
        "one_hot_encoder_tier_0",  # bronze
        "one_hot_encoder_tier_1",  # gold
        "one_hot_encoder_tier_2",  # silver
    ]
    assert x.column("log_transform_amount_").to_pylist()[:5] == pytest.approx(
        [math.log(a) for a in AMOUNTS[:5]]  # type: ignore[arg-type]
    )
    assert x.column("one_hot_encoder_tier_1").to_pylist() == [True, False, True, False, False, True]


def test_unseen_categories_online(fs: fti.FeatureStore) -> None:
    fv = _view(fs, [hw.label_encoder("tier")])
    fv.training_data()
    fv.init_serving(1)
    fs.get_feature_group("g", 1).insert(
        pa.table({"k": [9], "t": pa.array([ts(9)], UTC_US), "amount": [1.0], "tier": ["platinum"]})
    )
    assert fv.get_feature_vector({"k": 9}, return_type="dict")["label_encoder_tier_"] == -1


def test_fti_label_encoder_with_hopsworks_unseen(fs: fti.FeatureStore) -> None:
    fv = _view(fs, [fti.builtins.label_encoder("tier", unseen=-1)])
    x, _ = fv.training_data(dataframe_type="arrow")
    assert x.column("tier").to_pylist() == [1, 2, 1, 0, None, 1]  # in place, fti's name
    other = fs.create_feature_view(
        "w",
        query=fs.get_feature_group("g", 1).select(["tier"]),
        transformation_functions=[fti.builtins.label_encoder("tier")],
    )
    x, _ = other.training_data(dataframe_type="arrow")
    assert x.column("tier").to_pylist() == [1, 2, 1, 0, 3, 1]  # fti's default: a reserved index


def test_what_is_not_there_says_what_to_use() -> None:
    with pytest.raises(ImportError, match="fti has no Hopsworks built-in winsorize"):
        from fti.hsfs.builtin_transformations import winsorize  # noqa: F401
    with pytest.raises(ImportError, match=r"use fti\.builtins\.quantile_binner"):
        from fti.hsfs.builtin_transformations import quantile_binner  # noqa: F401
