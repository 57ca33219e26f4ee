"""Tunables of a project: thresholds chosen by measurement, in one object, not module globals.

``fti.connect(settings=fti.Settings(...))`` sets them for one project handle; every layer
reads them from there (the feature store, the serving plans it builds, the inference log), so
two projects in one process can differ and a test changes one without patching a module.
The defaults are what the benchmarks in ``bench/`` chose; each field says which.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from fti.errors import ConfigurationError


@dataclass(frozen=True)
class Settings:
    """Project tunables; every field has a measured default."""

    # Reading the newest rows of a group from the online store decodes each key in Python
    # (~3 µs a row); DuckDB picks the newest of the offline history at ~0.06-0.1 µs a row.
    # Past this many history rows per key the online store is the cheaper source
    # (bench/latest.py measures the crossover).
    online_scan_factor: float = 50
    # From this many entities a get_feature_vectors call assembles the vectors column-wise;
    # below it, entity by entity (bench/vector.py: one row through Arrow costs 14x).
    vector_batch_rows: int = 16
    # Keys per online group whose last served values missing="last_known" remembers.
    last_known_keys: int = 100_000
    # Commits of one inference-log writer between compactions of the log table.
    log_compact_every: int = 100

    def __post_init__(self) -> None:
        for field in fields(self):
            value = getattr(self, field.name)
            integral = field.type == "int"
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or (integral and not isinstance(value, int))
                or value < (1 if integral else 0)
            ):
                kind = "an integer >= 1" if integral else "a number >= 0"
                raise ConfigurationError(f"Settings.{field.name} must be {kind}, got {value!r}")
