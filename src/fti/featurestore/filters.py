"""Feature expressions: ``fg.amount > 10``, ``fg.category.isin([...])``, combined with & | ~.

A filter is a small tree that renders to DuckDB SQL with literal values (so ``to_string()``
shows exactly what runs) and serializes to JSON (so a training dataset can store it).
"""

from __future__ import annotations

import datetime as dt
import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from fti.errors import FtiError

_COMPARISONS = {"==": "=", "!=": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}


def literal(value: Any) -> str:
    """A SQL literal for a filter value; anything else is an error, never string-pasted."""
    if type(value).__module__ == "numpy" and hasattr(value, "item"):
        value = value.item()  # NumPy scalars (np.float64 is a float whose repr is not SQL)
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return f"'{value}'::DOUBLE"
        return repr(value)
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise FtiError(f"filter time {value!r} must be timezone-aware")
        return f"TIMESTAMPTZ '{value.astimezone(dt.UTC).isoformat()}'"
    if isinstance(value, dt.date):
        return f"DATE '{value.isoformat()}'"
    raise FtiError(f"cannot use {value!r} ({type(value).__name__}) in a filter")


def _json_value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return {"datetime": value.isoformat()}
    if isinstance(value, dt.date):
        return {"date": value.isoformat()}
    if hasattr(value, "item"):
        return value.item()
    return value


def _from_json(value: Any) -> Any:
    if isinstance(value, dict) and "datetime" in value:
        return dt.datetime.fromisoformat(value["datetime"])
    if isinstance(value, dict) and "date" in value:
        return dt.date.fromisoformat(value["date"])
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
    def to_sql(self, column: Callable[[FeatureRef], str]) -> str:
        """DuckDB SQL, with ``column`` naming each feature's column."""

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

    def to_sql(self, column: Callable[[FeatureRef], str]) -> str:
        col = column(self.ref)
        if self.op == "isnull":
            return f"({col} IS NULL)"
        if self.op == "isin":
            if not self.value:
                return "FALSE"
            return f"({col} IN ({', '.join(literal(v) for v in self.value)}))"
        if self.op == "like":
            return f"({col} LIKE {literal(self.value)})"
        if self.value is None:
            raise FtiError(f"comparing {self.ref.name} {self.op} None: use .isnull()")
        return f"({col} {_COMPARISONS[self.op]} {literal(self.value)})"

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


def _fits(value: Any, typ: Any) -> bool:
    import pyarrow as pa

    if type(value).__module__ == "numpy" and hasattr(value, "item"):
        value = value.item()
    if not isinstance(value, bool | int | float | str | dt.date):
        return True  # None is handled by its own message, anything else by literal()
    if pa.types.is_boolean(typ):
        return isinstance(value, bool)
    if pa.types.is_integer(typ) or pa.types.is_floating(typ) or pa.types.is_decimal(typ):
        return isinstance(value, int | float) and not isinstance(value, bool)
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

    def to_sql(self, column: Callable[[FeatureRef], str]) -> str:
        if self.op == "NOT":
            return f"(NOT {self.children[0].to_sql(column)})"
        return "(" + f" {self.op} ".join(c.to_sql(column) for c in self.children) + ")"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "logic", "op": self.op, "children": [c.to_dict() for c in self.children]}
