"""Feature expressions: ``fg.amount > 10``, ``fg.category.isin([...])``, combined with & | ~.

A filter is a small tree that renders to DuckDB SQL and serializes to JSON (so a training
dataset can store it). Its values never become SQL text: each is bound to a placeholder,
typed for the column it is compared with (:func:`bound`); :func:`literal` spells a bound value
out only for reading (``query.to_string()``).
"""

from __future__ import annotations

import datetime as dt
import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Context, Decimal, localcontext
from typing import Any

import numpy as np
import pyarrow as pa

from fti._time import utc
from fti.errors import FtiError

_COMPARISONS = {"==": "=", "!=": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_FLOAT32_MAX = 3.4028234663852886e38
_HUGEINT = 2**127  # DuckDB binds integers of up to 128 bits
_INT64_DIGITS = 19  # every int64 is below 10**19
_INT64_LIMIT = 10**_INT64_DIGITS
_DECIMAL_DIGITS = 38  # the widest DECIMAL DuckDB holds

# isin() lists longer than this are bound as one list, not a placeholder per value: DuckDB
# binds and plans a long IN list slowly (10,000 values: 0.55 s against 0.04 s as one list).
LIST_PARAMETER = 16

# Renders a bound value as SQL: a placeholder when run, a literal when shown.
Render = Callable[[Any], str]


def bound(value: Any, typ: pa.DataType) -> Any:
    """The Python value bound for ``value`` compared with a column of Arrow type ``typ``.

    Numbers are compared as the column's type, as a SQL literal would be: against a float
    column a number is that float (against float32, ``f == 0.1`` finds the float32 0.1);
    against an integer or decimal column exactly, a float as its shortest decimal form (no
    rounding of large integers to a double). Times are UTC; anything else fti cannot compare
    is an error.
    """
    if type(value).__module__ == "numpy" and hasattr(value, "item"):
        value = value.item()  # NumPy scalars, to the Python values DuckDB binds
    if _is_time(value, typ):  # a time in any form fti._time reads: "2022-01-01", epoch ms
        value = utc(value, "filter time")
        if pa.types.is_date(typ):
            return value.date()
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int | float | Decimal):
        return _number(value, typ)
    if isinstance(value, dt.datetime):
        plain = utc(value, "filter time")  # naive: UTC
        if pa.types.is_timestamp(typ) and typ.tz is None:
            return plain.replace(tzinfo=None)  # a naive column holds UTC wall times
        return plain
    if isinstance(value, dt.date):
        return dt.date(value.year, value.month, value.day)
    raise FtiError(f"cannot use {value!r} ({type(value).__name__}) in a filter")


def _number(value: int | float | Decimal, typ: pa.DataType) -> Any:
    if isinstance(value, Decimal) and not value.is_finite():
        raise FtiError(f"cannot use {value!r} in a filter: compare with a float instead")
    if pa.types.is_float64(typ) and isinstance(value, int) and -(2**63) <= value < 2**63:
        return value  # DuckDB makes a BIGINT the same double Python would
    if pa.types.is_floating(typ):
        try:
            number = float(value)
        except OverflowError:
            raise FtiError(f"filter value {value} is too large to compare with {typ}") from None
        if pa.types.is_float64(typ) or not math.isfinite(number) or abs(number) > _FLOAT32_MAX:
            return number
        return float(np.float32(number))
    if pa.types.is_integer(typ):
        if isinstance(value, int) and -_INT64_LIMIT < value < _INT64_LIMIT:
            return value  # the common case, without decimal arithmetic
        return _exact(value, 0, _INT64_DIGITS)
    if pa.types.is_decimal(typ):
        return _exact(value, typ.scale, typ.precision - typ.scale)
    if isinstance(value, int) and not -_HUGEINT <= value < _HUGEINT:
        raise FtiError(f"filter value {value} is too large to compare with {typ}")
    return value


