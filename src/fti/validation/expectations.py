"""Expectations and suites: plain, JSON-serializable definitions checked when they are built.

A malformed suite (unknown kind or policy, ``min > max``, empty ``in_set``, invalid regex,
unknown type name) raises :class:`fti.errors.SchemaError` here, at definition time, so a bad
suite is refused when a feature group is created rather than on the first insert.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import pyarrow as pa

from fti.errors import SchemaError

Policy = Literal["strict", "warn"]
POLICIES: tuple[str, ...] = ("strict", "warn")
SUITE_FORMAT = 1

# Aliases the brief promises on top of pyarrow's own (numpy spells double "float64").
_TYPE_ALIASES = {"float64": "double", "float32": "float", "float16": "halffloat"}
# pyarrow's type_for_alias knows neither time zones nor decimals, which str(pa type) prints.
_TIMESTAMP_TZ = re.compile(r"timestamp\[(s|ms|us|ns), tz=([^\]]+)\]")
_DECIMAL = re.compile(r"decimal(128|256)?\((\d+), ?(-?\d+)\)")


def arrow_type(name: str) -> pa.DataType:
    """The Arrow type spelled ``name`` as ``str(pa_type)`` prints it; SchemaError if unknown."""
    name = _TYPE_ALIASES.get(name, name)
    if m := _TIMESTAMP_TZ.fullmatch(name):
        return pa.timestamp(m[1], tz=m[2])
    if m := _DECIMAL.fullmatch(name):
        build = pa.decimal256 if m[1] == "256" else pa.decimal128
        return build(int(m[2]), int(m[3]))
    try:
        return pa.type_for_alias(name)
    except (ValueError, KeyError):
        raise SchemaError(
            f"unknown type name {name!r}: use an Arrow type name as pyarrow prints it, "
            "e.g. 'int64', 'double', 'string', 'timestamp[us, tz=UTC]'"
        ) from None


def encode_value(value: Any) -> Any:
    """A bound or set member as JSON; dates are tagged so that they decode to dates again."""
    if isinstance(value, dt.datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, dt.date):
        return {"$date": value.isoformat()}
    return value


def decode_value(value: Any) -> Any:
    if isinstance(value, dict) and "$datetime" in value:
        return dt.datetime.fromisoformat(value["$datetime"])
    if isinstance(value, dict) and "$date" in value:
        return dt.date.fromisoformat(value["$date"])
    return value


def _scalar(value: Any, what: str) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        raise SchemaError(f"{what} must be a finite number, got {value!r} (use None for no bound)")
    if value is None or not isinstance(value, bool | int | float | str | dt.date):
        raise SchemaError(f"{what} must be a number, string, date or datetime, got {value!r}")
    return value


def _between(kind: str, columns: tuple[str, ...], kw: Mapping[str, Any]) -> dict[str, Any]:
    lo, hi = kw.get("min"), kw.get("max")
    if lo is None and hi is None:
        raise SchemaError(f"{kind} on {columns}: give min, max or both")
    lo = None if lo is None else _scalar(lo, f"{kind} min")
    hi = None if hi is None else _scalar(hi, f"{kind} max")
    try:
        inverted = lo is not None and hi is not None and lo > hi
    except TypeError:
        raise SchemaError(f"{kind}: min {lo!r} and max {hi!r} are not comparable") from None
    if inverted:
        raise SchemaError(f"{kind} on {columns}: min {lo!r} is greater than max {hi!r}")
    strict_min, strict_max = bool(kw.get("strict_min", False)), bool(kw.get("strict_max", False))
    if lo is not None and lo == hi and (strict_min or strict_max):
        raise SchemaError(
            f"{kind} on {columns}: a strict bound at min == max {lo!r} allows nothing"
        )
    if kind == "row_count_between":
        if any(b is not None and (isinstance(b, bool) or not isinstance(b, int)) for b in (lo, hi)):
            raise SchemaError(f"row_count_between bounds must be integers, got {lo!r}, {hi!r}")
        return {"min": lo, "max": hi}
    return {
        "min": lo,
        "max": hi,
        "strict_min": strict_min,
        "strict_max": strict_max,
    }


def _in_set(kind: str, columns: tuple[str, ...], kw: Mapping[str, Any]) -> dict[str, Any]:
    values = kw.get("values")
    if isinstance(values, str | bytes) or not isinstance(values, Sequence | set | frozenset):
        raise SchemaError(f"in_set on {columns}: values must be a list, got {values!r}")
    if not values:
        raise SchemaError(f"in_set on {columns}: the set of values is empty")
    return {"values": [_scalar(v, "in_set value") for v in values]}


def _regex(kind: str, columns: tuple[str, ...], kw: Mapping[str, Any]) -> dict[str, Any]:
    pattern = kw.get("pattern")
    if not isinstance(pattern, str):
        raise SchemaError(f"matches_regex on {columns}: pattern must be a string")
    # polars (Rust regex syntax, not Python's re) runs the check, so it is polars that decides
    # whether the pattern is valid; imported here because most suites have no regex.
    import polars as pl

    try:
        pl.Series([""], dtype=pl.String).str.contains(pattern)
    except pl.exceptions.PolarsError as exc:
        raise SchemaError(f"matches_regex on {columns}: invalid regex {pattern!r}: {exc}") from None
    return {"pattern": pattern}


def _of_type(kind: str, columns: tuple[str, ...], kw: Mapping[str, Any]) -> dict[str, Any]:
    name = kw.get("type")
    if not isinstance(name, str):
        raise SchemaError(f"of_type on {columns}: type must be a type name string")
    return {"type": str(arrow_type(name))}


def _no_kwargs(kind: str, columns: tuple[str, ...], kw: Mapping[str, Any]) -> dict[str, Any]:
    return {}


STATISTICS = ("min", "max", "mean", "median", "stdev", "sum", "distinct_count", "distinctness")


def _statistic(kind: str, columns: tuple[str, ...], kw: Mapping[str, Any]) -> dict[str, Any]:
    stat = kw.get("statistic")
    if stat not in STATISTICS:
        raise SchemaError(f"{kind} on {columns}: statistic must be one of {list(STATISTICS)}")
    return {"statistic": stat, **_between(kind, columns, kw)}


def _with_mostly(normalize: Any) -> Any:
    """A per-row kind's normalizer that also takes ``mostly`` (Great Expectations' share of
    rows that must pass, 0 < mostly <= 1; 1, every row, is not stored)."""

    def normalized(kind: str, columns: tuple[str, ...], kw: Mapping[str, Any]) -> dict[str, Any]:
        mostly = kw.get("mostly", 1.0)
        valid = isinstance(mostly, int | float) and not isinstance(mostly, bool)
        if not valid or not 0 < mostly <= 1:
            raise SchemaError(f"{kind} on {columns}: mostly must be in (0, 1], got {mostly!r}")
        rest = {k: v for k, v in kw.items() if k != "mostly"}
        return {**normalize(kind, columns, rest), **({"mostly": mostly} if mostly < 1 else {})}

    return normalized


# kind -> (how many columns: 1, "1+" or 0, kwargs normalizer)
_KINDS: dict[str, tuple[int | str, Any]] = {
    "not_null": (1, _with_mostly(_no_kwargs)),
    "between": (1, _with_mostly(_between)),
    "in_set": (1, _with_mostly(_in_set)),
    "matches_regex": (1, _with_mostly(_regex)),
    "unique": ("1+", _with_mostly(_no_kwargs)),
    "of_type": (1, _of_type),
    "row_count_between": (0, _between),
    "statistic_between": (1, _statistic),
}


@dataclass(frozen=True)
class Expectation:
    """One rule: ``kind`` applied to ``columns`` with ``kwargs`` (normalized, defaults filled).

    Build them with :mod:`fti.validation.expect`; constructing one directly is validated the
    same way, which is what makes :meth:`from_dict` safe on stored suites.
    """

    kind: str
    columns: tuple[str, ...] = ()
    # Excluded from the hash (a dict is unhashable) but still compared.
    kwargs: Mapping[str, Any] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise SchemaError(f"unknown expectation kind {self.kind!r}; known: {sorted(_KINDS)}")
        columns = (self.columns,) if isinstance(self.columns, str) else tuple(self.columns)
        arity, normalize = _KINDS[self.kind]
        if not all(isinstance(c, str) and c for c in columns):
            raise SchemaError(f"{self.kind}: column names must be non-empty strings: {columns!r}")
        fits = len(columns) == 1 if arity == 1 else (not columns if arity == 0 else bool(columns))
        if not fits:
            raise SchemaError(f"{self.kind} takes {arity} column(s), got {list(columns)}")
        if len(set(columns)) != len(columns):
            raise SchemaError(f"{self.kind}: column repeated in {list(columns)}")
        object.__setattr__(self, "columns", columns)
        object.__setattr__(self, "kwargs", normalize(self.kind, columns, dict(self.kwargs)))

    @property
    def column(self) -> str | None:
        """The column of a single-column expectation."""
        return self.columns[0] if len(self.columns) == 1 else None

    def describe(self) -> str:
        """Short readable form used in messages, e.g. ``between(amount, 0..10000)``."""
        kw, args = self.kwargs, list(self.columns)
        if self.kind == "statistic_between":
            args.insert(0, kw["statistic"])
        if self.kind in ("between", "row_count_between", "statistic_between"):
            lo, hi = ("" if kw[b] is None else _short(kw[b]) for b in ("min", "max"))
            args.append(f"{lo}..{hi}")
            args += [flag for flag in ("strict_min", "strict_max") if kw.get(flag)]
        elif self.kind == "in_set":
            shown = ", ".join(repr(v) for v in kw["values"][:5])
            args.append(f"[{shown}{', ...' if len(kw['values']) > 5 else ''}]")
        elif self.kind == "matches_regex":
            args.append(repr(kw["pattern"]))
        elif self.kind == "of_type":
            args.append(kw["type"])
        if "mostly" in kw:
            args.append(f"mostly={kw['mostly']:g}")
        return f"{self.kind}({', '.join(args)})"

    def to_dict(self) -> dict[str, Any]:
        kwargs = {
            k: [encode_value(x) for x in v] if isinstance(v, list) else encode_value(v)
            for k, v in self.kwargs.items()
        }
        return {"kind": self.kind, "columns": list(self.columns), "kwargs": kwargs}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Expectation:
        try:
            kind, columns, kwargs = d["kind"], d.get("columns", []), d.get("kwargs", {})
        except (KeyError, TypeError):
            raise SchemaError(f"not an expectation: {d!r}") from None
        decoded = {
            k: [decode_value(x) for x in v] if isinstance(v, list) else decode_value(v)
            for k, v in kwargs.items()
        }
        return cls(kind, tuple(columns), decoded)


def _short(value: Any) -> str:
    return value.isoformat() if isinstance(value, dt.date) else str(value)


@dataclass(frozen=True)
class ExpectationSuite:
    """Named expectations with a policy: ``strict`` rejects a failing insert, ``warn`` keeps it.

    Several suites may share a name (the catalog keys them by feature group, not by name).
    """

    name: str
    expectations: Sequence[Expectation] = ()
    policy: Policy = "strict"

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise SchemaError(f"an expectation suite needs a non-empty name, got {self.name!r}")
        if self.policy not in POLICIES:
            raise SchemaError(f"unknown policy {self.policy!r}; use one of {list(POLICIES)}")
        expectations = tuple(self.expectations)
        for e in expectations:
            if not isinstance(e, Expectation):
                raise SchemaError(f"suite {self.name!r}: not an Expectation: {e!r}")
        object.__setattr__(self, "expectations", expectations)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": SUITE_FORMAT,
            "name": self.name,
            "policy": self.policy,
            "expectations": [e.to_dict() for e in self.expectations],
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ExpectationSuite:
        if not isinstance(d, Mapping) or d.get("format", SUITE_FORMAT) != SUITE_FORMAT:
            raise SchemaError(f"not an expectation suite of format {SUITE_FORMAT}: {d!r}")
        try:
            name, policy, expectations = d["name"], d["policy"], d["expectations"]
        except KeyError as exc:
            raise SchemaError(f"expectation suite is missing {exc}") from None
        return cls(name, [Expectation.from_dict(e) for e in expectations], policy)
