"""What statistics to compute of a feature group's commits or a training dataset
(``statistics_config=``), in Hopsworks' spelling."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from fti.errors import FtiError

# Hopsworks options with no counterpart here, taken and ignored with a warning
_IGNORED = {"kll": "KLL sketches (fti computes exact quantiles)"}


@dataclass(frozen=True)
class StatisticsConfig:
    """``enabled``: compute statistics at all; ``histograms``: histograms of numeric columns
    and top values of categorical ones; ``correlations``: the Pearson correlation matrix of
    the numeric columns; ``exact_uniqueness``: per column the share of distinct values
    (``distinctness``), of values seen once (``uniqueness``) and the ``entropy`` of the
    values; ``columns``: restrict to these columns (all by default)."""

    enabled: bool = True
    histograms: bool = True
    correlations: bool = False
    exact_uniqueness: bool = False
    columns: tuple[str, ...] | None = None

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["columns"] = None if self.columns is None else list(self.columns)
        return out

    @staticmethod
    def of(value: bool | Mapping[str, Any] | StatisticsConfig | None) -> StatisticsConfig:
        """Accept ``True``/``False``, a dict of the fields, or a config."""
        if isinstance(value, StatisticsConfig):
            return value
        if value is None or isinstance(value, bool):
            return StatisticsConfig(enabled=value is not False)
        if not isinstance(value, Mapping):
            raise FtiError(
                f"statistics_config must be a bool, a dict or a StatisticsConfig, not {value!r}"
            )
        flags = ("enabled", "histograms", "correlations", "exact_uniqueness")
        known = {*flags, "columns"}
        unknown = sorted(set(value) - known - set(_IGNORED))
        if unknown:
            raise FtiError(f"unknown statistics_config key(s) {unknown}; known: {sorted(known)}")
        for key in sorted(set(value) & set(_IGNORED)):
            warnings.warn(
                f"statistics_config[{key!r}] is ignored: {_IGNORED[key]}", UserWarning, stacklevel=3
            )
        for flag in flags:
            if flag in value and not isinstance(value[flag], bool):
                raise FtiError(f"statistics_config[{flag!r}] must be a bool")
        columns = value.get("columns")
        if columns is not None:
            if isinstance(columns, str) or not isinstance(columns, Sequence):
                raise FtiError("statistics_config['columns'] must be a list of column names")
            columns = tuple(columns)
        return StatisticsConfig(
            enabled=value.get("enabled", True),
            histograms=value.get("histograms", True),
            correlations=value.get("correlations", False),
            exact_uniqueness=value.get("exact_uniqueness", False),
            columns=columns,
        )

    def select(self, available: Sequence[str]) -> list[str]:
        """The columns to describe; unknown names are an error listing the candidates."""
        if self.columns is None:
            return list(available)
        missing = [c for c in self.columns if c not in available]
        if missing:
            raise FtiError(
                f"statistics_config names unknown column(s) {missing}; columns: {list(available)}"
            )
        return [c for c in available if c in self.columns]
