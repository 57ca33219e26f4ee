"""Great Expectations suites, as Hopsworks code passes them: real GE 1.x suite objects and
the JSON of 0.18 and 1.x, translated to fti's rules with the semantics GE documents (``mostly``
over the rows with a value; aggregates over the present values); an expectation fti cannot
evaluate refused by name; ``validation_ingestion_policy``."""

from __future__ import annotations

import datetime as dt
import warnings
from typing import Any

import pyarrow as pa
import pytest

import fti
from fti.validation import expect, validate
from fti.validation.great_expectations import TRANSLATIONS, as_suite, from_great_expectations


def _gx() -> Any:
    with warnings.catch_warnings():  # its dependencies warn while they import
        warnings.simplefilter("ignore")
        import great_expectations as gx
    return gx


TABLE = pa.table(
    {
        "id": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
        "amount": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 500.0],
        "tier": ["gold", "gold", "silver", None, "gold", "gold", "bronze", "gold", "gold", "gold"],
    }
)


def _result(suite: fti.ExpectationSuite) -> list[bool]:
    return [r.success for r in validate(TABLE, suite).results]


def test_a_gx_suite_object_becomes_fti_rules() -> None:
    gx = _gx()
    e = gx.expectations
    suite = gx.ExpectationSuite(
        name="checks",
        expectations=[
            e.ExpectColumnValuesToBeBetween(column="amount", min_value=0, max_value=100),
            e.ExpectColumnValuesToBeBetween(column="amount", max_value=100, mostly=0.9),
            e.ExpectColumnValuesToNotBeNull(column="tier"),
            e.ExpectColumnValuesToNotBeNull(column="tier", mostly=0.9),
            e.ExpectColumnValuesToBeInSet(column="tier", value_set=["gold", "silver"]),
            e.ExpectColumnValuesToBeInSet(column="tier", value_set=["gold", "silver"], mostly=0.8),
            e.ExpectColumnValuesToBeUnique(column="id"),
            e.ExpectColumnMeanToBeBetween(column="amount", min_value=0, max_value=10),
            e.ExpectColumnMedianToBeBetween(column="amount", min_value=5, max_value=6),
            e.ExpectTableRowCountToEqual(value=10),
        ],
    )
    translated = as_suite(suite)
    assert translated.name == "checks" and translated.policy == "strict"  # fti's default
    assert translated.expectations[0] == expect.between("amount", 0, 100)
    assert translated.expectations[1].kwargs["mostly"] == 0.9
    # 500 is out of range (1 of 10 rows); a null tier (1 of 10); bronze (1 of the 9 present);
    # the mean is 54.5, the median 5.5
    assert _result(translated) == [False, True, False, True, False, True, True, False, True, True]


def test_the_json_of_gx_0_18_and_1_x_and_hopsworks_suites() -> None:
    between = {"column": "amount", "min_value": 0, "max_value": 10, "mostly": 0.9}
    for data in [
        {"expectation_suite_name": "s", "expectations": [
            {"expectation_type": "expect_column_values_to_be_between", "kwargs": between,
             "meta": {}}]},  # 0.18
        {"name": "s", "expectations": [
            {"type": "expect_column_values_to_be_between", "kwargs": between, "meta": {},
             "severity": "critical"}]},  # 1.x
    ]:  # fmt: skip
        suite = from_great_expectations(data)
        assert suite.name == "s" and _result(suite) == [True]
    hopsworks = {
        "expectation_suite_name": "s",
        "validation_ingestion_policy": "ALWAYS",
        "expectations": [{"expectation_type": "expect_column_to_exist", "kwargs": {}}][:0],
    }
    assert from_great_expectations(hopsworks).policy == "warn"
    assert from_great_expectations(hopsworks, "strict").policy == "strict"


def test_what_fti_cannot_evaluate_is_refused_by_name() -> None:
    data = {
        "name": "s",
        "expectations": [
            {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "id"}},
            {"type": "expect_column_to_exist", "kwargs": {"column": "id"}},
            {"type": "expect_column_kl_divergence_to_be_less_than", "kwargs": {"column": "id"}},
        ],
    }
    with pytest.raises(
        fti.SchemaError,
        match=r"cannot evaluate \['expect_column_to_exist', 'expect_column_kl_divergence_to_be_",
    ):
        from_great_expectations(data)
    with pytest.raises(fti.SchemaError, match="lacks its argument 'value_set'"):
        from_great_expectations(
            {
                "expectations": [
                    {"type": "expect_column_values_to_be_in_set", "kwargs": {"column": "x"}}
                ]
            }
        )
    with pytest.raises(fti.SchemaError, match="cannot map type_ 'complex128'"):
        from_great_expectations(
            {"expectations": [{"type": "expect_column_values_to_be_of_type",
                               "kwargs": {"column": "x", "type_": "complex128"}}]}
        )  # fmt: skip