def _exact(value: int | float | Decimal, scale: int, digits: int) -> Any:
    """``value`` for a column of numbers with ``scale`` fractional digits and fewer than
    ``digits`` integer digits, compared exactly as written (a float as its shortest decimal
    form, as a SQL literal reads it).

    DuckDB compares decimals of at most 38 digits, and a value too precise or too large for
    that (``1.2345e-20`` against an integer) would fail the cast. So the value bound is one
    that every number of the column compares with as it does with ``value``: infinity beyond
    the column's range, and a value between two neighbours of the column (``floor + half a
    step``) for one it cannot hold, which no number of the column equals.
    """
    if isinstance(value, float):
        if not math.isfinite(value):
            return value  # NaN and infinities compare as a DOUBLE
        value = Decimal(repr(value))
    with localcontext(Context(prec=200)):
        number = Decimal(value)
        if abs(number) >= Decimal(10) ** digits:
            return math.copysign(math.inf, number)
        step = Decimal(1).scaleb(-scale)
        floor = number.quantize(step, rounding=ROUND_FLOOR)
        if floor == number:
            return int(number) if scale <= 0 else floor
        between = floor + step / 2
    if digits + scale + 1 > _DECIMAL_DIGITS:
        return float(between)  # no DECIMAL holds it: the nearest double (a DECIMAL(38) column)
    return between


def literal(value: Any) -> str:
    """A bound value (see :func:`bound`) spelled out as SQL, for showing a statement."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else f"'{value}'::DOUBLE"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    if isinstance(value, dt.datetime):
        kind = "TIMESTAMP" if value.tzinfo is None else "TIMESTAMPTZ"
        return f"{kind} '{value.isoformat()}'"
    if isinstance(value, dt.date):
        return f"DATE '{value.isoformat()}'"
    if isinstance(value, list):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    raise FtiError(f"cannot use {value!r} ({type(value).__name__}) in a filter")


def _is_float32(number: float) -> bool:
    if not math.isfinite(number):
        return True  # NaN and the infinities are float32 values too
    return abs(number) <= _FLOAT32_MAX and float(np.float32(number)) == number


def _sql_type(typ: pa.DataType) -> str | None:
    """DuckDB's name for a column type an isin() list can be cast to (None: another)."""
    if pa.types.is_integer(typ) and pa.types.is_signed_integer(typ):
        return {8: "TINYINT", 16: "SMALLINT", 32: "INTEGER", 64: "BIGINT"}[typ.bit_width]
    if pa.types.is_float32(typ) or pa.types.is_float64(typ):
        return "FLOAT" if pa.types.is_float32(typ) else "DOUBLE"
    if pa.types.is_decimal(typ) and typ.precision <= _DECIMAL_DIGITS and typ.scale >= 0:
        return f"DECIMAL({typ.precision}, {typ.scale})"
    if pa.types.is_string(typ) or pa.types.is_large_string(typ):
        return "VARCHAR"
    if pa.types.is_boolean(typ):
        return "BOOLEAN"
    if pa.types.is_date32(typ):
        return "DATE"
    if pa.types.is_timestamp(typ):
        return "TIMESTAMP" if typ.tz is None else "TIMESTAMPTZ"
    return None


def _members(values: list[Any], typ: pa.DataType) -> list[Any]:
    """The bound values of an isin() list that a value of the column can equal, as the
    column's type holds them; the list is cast to that type, which must not round."""
    if pa.types.is_integer(typ):
        info = np.iinfo(typ.to_pandas_dtype())
        return [v for v in values if v is None or (type(v) is int and info.min <= v <= info.max)]
    if pa.types.is_float32(typ):
        return [v for v in values if v is None or _is_float32(v)]
    if pa.types.is_float64(typ):
        return [None if v is None else float(v) for v in values]
    if pa.types.is_decimal(typ):
        step = Decimal(1).scaleb(-typ.scale)
        with localcontext(Context(prec=200)):
            held = [
                v for v in values if v is None or (isinstance(v, int | Decimal) and not v % step)
            ]
        # as text, which the cast reads exactly (a list of Decimals gets a type of its own)
        return [None if v is None else format(v, "f") for v in held]
    return values


def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return {"decimal": str(value)}
    if isinstance(value, dt.datetime):
        return {"datetime": value.isoformat()}
    if isinstance(value, dt.date):
        return {"date": value.isoformat()}
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        # JSON has no NaN or infinity: PostgreSQL refuses the bare tokens Python writes
        return {"float": repr(value)}
    return value


def _from_json(value: Any) -> Any:
    if isinstance(value, dict) and "datetime" in value:
        return dt.datetime.fromisoformat(value["datetime"])
    if isinstance(value, dict) and "date" in value:
        return dt.date.fromisoformat(value["date"])
    if isinstance(value, dict) and "decimal" in value:
        return Decimal(value["decimal"])
    if isinstance(value, dict) and "float" in value:
        return float(value["float"])
    return value


