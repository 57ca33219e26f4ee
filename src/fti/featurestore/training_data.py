"""Training-dataset specifications: time window, filter, split and seed, and how rows are split.

A specification plus the Delta commit of every group read determines a training dataset
exactly: the query runs on those commits in a fixed row order, so the random split (drawn from
the seed over that order) and the time split give the same rows every time.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from fti._time import utc
from fti.errors import FtiError
from fti.featurestore.filters import FeatureRef, Filter

SPLITS = ("train", "validation", "test")


def _time(value: Any, what: str) -> dt.datetime | None:
    """A time bound (see :mod:`fti._time`), None when absent."""
    if value is None or value == "":
        return None
    return utc(value, what)


def _iso(value: dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _from_iso(value: str | None) -> dt.datetime | None:
    return None if value is None else dt.datetime.fromisoformat(value)


@dataclass(frozen=True)
class Split:
    """How rows are divided: none, random fractions with a seed, or time ranges."""

    kind: str = "none"  # none | random | time
    test_size: float = 0.0
    validation_size: float = 0.0
    seed: int = 42
    # time splits: [start, end) per split; None = open
    ranges: tuple[tuple[str, str | None, str | None], ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        if self.kind == "none":
            return ("train",)
        if self.kind == "random":
            return ("train", "validation", "test") if self.validation_size else ("train", "test")
        return tuple(name for name, _, _ in self.ranges)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "test_size": self.test_size,
            "validation_size": self.validation_size,
            "seed": self.seed,
            "ranges": [list(r) for r in self.ranges],
        }

    @staticmethod
    def from_dict(data: dict[str, Any]) -> Split:
        return Split(
            data["kind"],
            data["test_size"],
            data["validation_size"],
            data["seed"],
            tuple((r[0], r[1], r[2]) for r in data["ranges"]),
        )

    def assign(self, table: pa.Table, event_time: str | None) -> dict[str, pa.Table]:
        """Rows of each split; deterministic for a given row order."""
        if self.kind == "none":
            return {"train": table}
        if self.kind == "random":
            draw = np.random.default_rng(self.seed).random(table.num_rows)
            test = draw < self.test_size
            validation = (draw >= self.test_size) & (draw < self.test_size + self.validation_size)
            parts = {
                "train": table.filter(pa.array(~(test | validation))),
                "test": table.filter(pa.array(test)),
            }
            if self.validation_size:
                parts["validation"] = table.filter(pa.array(validation))
            return {name: parts[name] for name in self.names}
        if event_time is None:
            raise FtiError("a time split needs a feature view whose root group has an event time")
        times = table.column(event_time)
        out = {}
        for name, start, end in self.ranges:
            mask = pa.array(np.ones(table.num_rows, dtype=bool))
            if start is not None:
                mask = pc.and_(
                    mask, pc.greater_equal(times, pa.scalar(_from_iso(start), times.type))
                )
            if end is not None:
                mask = pc.and_(mask, pc.less(times, pa.scalar(_from_iso(end), times.type)))
            out[name] = table.filter(mask)
        return out


def random_split(test_size: float, validation_size: float, seed: int) -> Split:
    for name, size in (("test_size", test_size), ("validation_size", validation_size)):
        if not 0 <= size < 1:
            raise FtiError(f"{name} must be in [0, 1), got {size}")
    if test_size <= 0:
        raise FtiError("test_size must be greater than 0")
    if test_size + validation_size >= 1:
        raise FtiError("test_size + validation_size must leave rows for training")
    return Split("random", test_size, validation_size, int(seed))


def time_split(**bounds: dt.datetime | str | None) -> Split:
    """Time ranges per split from ``<split>_start`` / ``<split>_end`` keyword arguments."""
    ranges = []
    for name in SPLITS:
        start = _time(bounds.get(f"{name}_start"), f"{name}_start")
        end = _time(bounds.get(f"{name}_end"), f"{name}_end")
        if name != "train" and start is None and end is None:
            continue
        if start is not None and end is not None and start >= end:
            raise FtiError(f"{name}_start must be before {name}_end")
        ranges.append((name, _iso(start), _iso(end)))
    return Split("time", ranges=tuple(ranges))


@dataclass(frozen=True)
class Spec:
    """Everything that defines a training dataset besides the commits it read."""

    start_time: dt.datetime | None
    end_time: dt.datetime | None
    extra_filter: Filter | None
    split: Split

    def to_dict(self) -> dict[str, Any]:
        return {
            "start_time": _iso(self.start_time),
            "end_time": _iso(self.end_time),
            "extra_filter": None if self.extra_filter is None else self.extra_filter.to_dict(),
            "split": self.split.to_dict(),
        }

    @staticmethod
    def from_dict(data: dict[str, Any]) -> Spec:
        return Spec(
            _from_iso(data["start_time"]),
            _from_iso(data["end_time"]),
            None if data["extra_filter"] is None else Filter.from_dict(data["extra_filter"]),
            Split.from_dict(data["split"]),
        )

    def row_filter(self, root: FeatureRef | None) -> Filter | None:
        """The time window (on the root's event time) ANDed with the extra filter."""
        parts: list[Filter] = []
        if (self.start_time or self.end_time) and root is None:
            raise FtiError("a time window needs a feature view whose root group has an event time")
        if self.start_time is not None and root is not None:
            parts.append(root >= self.start_time)
        if self.end_time is not None and root is not None:
            parts.append(root < self.end_time)
        if self.extra_filter is not None:
            parts.append(self.extra_filter)
        if not parts:
            return None
        combined = parts[0]
        for part in parts[1:]:
            combined = combined & part
        return combined


def make_spec(
    start_time: dt.datetime | str | None,
    end_time: dt.datetime | str | None,
    extra_filter: Filter | None,
    split: Split,
) -> Spec:
    start, end = _time(start_time, "start_time"), _time(end_time, "end_time")
    if start is not None and end is not None and start >= end:
        raise FtiError("start_time must be before end_time")
    if extra_filter is not None and not isinstance(extra_filter, Filter):
        raise FtiError("extra_filter must be a feature expression such as fg.amount > 10")
    return Spec(start, end, extra_filter, split)