def test_every_translation_is_evaluable() -> None:
    """Each listed GE expectation, built from its documented kwargs, runs on a table."""
    kwargs: dict[str, dict[str, Any]] = {
        "expect_column_values_to_not_be_null": {"column": "amount"},
        "expect_column_values_to_be_between": {"column": "amount", "min_value": 0},
        "expect_column_values_to_be_in_set": {"column": "tier", "value_set": ["gold"]},
        "expect_column_values_to_match_regex": {"column": "tier", "regex": "^g"},
        "expect_column_values_to_be_unique": {"column": "id"},
        "expect_compound_columns_to_be_unique": {"column_list": ["id", "tier"]},
        "expect_column_values_to_be_of_type": {"column": "id", "type_": "int64"},
        "expect_table_row_count_to_be_between": {"min_value": 1, "max_value": 20},
        "expect_table_row_count_to_equal": {"value": 10},
    }
    for stat in ("min", "max", "mean", "median", "stdev", "sum"):
        kwargs[f"expect_column_{stat}_to_be_between"] = {"column": "amount", "min_value": 0}
    kwargs["expect_column_unique_value_count_to_be_between"] = {"column": "tier", "max_value": 3}
    kwargs["expect_column_proportion_of_unique_values_to_be_between"] = {
        "column": "id",
        "min_value": 1,
    }
    assert set(kwargs) == set(TRANSLATIONS)
    data = {"expectations": [{"type": k, "kwargs": kw} for k, kw in kwargs.items()]}
    report = validate(TABLE, from_great_expectations(data))
    assert [r.success for r in report.results] == [
        True, True, False, False, True, True, True, True, True,
        True, True, True, True, True, True, True, True,
    ]  # fmt: skip


def test_mostly_counts_only_rows_with_a_value() -> None:
    """GE's ``mostly``: the share of non-null values that must pass; for not_null, of all."""
    table = pa.table({"x": [1, 2, 3, None, None, 100]})  # 1 of 4 present values fails
    assert validate(
        table, fti.ExpectationSuite("s", [expect.between("x", max=10, mostly=0.75)])
    ).success
    assert not validate(
        table, fti.ExpectationSuite("s", [expect.between("x", max=10, mostly=0.76)])
    ).success
    assert validate(table, fti.ExpectationSuite("s", [expect.not_null("x", mostly=0.66)])).success
    assert not validate(
        table, fti.ExpectationSuite("s", [expect.not_null("x", mostly=0.7)])
    ).success
    with pytest.raises(fti.SchemaError, match=r"mostly must be in \(0, 1\]"):
        expect.in_set("x", [1], mostly=0)
    report = validate(table, fti.ExpectationSuite("s", [expect.between("x", max=10, mostly=0.5)]))
    assert report.results[0].failed_count == 1  # passed, and still says which row failed


def test_statistics_of_present_values() -> None:
    table = pa.table(
        {
            "x": [1.0, 3.0, None, float("nan"), 2.0],
            "d": [dt.date(2022, 1, d) for d in (1, 2, 3, 4, 5)],
        }
    )
    cases = [
        (expect.statistic_between("x", "mean", 2, 2), True),
        (expect.statistic_between("x", "median", 2, 2), True),
        (expect.statistic_between("x", "stdev", 1, 1), True),
        (expect.statistic_between("x", "sum", 6, 6), True),
        (expect.statistic_between("x", "max", max=3, strict_max=True), False),
        (expect.statistic_between("d", "min", dt.date(2022, 1, 1)), True),
        (expect.statistic_between("d", "mean", 0), False),  # no mean of dates: said, not raised
    ]
    report = validate(table, fti.ExpectationSuite("s", [c for c, _ in cases]))
    assert [r.success for r in report.results] == [ok for _, ok in cases]
    assert report.results[4].message == "its max is 3.0"
    assert "cannot compute mean" in report.results[6].message
    with pytest.raises(fti.SchemaError, match="statistic must be one of"):
        expect.statistic_between("x", "mode", 1)


def test_a_feature_group_validates_with_a_gx_suite(fs: fti.FeatureStore) -> None:
    gx = _gx()
    suite = gx.ExpectationSuite(
        name="amounts",
        expectations=[
            gx.expectations.ExpectColumnValuesToBeBetween(column="amount", max_value=100)
        ],
    )
    fg = fs.create_feature_group("tx", primary_key=["id"], expectation_suite=suite)
    assert fg.get_expectation_suite() == as_suite(suite)
    with pytest.raises(fti.ValidationFailed, match="policy is strict, fti's default") as caught:
        fg.insert(TABLE)
    assert caught.value.report.results[0].failed_rows == (9,)
    assert fg.commit_details() == []  # nothing written
    assert not fg.validate(TABLE).success  # checked without inserting
    with pytest.raises(fti.FtiError, match="has the suite 'amounts': pass overwrite=True"):
        fg.save_expectation_suite(suite)
    fg.save_expectation_suite(suite, validation_ingestion_policy="always", overwrite=True)
    result = fg.insert(TABLE)
    assert result is not None and result.validation_report is not None
    assert not result.validation_report.success and fg.read().shape[0] == 10
    fg.delete_expectation_suite()
    assert fg.get_expectation_suite() is None
    with pytest.raises(fti.FtiError, match=r"fg\.delete_expectation_suite"):
        fg.save_expectation_suite(suite, run_validation=False)
    with pytest.raises(fti.SchemaError, match=r"must be an fti\.ExpectationSuite or a Great"):
        fs.create_feature_group("bad", primary_key=["id"], expectation_suite=42)
