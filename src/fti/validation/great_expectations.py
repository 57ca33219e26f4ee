"""Great Expectations suites as fti suites: what Hopsworks code passes as ``expectation_suite=``.

Accepted: a Great Expectations ``ExpectationSuite`` (0.18 or 1.x; anything with
``to_json_dict()``), its JSON form (a dict with ``expectations``, each with
``expectation_type`` (0.x) or ``type`` (1.x) and ``kwargs``), or Hopsworks' own suite as a
dict (``expectation_suite_name``, ``validation_ingestion_policy``). Each core expectation
becomes its fti rule (:data:`TRANSLATIONS`), ``mostly`` included; one fti cannot evaluate is
refused by name, with the list of those it can, and nothing is created.

The ingestion policy: Hopsworks' ``"always"`` (insert, keep the report) is fti's ``"warn"``,
``"strict"`` (refuse a failing insert) is fti's default.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from fti.errors import SchemaError
from fti.validation import expect
from fti.validation.expectations import Expectation, ExpectationSuite

# Great Expectations' pandas type names and Python type names, as Arrow spells them
_TYPES = {
    "int": "int64", "int64": "int64", "int32": "int32", "int16": "int16", "int8": "int8",
    "float": "double", "float64": "double", "float32": "float", "double": "double",
    "str": "string", "string": "string", "object": "string", "StringDtype": "string",
    "bool": "bool", "boolean": "bool", "datetime64[ns]": "timestamp[us]",
    "datetime64[ns, UTC]": "timestamp[us, tz=UTC]", "date": "date32[day]",
}  # fmt: skip

POLICIES = {"always": "warn", "strict": "strict"}


def _bounds(kw: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "min": kw.get("min_value"),
        "max": kw.get("max_value"),
        "strict_min": bool(kw.get("strict_min", False)),
        "strict_max": bool(kw.get("strict_max", False)),
    }


def _mostly(kw: Mapping[str, Any]) -> dict[str, Any]:
    return {"mostly": kw["mostly"]} if kw.get("mostly") is not None else {}


def _of_type(kw: Mapping[str, Any]) -> Expectation:
    name = kw.get("type_")
    if name not in _TYPES:
        raise SchemaError(
            f"expect_column_values_to_be_of_type: fti cannot map type_ {name!r} to a column "
            f"type; it knows {sorted(_TYPES)} (or use fti.expect.of_type with an Arrow type)"
        )
    return expect.of_type(kw["column"], _TYPES[name])


def _statistic(stat: str) -> Callable[[Mapping[str, Any]], Expectation]:
    def build(kw: Mapping[str, Any]) -> Expectation:
        b = _bounds(kw)
        return expect.statistic_between(
            kw["column"],
            stat,
            b["min"],
            b["max"],
            strict_min=b["strict_min"],
            strict_max=b["strict_max"],
        )

    return build


def _row_count(kw: Mapping[str, Any]) -> Expectation:
    if "value" in kw:
        return expect.row_count_between(kw["value"], kw["value"])
    return expect.row_count_between(kw.get("min_value"), kw.get("max_value"))


TRANSLATIONS: dict[str, Callable[[Mapping[str, Any]], Expectation]] = {
    "expect_column_values_to_not_be_null": lambda kw: expect.not_null(kw["column"], **_mostly(kw)),
    "expect_column_values_to_be_between": lambda kw: Expectation(
        "between", (kw["column"],), {**_bounds(kw), **_mostly(kw)}
    ),
    "expect_column_values_to_be_in_set": lambda kw: expect.in_set(
        kw["column"], kw["value_set"], **_mostly(kw)
    ),
    "expect_column_values_to_match_regex": lambda kw: expect.matches_regex(
        kw["column"], kw["regex"], **_mostly(kw)
    ),
    "expect_column_values_to_be_unique": lambda kw: expect.unique(kw["column"], **_mostly(kw)),
    "expect_compound_columns_to_be_unique": lambda kw: expect.unique(
        list(kw["column_list"]), **_mostly(kw)
    ),
    "expect_column_values_to_be_of_type": _of_type,
    "expect_table_row_count_to_be_between": _row_count,
    "expect_table_row_count_to_equal": _row_count,
    "expect_column_min_to_be_between": _statistic("min"),
    "expect_column_max_to_be_between": _statistic("max"),
    "expect_column_mean_to_be_between": _statistic("mean"),
    "expect_column_median_to_be_between": _statistic("median"),
    "expect_column_stdev_to_be_between": _statistic("stdev"),
    "expect_column_sum_to_be_between": _statistic("sum"),
    "expect_column_unique_value_count_to_be_between": _statistic("distinct_count"),
    "expect_column_proportion_of_unique_values_to_be_between": _statistic("distinctness"),
}


def is_great_expectations(suite: Any) -> bool:
    """Whether ``suite`` is a Great Expectations (or Hopsworks) suite rather than fti's."""
    if isinstance(suite, ExpectationSuite):
        return False
    return hasattr(suite, "to_json_dict") or (
        isinstance(suite, Mapping) and "expectations" in suite and "format" not in suite
    )


def from_great_expectations(suite: Any, policy: str | None = None) -> ExpectationSuite:
    """The fti suite for a Great Expectations or Hopsworks suite (see the module); ``policy``
    ("strict" or "warn", or Hopsworks' "always") overrides the one the suite carries."""
    data = suite.to_json_dict() if hasattr(suite, "to_json_dict") else suite
    if not isinstance(data, Mapping) or not isinstance(data.get("expectations"), list):
        raise SchemaError(f"not a Great Expectations suite: {suite!r}")
    name = data.get("name") or data.get("expectation_suite_name") or "great_expectations"
    given = (
        policy
        or data.get("validation_ingestion_policy")
        or data.get("validationIngestionPolicy", "strict")
    )
    chosen = POLICIES.get(str(given).lower(), str(given).lower())
    expectations, refused = [], []
    for item in data["expectations"]:
        kind = item.get("expectation_type") or item.get("type")
        translate = TRANSLATIONS.get(kind)
        if translate is None:
            refused.append(kind)
            continue
        try:
            expectations.append(translate(dict(item.get("kwargs", {}))))
        except KeyError as exc:
            raise SchemaError(f"{kind} lacks its argument {exc}") from None
    if refused:
        raise SchemaError(
            f"suite {name!r}: fti cannot evaluate {refused}; it evaluates "
            f"{sorted(TRANSLATIONS)} (and fti.expect's rules). Nothing was created"
        )
    return ExpectationSuite(name, expectations, chosen)  # type: ignore[arg-type]


def as_suite(suite: Any, policy: str | None = None) -> ExpectationSuite:
    """``expectation_suite=`` as fti keeps it: fti's suite as it is (``policy`` replacing its
    policy when given), any other (see the module) translated."""
    if isinstance(suite, ExpectationSuite):
        if policy is None:
            return suite
        chosen = POLICIES.get(policy.lower(), policy.lower())
        return ExpectationSuite(suite.name, suite.expectations, chosen)  # type: ignore[arg-type]
    if is_great_expectations(suite):
        return from_great_expectations(suite, policy)
    raise SchemaError(
        "expectation_suite must be an fti.ExpectationSuite or a Great Expectations suite (or "
        f"its JSON dict), got {type(suite).__name__}"
    )
