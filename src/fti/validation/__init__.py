"""Data validation on insert: expectation suites checked by pandera over the inserted rows.

A suite is plain data (``to_dict``/``from_dict``, stored in the catalog); :func:`validate`
turns a pyarrow table and a suite into a :class:`ValidationReport` and never raises for
failing data. With ``policy="strict"`` the insert calls
:meth:`ValidationReport.raise_if_failed_strict`, which raises
:class:`fti.errors.ValidationFailed` before anything is written; with ``"warn"`` the rows are
written and the report is kept.

Missing values (null, and NaN in float columns) only fail ``expect.not_null``; every other
expectation passes them. See :mod:`fti.validation.expect` for the rules and
:mod:`fti.validation.engine` for why pandera and its polars backend run them.
"""

from __future__ import annotations

from fti.validation import expect
from fti.validation.engine import validate
from fti.validation.expectations import Expectation, ExpectationSuite
from fti.validation.report import ExpectationResult, ValidationReport

__all__ = [
    "Expectation",
    "ExpectationResult",
    "ExpectationSuite",
    "ValidationReport",
    "expect",
    "validate",
]