class Filter(ABC):
    """Base of filter expressions; combine with ``&``, ``|`` and ``~``."""

    def __and__(self, other: Filter) -> Filter:
        return Logic("AND", (self, _check(other)))

    def __or__(self, other: Filter) -> Filter:
        return Logic("OR", (self, _check(other)))

    def __invert__(self) -> Filter:
        return Logic("NOT", (self,))

    def __bool__(self) -> bool:
        raise FtiError("use & | ~ to combine filters, not and / or / not")

    @abstractmethod
    def refs(self) -> list[FeatureRef]:
        """The features the filter reads."""

    @abstractmethod
    def to_sql(
        self,
        column: Callable[[FeatureRef], str],
        type_of: Callable[[FeatureRef], pa.DataType],
        value: Render,
    ) -> str:
        """DuckDB SQL, with ``column`` naming each feature's column, ``type_of`` giving its
        type and ``value`` rendering each value bound for it (see :func:`bound`): a
        placeholder, or a literal to show."""

    @abstractmethod
    def to_dict(self) -> dict[str, Any]:
        """JSON-serializable form, read back by :meth:`from_dict`."""

    @staticmethod
    def from_dict(data: dict[str, Any]) -> Filter:
        kind = data["kind"]
        if kind == "logic":
            return Logic(data["op"], tuple(Filter.from_dict(c) for c in data["children"]))
        ref = FeatureRef(data["group"], data["version"], data["feature"])
        value = data["value"]
        if data["op"] == "isin":
            return Condition(ref, "isin", [_from_json(v) for v in value])
        return Condition(ref, data["op"], _from_json(value))


def _check(value: object) -> Filter:
    if not isinstance(value, Filter):
        raise FtiError(f"cannot combine a filter with {value!r}")
    return value


@dataclass(frozen=True, eq=False)
class FeatureRef:
    """A feature of one feature-group version, the left side of a filter."""

    group: str
    version: int
    name: str

    def _cmp(self, op: str, value: Any) -> Condition:
        if isinstance(value, FeatureRef):
            raise FtiError("comparing two features is not supported in filters")
        return Condition(self, op, value)

    def __eq__(self, value: Any) -> Condition:  # type: ignore[override]
        return self._cmp("==", value)

    def __ne__(self, value: Any) -> Condition:  # type: ignore[override]
        return self._cmp("!=", value)

    def __lt__(self, value: Any) -> Condition:
        return self._cmp("<", value)

    def __le__(self, value: Any) -> Condition:
        return self._cmp("<=", value)

    def __gt__(self, value: Any) -> Condition:
        return self._cmp(">", value)

    def __ge__(self, value: Any) -> Condition:
        return self._cmp(">=", value)

    def isin(self, values: Iterable[Any]) -> Condition:
        if isinstance(values, str | bytes) or not isinstance(values, Iterable):
            raise FtiError(f"isin() takes a list of values, not {values!r}")
        return Condition(self, "isin", list(values))

    def like(self, pattern: str) -> Condition:
        return Condition(self, "like", pattern)

    def isnull(self) -> Condition:
        return Condition(self, "isnull", None)

    def notnull(self) -> Filter:
        return ~self.isnull()

    __hash__ = object.__hash__


