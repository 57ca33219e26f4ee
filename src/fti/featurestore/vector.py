"""Online feature vectors: serving keys in, the model's input row out, in microseconds.

Everything that does not depend on the request is resolved once, when a :class:`ServingPlan`
is built (:func:`fti.featurestore.serving.serving_plan`), and never changes afterwards: which
online table each joined group is read from and with which serving keys, where each feature
sits in the stored row, the on-demand transformations with the source of each input, and the
model-dependent transformations compiled with their fitted state. A request then does, in
order:

1. one ``multi_get`` on the online store for every online group of every requested entity
   (one LMDB read transaction / one Redis ``MGET``), the missing-values policy for rows that
   are absent or older than the join's ``max_feature_age``;
2. the passed features, which override looked-up values (and stand in for the features of
   groups that are not online);
3. on-demand transformations, from request parameters and the looked-up row;
4. model-dependent transformations with the training dataset's state;
5. the features in the view's fixed (transformed) order.

**One definition of each step, two drivers.** The steps are defined once
(:mod:`.vector_steps`, :class:`fti.transform.mdt.Compiled`) and walked by two drivers:
:meth:`ServingPlan._columns`, the core, over one list per feature for all entities at once
(every transformation runs once, column-wise through Arrow and pandas: the path offline data
takes), and :meth:`ServingPlan._row`, over one dict for a single entity (each transformation
on Python scalars). The row driver exists because one row through the column core is
measurably slower: a vector with 1 ODT and 2 MDTs took 61 µs by row and 860 µs as a
one-row batch (Arrow and pandas cost tens of microseconds per transformation call, whatever
the rows), a plain vector 29 against 42 µs. Calls with fewer than ``batch_rows`` entities
therefore take the row driver entity by entity; the property tests hold the two drivers to
identical vectors. When a plan's vectors are its stored values in order (nothing passed,
computed, converted or aged) and every entity was found, the core skips the columns and puts
each group's decoded values straight into the rows (:meth:`ServingPlan._stored_rows`):
building columns only to turn them back into rows cost 8% of a 100-vector call.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from fti import _frames
from fti.errors import FeatureVectorNotFound, FtiError, InvalidDataError
from fti.featurestore.online_reads import OnlineReads
from fti.featurestore.vector_checks import RequestChecks
from fti.featurestore.vector_steps import Columns, LookupStep, view_steps
from fti.types import parse_type

if TYPE_CHECKING:
    from fti.featurestore.feature_view import FeatureView
    from fti.online import OnlineStore
    from fti.transform import Pipeline

MISSING_POLICIES = ("error", "impute", "null", "last_known")
RETURN_TYPES = ("list", "dict", "numpy", "pandas", "polars")


@dataclass
class FeatureVector:
    """A feature vector with what a log or a monitor needs besides the values."""

    vector: Any  # in the requested return type
    untransformed: dict[str, Any]  # before model-dependent transformations
    imputed: list[str] = field(default_factory=list)  # features filled by the missing policy
    missing: list[str] = field(default_factory=list)  # "group:version" without a row
    reason: str | None = None  # why values were not looked up (the online store was down)


def _check_options(
    missing: str, lookup_timeout: float | None, batch_rows: int, last_known_keys: int
) -> None:
    if missing not in MISSING_POLICIES:
        raise FtiError(f"missing must be one of {list(MISSING_POLICIES)}, got {missing!r}")
    bad = isinstance(lookup_timeout, bool) or not isinstance(lookup_timeout, int | float)
    if lookup_timeout is not None and (bad or not 0 < lookup_timeout < float("inf")):
        raise FtiError(f"lookup_timeout must be a number of seconds > 0, got {lookup_timeout!r}")
    for name, value in (("batch_rows", batch_rows), ("last_known_keys", last_known_keys)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise FtiError(f"{name} must be an integer >= 1, got {value!r}")


class ServingPlan:
    """Everything a feature vector needs that does not depend on the request; immutable once
    built (the reads' health, :class:`.online_reads.OnlineReads`, is its only state)."""

    def __init__(
        self,
        fv: FeatureView,
        pipeline: Pipeline,
        states: list[Any] | None,
        statistics: Mapping[str, Any] | None,
        missing: str,
        lookup_timeout: float | None = None,
        *,
        store: OnlineStore,
        batch_rows: int,
        last_known_keys: int,
        columns: Sequence[str] | None = None,
    ) -> None:
        _check_options(missing, lookup_timeout, batch_rows, last_known_keys)
        self.view = repr(fv)
        self.missing = missing
        self.batch_rows = batch_rows
        # the features as stored, then as the model reads them
        self._types = {f["name"]: f["type"] for f in fv.features}
        # the features with the selected keys and time, or the columns asked for (helpers)
        self.base = tuple(fv.vector_names if columns is None else columns)
        self._features = frozenset(fv.feature_names if columns is None else columns)
        self.base_schema = pa.schema([(n, parse_type(self._types[n])) for n in self.base])
        self._mdt = pipeline.compile(self.base_schema, states) if states is not None else None
        self.schema = self.base_schema if self._mdt is None else self._mdt.schema
        self.names = tuple(self.schema.names)
        self.untransformed_only = bool(pipeline) and states is None
        self._steps(fv)
        self._imputes = self._impute_values(statistics) if missing == "impute" else {}
        self._template = dict.fromkeys([*self.base, *self._extras])
        checks = RequestChecks(
            self.serving_keys,
            self.base_schema,
            self.required_passed,
            self.parameter_types,
            self.request_parameters,
            self.required_request_parameters,
        )
        self._keys, self._passed, self._params = checks.keys, checks.passed, checks.params
        store = store if lookup_timeout is None else store.with_timeout(lookup_timeout)
        self._reads = OnlineReads(store, missing, len(self.lookups), last_known_keys)
        self._frozen = True

    def _steps(self, fv: FeatureView) -> None:
        """The lookups and on-demand transformations of the view, and what a request names."""
        steps = view_steps(fv, list(self.base), self._features)
        self.serving_keys = tuple(steps.serving_keys)
        self.lookups: tuple[LookupStep, ...] = tuple(steps.lookups)
        self._on_demand = tuple(steps.on_demand)
        self._extras = tuple(steps.extras)
        self.parameter_types = MappingProxyType(dict(steps.parameter_types))
        self.request_parameters = tuple(steps.request_parameters)
        self.required_request_parameters = tuple(steps.required_request_parameters)
        self.required_passed = tuple(steps.required_passed)
        self._from_keys = tuple(steps.from_keys)
        # the stored values are the vector, in order: nothing computed, converted or aged
        self._direct = (
            not self._on_demand
            and not self._extras
            and not self._from_keys
            and all(s.values is not None and s.max_age_us is None for s in self.lookups)
            and [t[0] for s in self.lookups for t in s.targets] == list(self.base)
        )

    def __setattr__(self, name: str, value: Any) -> None:
        # a server reads one plan from many requests: a changed plan is a new plan
        if getattr(self, "_frozen", False) and not isinstance(
            getattr(type(self), name, None), property
        ):
            raise AttributeError(
                f"a serving plan cannot be changed ({name}): build another one with "
                "fti.featurestore.serving.serving_plan"
            )
        object.__setattr__(self, name, value)

    def _impute_values(self, statistics: Mapping[str, Any] | None) -> dict[str, Any]:
        """Per feature, the training value that stands in for a missing one: the mean of a
        numeric feature (rounded for integers), the most frequent value of a categorical one."""
        if statistics is None:
            raise FtiError(
                "missing='impute' needs the training dataset's statistics; create it with "
                "statistics_config=True"
            )
        columns = statistics.get("columns", {})
        out: dict[str, Any] = {}
        for name in self.base:
            if name not in self._features:  # a key or event time: the request's, or null
                out[name] = None
                continue
            stats = columns.get(name, {})
            if stats.get("kind") == "numeric" and stats.get("mean") is not None:
                mean = stats["mean"]
                integer = pa.types.is_integer(self.base_schema.field(name).type)
                out[name] = round(mean) if integer else float(mean)
            elif stats.get("top_values"):
                out[name] = stats["top_values"][0]["value"]
            else:
                out[name] = None
        return out

    # -- the online store's health (a server's readiness) -------------------------------------

    @property
    def failure(self) -> str | None:
        """None when the last lookup answered, else why it failed."""
        return self._reads.failure

    @property
    def fail_fast(self) -> bool:
        """Whether requests skip a store whose last lookup failed until :meth:`probe` finds it
        answering (set by a server, whose event loop a stalled lookup would hold)."""
        return self._reads.fail_fast

    @fail_fast.setter
    def fail_fast(self, value: bool) -> None:
        self._reads.fail_fast = value

    @property
    def _store(self) -> Any:
        return self._reads.store

    def probe(self) -> None:
        """One lookup outside any request, to clear :attr:`failure` once the store answers."""
        if self.lookups:
            self._reads.probe(self.lookups[0].table)

    # -- requests -----------------------------------------------------------------------------

    @property
    def serving_schema(self) -> dict[str, Any]:
        """What a request must and may carry, and what it returns."""
        types = self._types

        def typed(names: Sequence[str]) -> list[dict[str, str]]:
            return [{"name": n, "type": types.get(n, "any")} for n in names]

        return {
            "serving_keys": typed(self.serving_keys),
            "required_passed_features": typed(self.required_passed),
            "passed_features": typed(self.base),
            "request_parameters": [
                {"name": n, "type": str(self.parameter_types.get(n, "any"))}
                for n in self.request_parameters
            ],
            "required_request_parameters": list(self.required_request_parameters),
            "features": [{"name": f.name, "type": str(f.type)} for f in self.schema],
            "missing": self.missing,
        }

    def _check_transform(self, transform: bool, return_type: str) -> None:
        if return_type in RETURN_TYPES and not (transform and self.untransformed_only):
            return
        if return_type not in RETURN_TYPES:
            raise FtiError(f"return_type must be one of {list(RETURN_TYPES)}, got {return_type!r}")
        raise FtiError(
            f"{self.view} has model-dependent transformations, fitted per training dataset: "
            "call fv.init_serving(training_dataset_version=N) (or build the plan with one) "
            "first, or pass transform=False"
        )

    def _requests(self, entities: Sequence[Mapping[str, Any]]) -> list[tuple[str, list[bytes]]]:
        """The online keys of every lookup for every entity."""
        requests = []
        for lookup in self.lookups:
            try:
                requests.append((lookup.table, [lookup.encode(e) for e in entities]))
            except InvalidDataError as exc:
                raise InvalidDataError(f"serving key(s) {list(lookup.key_names)}: {exc}") from exc
        return requests

    def get_feature_vector(
        self,
        serving_keys: Mapping[str, Any],
        passed_features: Mapping[str, Any] | None = None,
        request_parameters: Mapping[str, Any] | None = None,
        return_type: str = "list",
        transform: bool = True,
        details: bool = False,
    ) -> Any:
        """One entity (see :meth:`fti.FeatureView.get_feature_vector`): the hot path, the row
        driver, one key per online table in one round trip."""
        if return_type != "list" or (transform and self.untransformed_only):
            self._check_transform(transform, return_type)
        entity = self._keys(serving_keys)
        given = self._passed(passed_features)
        request = self._params(request_parameters)
        found, reason = self._reads.multi_get(self._requests([entity]))
        values = [v[0] for v in found]
        row, info = self._row(entity, values, given, request, transform, details, None, reason)
        names = self.names if transform else self.base
        if return_type == "list":
            vector: Any = [row[n] for n in names]
        elif return_type == "dict":
            vector = {n: row[n] for n in names}
        elif return_type == "numpy":
            vector = np.array([row[n] for n in names])
        else:  # a one-row DataFrame
            vector = self._output([[row[n] for n in names]], return_type, transform)
        if info is None:
            return vector
        info.vector = vector
        return info

    def get_feature_vectors(
        self,
        serving_keys: Sequence[Mapping[str, Any]],
        passed_features: Sequence[Mapping[str, Any] | None] | None = None,
        request_parameters: Sequence[Mapping[str, Any] | None] | None = None,
        return_type: str = "list",
        transform: bool = True,
        details: bool = False,
        timings: dict[str, float] | None = None,
    ) -> Any:
        """Many entities in one round trip (see :meth:`fti.FeatureView.get_feature_vectors`).
        ``timings``, when given, receives the milliseconds of ``feature_lookup``,
        ``on_demand`` and ``model_dependent`` (what the serving metrics report per step)."""
        if isinstance(serving_keys, Mapping) or not isinstance(serving_keys, Sequence):
            raise FtiError("serving_keys must be a list of dicts, one per entity")
        n = len(serving_keys)
        passed = [None] * n if passed_features is None else list(passed_features)
        params = [None] * n if request_parameters is None else list(request_parameters)
        if len(passed) != n or len(params) != n:
            raise FtiError(
                f"passed_features and request_parameters need one entry per serving key ({n})"
            )
        if return_type != "list" or (transform and self.untransformed_only):
            self._check_transform(transform, return_type)
        start = time.perf_counter()
        entities = [self._keys(k) for k in serving_keys]
        given = [self._passed(p) for p in passed]
        request = [self._params(p) for p in params]
        found, reason = self._reads.multi_get(self._requests(entities))
        clock = None if timings is None else [0.0, 0.0]
        names = self.names if transform else self.base
        if n < self.batch_rows:
            rows = [
                self._row(e, [v[i] for v in found], given[i], request[i], transform, details,
                          clock, reason)
                for i, e in enumerate(entities)
            ]  # fmt: skip
            vectors = [[row[name] for name in names] for row, _ in rows]
            infos = [info for _, info in rows]
        elif (
            self._direct
            and not details
            and (not transform or self._mdt is None)
            and not any(given)
            and all(None not in values for values in found)
        ):
            vectors, infos = self._stored_rows(found), []
        else:
            cols, infos = self._columns(
                entities, found, given, request, transform, details, clock, reason
            )
            columns = [cols[name] for name in names]
            vectors = (
                list(map(list, zip(*columns, strict=True))) if columns else [[] for _ in range(n)]
            )
        if timings is not None and clock is not None:
            total = (time.perf_counter() - start) * 1000
            timings["on_demand"] = clock[0] * 1000
            timings["model_dependent"] = clock[1] * 1000
            timings["feature_lookup"] = total - timings["on_demand"] - timings["model_dependent"]
        if not details:
            return self._output(vectors, return_type, transform)
        per_row: list[Any] = vectors
        if return_type == "dict":
            per_row = [dict(zip(names, vector, strict=True)) for vector in vectors]
        for info, vector in zip(infos, per_row, strict=True):
            assert info is not None
            info.vector = vector
        return infos

    # -- the two drivers ------------------------------------------------------------------------

    def _row(
        self,
        entity: Mapping[str, Any],
        values: list[bytes | None],
        given: Mapping[str, Any],
        request: Mapping[str, Any],
        transform: bool,
        details: bool,
        clock: list[float] | None = None,
        reason: str | None = None,
    ) -> tuple[dict[str, Any], FeatureVector | None]:
        """One entity's row from its stored values (one per lookup); ``clock`` accumulates the
        seconds spent in ODTs and in MDTs."""
        row = self._template.copy()
        imputed: list[str] = []
        absent: list[str] = []
        for lookup, value in zip(self.lookups, values):  # noqa: B905 - equal by construction
            if value is None:
                self._on_missing(lookup, entity, row, given, imputed, absent)
                continue
            decoded = lookup.decode(value)
            if lookup.max_age_us is not None and lookup.too_old(decoded):
                continue  # null features, as the offline join gives
            lookup.fill_row(decoded, row)
        for name in self._from_keys:
            row[name] = entity[name]
        if given:
            row.update(given)
        ticked = time.perf_counter() if clock is not None else 0.0
        for odt in self._on_demand:
            odt.row(row, entity, request)
        for name in self._extras:
            del row[name]
        info = FeatureVector(None, dict(row), imputed, absent, reason) if details else None
        if clock is not None:
            now = time.perf_counter()
            clock[0] += now - ticked
            ticked = now
        if transform and self._mdt is not None:
            self._mdt.row(row)
        if clock is not None:
            clock[1] += time.perf_counter() - ticked
        return row, info

    def _columns(
        self,
        entities: list[Mapping[str, Any]],
        found: list[list[bytes | None]],
        given: list[Mapping[str, Any]],
        request: list[Mapping[str, Any]],
        transform: bool,
        details: bool,
        clock: list[float] | None = None,
        reason: str | None = None,
    ) -> tuple[Columns, list[FeatureVector | None]]:
        """The entities' features as columns by name (the view's, transformed or not, and
        possibly others), and each entity's details (None unless ``details``)."""
        n = len(entities)
        imputed: list[list[str]] = [[] for _ in range(n)]
        absent: list[list[str]] = [[] for _ in range(n)]
        found_cols: dict[str, Any] = dict.fromkeys(self._template)  # filled below
        if self.missing == "error" and any(None in values for values in found):
            self._raise_first_missing(entities, found, given)
        for lookup, values in zip(self.lookups, found):  # noqa: B905 - equal by construction
            if lookup.max_age_us is None and None not in values:  # the common case
                lookup.fill_columns(values, found_cols)  # type: ignore[arg-type]
                continue
            for name, _, _ in lookup.targets:
                found_cols[name] = [None] * n
            for i, value in enumerate(values):  # as the row driver does, one entity at a time
                row: dict[str, Any] = {}
                if value is None:
                    self._on_missing(lookup, entities[i], row, given[i], imputed[i], absent[i])
                else:
                    decoded = lookup.decode(value)
                    if lookup.max_age_us is not None and lookup.too_old(decoded):
                        continue
                    lookup.fill_row(decoded, row)
                for name, v in row.items():
                    found_cols[name][i] = v
        for name in self._from_keys:
            found_cols[name] = [e[name] for e in entities]
        # a column still None: passed only (a group that is not online), or an ODT's output
        cols: Columns = {k: [None] * n if c is None else c for k, c in found_cols.items()}
        if any(given):
            for i, passed in enumerate(given):
                for name, v in passed.items():
                    cols[name][i] = v
        ticked = time.perf_counter()
        for odt in self._on_demand:
            odt.columns(cols, entities, request)
        for name in self._extras:
            del cols[name]
        infos: list[FeatureVector | None] = [None] * n
        if details:
            base = [cols[name] for name in self.base]
            rows = zip(*base, strict=True) if base else [()] * n
            for i, features in enumerate(rows):
                untransformed = dict(zip(self.base, features, strict=True))
                infos[i] = FeatureVector(None, untransformed, imputed[i], absent[i], reason)
        now = time.perf_counter()
        if transform and self._mdt is not None:
            self._mdt.columns(cols, n)
        if clock is not None:
            clock[0] += now - ticked
            clock[1] += time.perf_counter() - now
        return cols, infos

    def _stored_rows(self, found: list[list[bytes | None]]) -> list[list[Any]]:
        """The column core's answer for a plan whose vectors are the stored values in order
        (``_direct``), every entity found and nothing passed: each group's decoded values
        put into every entity's row in one pass, without columns to turn back into rows."""
        n = len(found[0]) if found else 0
        rows = [[None] * len(self.base) for _ in range(n)]
        start = 0
        for step, values in zip(self.lookups, found, strict=True):
            decode, take = step.decode, step.values
            end = start + len(step.targets)
            for row, value in zip(rows, values):  # noqa: B905 - one value per entity
                row[start:end] = take(decode(value))  # type: ignore[arg-type, misc]
            start = end
        return rows

    def _raise_first_missing(
        self,
        entities: list[Mapping[str, Any]],
        found: list[list[bytes | None]],
        given: list[Mapping[str, Any]],
    ) -> None:
        """The error the row driver raises, for the same entity: the first, in entity order,
        without a row it needs (the column core meets them in lookup order)."""
        for i, entity in enumerate(entities):
            for lookup, values in zip(self.lookups, found):  # noqa: B905 - equal by construction
                if values[i] is None:
                    self._on_missing(lookup, entity, {}, given[i], [], [])

    def _on_missing(
        self,
        lookup: LookupStep,
        entity: Mapping[str, Any],
        row: dict[str, Any],
        given: Mapping[str, Any],
        imputed: list[str],
        absent: list[str],
    ) -> None:
        needed = [n for n in lookup.features if n not in given]
        if not needed:
            return  # every feature of the group was passed
        if self.missing == "error":
            key = {k: entity[k] for k in lookup.key_names}
            raise FeatureVectorNotFound(
                f"no online row in {lookup.group} for {key} (features {needed}); pass them as "
                "passed_features or init_serving(missing='impute' | 'null')"
            )
        absent.append(lookup.group)
        if self.missing == "impute":
            for name in needed:
                row[name] = self._imputes.get(name)
                imputed.append(name)

    # -- output -----------------------------------------------------------------------------

    def transform(self, rows: Sequence[Mapping[str, Any]]) -> list[list[Any]]:
        """Untransformed rows (``FeatureVector.untransformed``) through this plan's
        model-dependent transformations, as lists in the transformed order."""
        out = []
        for given in rows:
            row = dict(given)
            if self._mdt is not None:
                self._mdt.row(row)
            out.append([row[n] for n in self.names])
        return out

    def _output(self, vectors: list[list[Any]], return_type: str, transform: bool) -> Any:
        """Vectors (lists in the view's order) as lists or dicts, a 2-D array or one
        DataFrame."""
        if return_type == "list":
            return vectors
        names = self.names if transform else self.base
        if return_type == "dict":
            return [dict(zip(names, vector, strict=True)) for vector in vectors]
        if return_type == "numpy":
            return np.array(vectors)
        schema = self.schema if transform else self.base_schema
        columns = zip(*vectors, strict=True) if vectors else [[] for _ in names]
        arrays = [pa.array(list(c), f.type) for c, f in zip(columns, schema, strict=True)]
        return _frames.to_frame(pa.Table.from_arrays(arrays, schema=schema), return_type)
