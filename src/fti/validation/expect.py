"""Builders of :class:`~fti.validation.Expectation`, used as ``expect.between("amount", min=0)``.

Missing values — null, and NaN in float columns — are *only* caught by :func:`not_null`:
:func:`between`, :func:`in_set`, :func:`matches_regex` and :func:`unique` pass them. A rule
about what a value looks like says nothing about whether it must be present; a suite that needs
both states both, as a SQL ``CHECK`` constraint and a ``NOT NULL`` would.

Every builder validates its arguments and raises :class:`fti.errors.SchemaError` when the rule
could never be evaluated (``min > max``, an empty set, an invalid regex, an unknown type).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from fti.validation.expectations import STATISTICS, Expectation

Bound = int | float | str | dt.date | dt.datetime
Value = bool | int | float | str | dt.date | dt.datetime

__all__ = [
    "STATISTICS",
    "between",
    "in_set",
    "matches_regex",
    "not_null",
    "of_type",
    "row_count_between",
    "statistic_between",
    "unique",
]


def not_null(column: str, *, mostly: float = 1.0) -> Expectation:
    """No null in ``column``; NaN counts as null in float columns (pandera's semantics).

    ``mostly`` (here and in the other per-row rules, as in Great Expectations): the share of
    rows that must pass, e.g. 0.95; by default all of them."""
    return Expectation("not_null", (column,), {"mostly": mostly})


def between(
    column: str,
    min: Bound | None = None,
    max: Bound | None = None,
    *,
    strict_min: bool = False,
    strict_max: bool = False,
    mostly: float = 1.0,
) -> Expectation:
    """``min <= value <= max`` (``<`` where strict); either bound may be None for no bound."""
    kwargs = {"min": min, "max": max, "strict_min": strict_min, "strict_max": strict_max}
    return Expectation("between", (column,), {**kwargs, "mostly": mostly})


def in_set(column: str, values: Iterable[Value], *, mostly: float = 1.0) -> Expectation:
    """Every value is one of ``values`` (compared with the column's type, so 1 != "1")."""
    return Expectation("in_set", (column,), {"values": list(values), "mostly": mostly})


def matches_regex(column: str, pattern: str, *, mostly: float = 1.0) -> Expectation:
    """The pattern is found in every value (a search: anchor it with ``^...$`` for a full match).

    The pattern runs in polars, so it uses Rust ``regex`` syntax: no look-around and no
    back-references, otherwise close to Python's ``re``.
    """
    return Expectation("matches_regex", (column,), {"pattern": pattern, "mostly": mostly})


def unique(columns: str | Sequence[str], *, mostly: float = 1.0) -> Expectation:
    """No two rows share a value (or, given several columns, the combination of values).

    Every row of a repeated value fails, the first occurrence included, so the report shows
    all the rows to reconcile. Rows with a missing value in any of the columns are skipped.
    """
    named = (columns,) if isinstance(columns, str) else tuple(columns)
    return Expectation("unique", named, {"mostly": mostly})


def of_type(column: str, type_name: str) -> Expectation:
    """The column has the Arrow type spelled ``type_name`` as pyarrow prints it.

    Examples: ``"int64"``, ``"double"`` (alias ``"float64"``), ``"float"`` (alias
    ``"float32"``), ``"string"``, ``"date32[day]"``, ``"timestamp[us, tz=UTC]"``,
    ``"decimal128(10, 2)"``. Types are compared as polars sees them, so string,
    large_string and string_view are one type (so are the binary ones), and
    ``timestamp[s]`` is read as ``timestamp[ms]``.
    """
    return Expectation("of_type", (column,), {"type": type_name})


def row_count_between(
    min: int | None = None,
    max: int | None = None,
) -> Expectation:
    """The table has between ``min`` and ``max`` rows (inclusive); either may be None."""
    return Expectation("row_count_between", (), {"min": min, "max": max})


def statistic_between(
    column: str,
    statistic: str,
    min: Bound | None = None,
    max: Bound | None = None,
    *,
    strict_min: bool = False,
    strict_max: bool = False,
) -> Expectation:
    """A statistic of the column's present values is between ``min`` and ``max``: one of
    :data:`STATISTICS` (``min``, ``max``, ``mean``, ``median``, ``stdev`` (sample),
    ``sum``, ``distinct_count``, ``distinctness``: distinct values per value). A column with
    no value to compute it from fails, saying so."""
    kwargs = {"min": min, "max": max, "strict_min": strict_min, "strict_max": strict_max}
    return Expectation("statistic_between", (column,), {"statistic": statistic, **kwargs})