@dataclass(frozen=True, eq=False)
class Condition(Filter):
    ref: FeatureRef
    op: str
    value: Any

    def refs(self) -> list[FeatureRef]:
        return [self.ref]

    def to_sql(
        self,
        column: Callable[[FeatureRef], str],
        type_of: Callable[[FeatureRef], pa.DataType],
        value: Render,
    ) -> str:
        if self.op == "isin" and not self.value:
            return "FALSE"  # before column(): what it renders (a bound age) would go unused
        col = column(self.ref)
        if self.op == "isnull":
            return f"({col} IS NULL)"
        typ = type_of(self.ref)
        if self.op == "isin":
            return self._isin(col, typ, [bound(v, typ) for v in self.value], value)
        if self.op == "like":
            if not isinstance(self.value, str):
                raise FtiError(f"like() takes a pattern string, not {self.value!r}")
            return f"({col} LIKE {value(self.value)})"
        if self.value is None:
            raise FtiError(f"comparing {self.ref.name} {self.op} None: use .isnull()")
        return f"({col} {_COMPARISONS[self.op]} {value(bound(self.value, typ))})"

    @staticmethod
    def _isin(col: str, typ: pa.DataType, values: list[Any], value: Render) -> str:
        sql_type = _sql_type(typ)
        if len(values) <= LIST_PARAMETER or sql_type is None:
            if pa.types.is_integer(typ) or pa.types.is_decimal(typ):
                # bound() makes a float of only what no number of the column equals (NaN, an
                # infinity past its range); in the list it would make DuckDB compare every
                # value as a DOUBLE, which rounds (2**53 + 1 would equal 2**53)
                values = [v for v in values if not isinstance(v, float)]
            if not values:
                return f"(CASE WHEN {col} IS NOT NULL THEN FALSE END)"
            return f"({col} IN ({', '.join(value(v) for v in values)}))"
        members = _members(values, typ)
        if not members:  # none can match; a null still compares as unknown, as in a list
            return f"(CASE WHEN {col} IS NOT NULL THEN FALSE END)"
        # SQL's IN semantics still: a match is true, else a null on either side is unknown
        return f"({col} IN (SELECT unnest(CAST({value(members)} AS {sql_type}[]))))"

    def to_dict(self) -> dict[str, Any]:
        value = [_json_value(v) for v in self.value] if self.op == "isin" else self.value
        return {
            "kind": "condition",
            "group": self.ref.group,
            "version": self.ref.version,
            "feature": self.ref.name,
            "op": self.op,
            "value": _json_value(value) if self.op != "isin" else value,
        }


def _is_time(value: Any, typ: pa.DataType) -> bool:
    """Whether ``value`` stands for a time compared with a column of times: a string, or
    for a timestamp column also epoch milliseconds and dates."""
    if pa.types.is_date(typ):
        return isinstance(value, str)
    return pa.types.is_timestamp(typ) and (
        isinstance(value, str | dt.date) or (isinstance(value, int) and not isinstance(value, bool))
    )


def _fits(value: Any, typ: Any) -> bool:
    if type(value).__module__ == "numpy" and hasattr(value, "item"):
        value = value.item()
    if _is_time(value, typ):
        return True  # bound() reads it, or says why it cannot
    if not isinstance(value, bool | int | float | Decimal | str | dt.date):
        return True  # None is handled by its own message, anything else by bound()
    if pa.types.is_boolean(typ):
        return isinstance(value, bool)
    if pa.types.is_integer(typ) or pa.types.is_floating(typ) or pa.types.is_decimal(typ):
        return isinstance(value, int | float | Decimal) and not isinstance(value, bool)
    if pa.types.is_string(typ) or pa.types.is_large_string(typ):
        return isinstance(value, str)
    if pa.types.is_timestamp(typ):
        return isinstance(value, dt.datetime)
    if pa.types.is_date(typ):
        return isinstance(value, dt.date) and not isinstance(value, dt.datetime)
    return True


def check_types(condition: Filter, type_of: Callable[[FeatureRef], Any]) -> None:
    """Refuse a filter value that cannot be compared with its feature's type."""
    if isinstance(condition, Logic):
        for child in condition.children:
            check_types(child, type_of)
        return
    assert isinstance(condition, Condition)
    if condition.op in ("isnull", "like"):
        return
    typ = type_of(condition.ref)
    values = condition.value if condition.op == "isin" else [condition.value]
    for value in values:
        if not _fits(value, typ):
            raise FtiError(
                f"filter on {condition.ref.name} ({typ}) compares with {value!r} "
                f"({type(value).__name__})"
            )


@dataclass(frozen=True, eq=False)
class Logic(Filter):
    op: str
    children: tuple[Filter, ...]

    def refs(self) -> list[FeatureRef]:
        return [r for c in self.children for r in c.refs()]

    def to_sql(
        self,
        column: Callable[[FeatureRef], str],
        type_of: Callable[[FeatureRef], pa.DataType],
        value: Render,
    ) -> str:
        parts = [c.to_sql(column, type_of, value) for c in self.children]
        if self.op == "NOT":
            return f"(NOT {parts[0]})"
        return "(" + f" {self.op} ".join(parts) + ")"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "logic", "op": self.op, "children": [c.to_dict() for c in self.children]}
