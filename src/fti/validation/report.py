"""The outcome of validating one table against a suite: plain data, stored as strict JSON.

Reports go into the catalog's JSON column (PostgreSQL's json type refuses NaN), so failing
values are made JSON-safe when the report is built, not when it is stored: dates become ISO
strings, decimals strings, bytes hex, non-finite floats ``"NaN"``/``"Infinity"``.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fti.errors import SchemaError, ValidationFailed
from fti.validation.expectations import Expectation, Policy

MAX_FAILED_ROWS = 20
_VALUES_IN_SUMMARY = 5


def json_safe(value: Any) -> Any:
    """``value`` as strict JSON (no NaN, no dates), recursively for lists and structs."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta | decimal.Decimal):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    return value


@dataclass(frozen=True)
class ExpectationResult:
    """How one expectation fared.

    ``failed_count`` counts failing rows; ``failed_rows`` holds the first
    :data:`MAX_FAILED_ROWS` of their 0-based positions in the validated table and
    ``failed_values`` their values (a dict per row for a multi-column ``unique``). A failure
    that is not about rows (missing column, wrong type, row count) has no rows and says why
    in ``message``.
    """

    expectation: Expectation
    success: bool
    failed_count: int = 0
    failed_rows: tuple[int, ...] = ()
    failed_values: tuple[Any, ...] = ()
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "expectation": self.expectation.to_dict(),
            "success": self.success,
            "failed_count": self.failed_count,
            "failed_rows": list(self.failed_rows),
            "failed_values": list(self.failed_values),
            "message": self.message,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ExpectationResult:
        return cls(
            expectation=Expectation.from_dict(d["expectation"]),
            success=bool(d["success"]),
            failed_count=int(d["failed_count"]),
            failed_rows=tuple(d["failed_rows"]),
            failed_values=tuple(d["failed_values"]),
            message=d.get("message", ""),
        )


@dataclass(frozen=True)
class ValidationReport:
    """Every expectation's result, in suite order; ``success`` when all of them passed."""

    suite_name: str
    policy: Policy
    success: bool
    row_count: int
    evaluated_at: dt.datetime
    results: tuple[ExpectationResult, ...]

    @property
    def failed(self) -> list[ExpectationResult]:
        return [r for r in self.results if not r.success]

    def summary(self) -> str:
        """A message for people: which expectations failed, on which rows, with which values."""
        head = f"suite {self.suite_name!r} ({self.policy})"
        if self.success:
            return f"{head} passed {len(self.results)} expectations on {self.row_count} rows"
        lines = [f"{head} failed {len(self.failed)} of {len(self.results)} expectations:"]
        lines += [f"- {self._describe(r)}" for r in self.failed]
        return "\n".join(lines)

    def _describe(self, r: ExpectationResult) -> str:
        what = f"expectation {r.expectation.describe()} failed"
        if not r.failed_count:
            return f"{what}: {r.message}"
        more = ", ..." if r.failed_count > len(r.failed_rows) else ""
        rows = ", ".join(str(i) for i in r.failed_rows) + more
        values = ", ".join(repr(v) for v in r.failed_values[:_VALUES_IN_SUMMARY])
        if r.failed_count > _VALUES_IN_SUMMARY:
            values += ", ..."
        noun = "row" if r.failed_count == 1 else "rows"
        return (
            f"{what} on {r.failed_count} of {self.row_count} rows: {noun} {rows} (values {values})"
        )

    def raise_if_failed_strict(self) -> None:
        """Raise :class:`~fti.errors.ValidationFailed` if a strict suite failed; else nothing."""
        if self.policy == "strict" and not self.success:
            raise ValidationFailed(self.summary(), self)

    def to_dict(self) -> dict[str, Any]:
        return {
            "suite_name": self.suite_name,
            "policy": self.policy,
            "success": self.success,
            "row_count": self.row_count,
            "evaluated_at": self.evaluated_at.isoformat(),
            "results": [r.to_dict() for r in self.results],
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ValidationReport:
        try:
            evaluated_at = dt.datetime.fromisoformat(d["evaluated_at"])
            if evaluated_at.tzinfo is None:
                raise ValueError("evaluated_at has no time zone")
            return cls(
                suite_name=d["suite_name"],
                policy=d["policy"],
                success=bool(d["success"]),
                row_count=int(d["row_count"]),
                evaluated_at=evaluated_at,
                results=tuple(ExpectationResult.from_dict(r) for r in d["results"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, SchemaError):
                raise
            raise SchemaError(f"not a validation report ({exc!r}): {d!r}"[:500]) from None
