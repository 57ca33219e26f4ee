"""Online feature vectors: serving keys in, the model's input row out, in microseconds.

Everything that does not depend on the request is resolved once, in :class:`ServingPlan`
(built by ``fv.init_serving``): which online table each joined group is read from and with
which serving keys, where each feature sits in the stored row, the on-demand transformations
with the source of each input, and the model-dependent transformations with their fitted
state. A request then does, in order:

1. one ``multi_get`` on the online store for every online group of every requested entity
   (one LMDB read transaction / one Redis ``MGET``);
2. the passed features, which override looked-up values (and stand in for the features of
   groups that are not online);
3. on-demand transformations, from request parameters and the looked-up row;
4. model-dependent transformations with the training dataset's state;
5. the features in the view's fixed (transformed) order.

Serving keys are the root group's primary key when the root is online, plus every join key
(the left side's column names), so every lookup happens in that one round trip.
"""

from __future__ import annotations

import datetime as dt
import operator
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from fti import _frames
from fti.errors import FeatureVectorNotFound, FtiError, InvalidDataError, OnlineStoreUnavailable
from fti.featurestore.serving_batch import BATCH_ROWS, BatchColumns
from fti.online.codec import from_integer, micros
from fti.types import parse_type

if TYPE_CHECKING:
    from fti.featurestore.feature_view import FeatureView
    from fti.transform import Pipeline
    from fti.transform.udf import UDF

MISSING_POLICIES = ("error", "impute", "null", "last_known")
LAST_KNOWN_KEYS = 100_000  # per online group; the oldest entries go first
_EMPTY: Mapping[str, Any] = {}
RETURN_TYPES = ("list", "dict", "numpy", "pandas", "polars")


@dataclass
class FeatureVector:
    """A feature vector with what a log or a monitor needs besides the values."""

    vector: Any  # in the requested return type
    untransformed: dict[str, Any]  # before model-dependent transformations
    imputed: list[str] = field(default_factory=list)  # features filled by the missing policy
    missing: list[str] = field(default_factory=list)  # "group:version" without a row
    reason: str | None = None  # why values were not looked up (the online store was down)


@dataclass
class _Lookup:
    """One online-enabled group of the view."""

    group: str  # "name:version"
    table: str
    encode: Callable[[Mapping[str, Any]], bytes]  # the key from the serving keys
    key_names: list[str]  # serving keys, in the group's primary-key order
    decode: Callable[[bytes], list[Any]]
    targets: list[tuple[str, int, Callable[[Any], Any] | None]]  # (name in row, position, conv)
    features: list[str]  # the view features it provides (for the missing policy)
    max_age_us: int | None
    event_position: int | None
    fill: Callable[[list[Any], dict[str, Any]], None] = field(default=lambda d, r: None)
    fill_lists: Callable[[list[list[Any]], list[bytes | None]], None] = field(
        default=lambda rows, values: None
    )

    def prepare(self) -> None:
        """Build ``fill`` (decoded value -> row) once the targets are final: C-level
        ``itemgetter`` / ``dict.update`` when no value needs converting."""
        names = [t[0] for t in self.targets]
        positions = [t[1] for t in self.targets]
        if len(positions) > 1 and all(t[2] is None for t in self.targets):
            get = operator.itemgetter(*positions)
            self.fill = lambda decoded, row: row.update(zip(names, get(decoded)))  # noqa: B905
            return
        targets = self.targets

        def fill(decoded: list[Any], row: dict[str, Any]) -> None:
            for name, position, convert in targets:
                v = decoded[position]
                row[name] = v if convert is None or v is None else convert(v)

        self.fill = fill

    def prepare_lists(self, order: Sequence[str]) -> None:
        """Build ``fill_lists``: stored values straight into output lists in ``order`` (plain
        views only: no converters, no ODT inputs)."""
        getters = [(order.index(t[0]), t[1]) for t in self.targets]
        destinations = [d for d, _ in getters]
        decode = self.decode
        start = destinations[0] if destinations else 0
        if destinations == list(range(start, start + len(destinations))):  # a contiguous run
            get = operator.itemgetter(*[p for _, p in getters]) if len(getters) > 1 else None
            end = start + len(getters)
            position = getters[0][1] if getters else 0

            def fill_lists(rows: list[list[Any]], values: list[bytes | None]) -> None:
                for row, value in zip(rows, values):  # noqa: B905
                    decoded = decode(value)  # type: ignore[arg-type]
                    if get is None:
                        row[start] = decoded[position]
                    else:
                        row[start:end] = get(decoded)

        else:

            def fill_lists(rows: list[list[Any]], values: list[bytes | None]) -> None:
                for row, value in zip(rows, values):  # noqa: B905
                    decoded = decode(value)  # type: ignore[arg-type]
                    for destination, position in getters:
                        row[destination] = decoded[position]

        self.fill_lists = fill_lists


@dataclass
class _OnDemand:
    run: Callable[[Sequence[Any]], list[Any]]
    # per input: (request parameter name, True: read row[name] / False: serving key name /
    # None: a required request parameter)
    inputs: list[tuple[str, bool | None, str]]
    outputs: list[tuple[int, str]]  # (position in the UDF's outputs, name in the row)
    udf: UDF
    # every input's type, for the column path; None: row by row (a request input without a
    # recorded type, which the row path types by its value, or a python-mode UDF)
    types: pa.Schema | None


_BOOLS = (bool, np.bool_)


def _no_check(value: Any) -> None:
    """What a value without a recorded type is checked against: nothing."""


def _validator(name: str, typ: pa.DataType, what: str = "passed feature") -> Callable[[Any], None]:
    """A check that a passed value fits the feature's type (None always does)."""
    if pa.types.is_floating(typ):
        ok: tuple[type, ...] = (float, int, np.floating, np.integer)
    elif pa.types.is_integer(typ):
        ok = (int, np.integer)
    elif pa.types.is_string(typ) or pa.types.is_large_string(typ):
        ok = (str,)
    elif pa.types.is_boolean(typ):
        ok = (bool, np.bool_)
    elif pa.types.is_timestamp(typ):
        ok = (dt.datetime,)
    elif pa.types.is_date(typ):
        ok = (dt.date,)
    else:
        return _no_check
    no_bool = not pa.types.is_boolean(typ)
    bits = typ.bit_width if pa.types.is_integer(typ) else 0
    signed = pa.types.is_signed_integer(typ)
    low, high = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    # the plain Python types of the common case, checked by identity (a bool is not an int here)
    exact = frozenset(t for t in ok if t in (float, int, str, bool)) | {type(None)}

    def check(value: Any) -> None:
        if type(value) not in exact and (
            not isinstance(value, ok) or (no_bool and isinstance(value, _BOOLS))
        ):
            raise InvalidDataError(
                f"{what} {name!r} must be a {typ} value, got {value!r} ({type(value).__name__})"
            )
        if bits and value is not None and not low <= value <= high:
            raise InvalidDataError(f"{what} {name!r} = {value} is out of the range of {typ}")

    return check


class ServingPlan(BatchColumns):
    """Everything a feature vector needs that does not depend on the request."""

    def __init__(
        self,
        fv: FeatureView,
        pipeline: Pipeline,
        states: list[Any] | None,
        statistics: Mapping[str, Any] | None,
        missing: str,
        lookup_timeout: float | None = None,
    ) -> None:
        if missing not in MISSING_POLICIES:
            raise FtiError(f"missing must be one of {list(MISSING_POLICIES)}, got {missing!r}")
        bad = isinstance(lookup_timeout, bool) or not isinstance(lookup_timeout, int | float)
        if lookup_timeout is not None and (bad or not 0 < lookup_timeout < float("inf")):
            raise FtiError(
                f"lookup_timeout must be a number of seconds > 0, got {lookup_timeout!r}"
            )
        self.missing = missing
        # what requests observed last: None when the last lookup answered, else why it failed
        # (a server's readiness, fti.serving.watcher)
        self.failure: str | None = None
        # set by a server that calls probe(): while failure is set, lookups are not tried
        # (each would hold the event loop for the whole timeout) until a probe succeeds
        self.fail_fast = False
        store = fv._fs._online
        self._store = store if lookup_timeout is None else store.with_timeout(lookup_timeout)
        features = {f["name"]: f for f in fv.features}
        self.base = fv._feature_columns()
        base_schema = pa.schema([(n, parse_type(features[n]["type"])) for n in self.base])
        self.base_schema = base_schema
        self.schema = pipeline.schema(base_schema, states) if states is not None else base_schema
        self.names = self.schema.names
        self._mdt = pipeline.row_runner(base_schema, states) if states is not None else None
        if states is not None:  # for batches (serving_batch)
            reads, self._mdt_writes = pipeline.columns(base_schema, states)
            self._mdt_reads = pa.schema([base_schema.field(c) for c in reads])
            self._mdt_apply = pipeline.applier(self._mdt_reads, states)
        self.untransformed_only = bool(pipeline) and states is None
        self._validators = {n: _validator(n, base_schema.field(n).type) for n in self.base}

        self.serving_keys: list[str] = []
        self.lookups: list[_Lookup] = []
        provided: set[str] = set()
        self._on_demand: list[_OnDemand] = []
        self._extras: list[str] = []  # stored ODT inputs the view does not select
        self.parameter_types: dict[str, pa.DataType] = {}
        self._parameters: dict[str, None] = {}  # every ODT input (a request may override)
        self._required: dict[str, None] = {}  # ODT inputs only a request can give
        base = set(self.base)
        for node in fv.query.nodes():
            group = node.group
            view_names = {col: out for col, out in node.outputs}
            if node.parent is None:
                key_names = list(group.primary_key) if group.online_enabled else []
            else:  # the left column joined to each primary-key column, in key order
                by_right = dict(zip(node.right_on, node.left_on, strict=True))
                key_names = [by_right[k] for k in group.primary_key]
            if group.online_enabled:
                self.serving_keys += [k for k in key_names if k not in self.serving_keys]
                self.lookups.append(self._lookup(node, key_names, view_names, base))
                provided |= {n for n, _, _ in self.lookups[-1].targets}
            provided |= self._add_on_demand(node, view_names, key_names, base)
        self.request_parameters = list(self._parameters)
        self.required_request_parameters = list(self._required)
        self.required_passed = [n for n in self.base if n not in provided]
        self._imputes = self._impute_values(statistics) if missing == "impute" else {}
        self._template = dict.fromkeys([*self.base, *self._extras])
        self._caches: list[dict[bytes, bytes]] = [{} for _ in self.lookups]
        for lookup in self.lookups:
            lookup.prepare()
        self._plain = not (
            self._on_demand
            or self._mdt
            or self._extras
            or any(lk.max_age_us is not None for lk in self.lookups)
            or any(t[2] is not None for lk in self.lookups for t in lk.targets)
        )
        self._empty: list[Any] = [None] * len(self.base)
        if self._plain:
            for lookup in self.lookups:
                lookup.prepare_lists(self.base)
        self._key_set = set(self.serving_keys)
        # every request parameter's check (untyped ones: none)
        self._param_validators = {
            n: _validator(n, self.parameter_types[n], "request parameter")
            if n in self.parameter_types
            else _no_check
            for n in self.request_parameters
        }

    # -- building ---------------------------------------------------------------------------

    def _add_on_demand(
        self, node: Any, view_names: dict[str, str], key_names: list[str], base: set[str]
    ) -> set[str]:
        """Plan the group's ODTs whose outputs the view selects; returns those outputs.

        Each input comes from, in order: a request parameter of that name (always allowed to
        override), the row being built (a view feature), a serving key (the group's key), a
        stored column the view does not select (decoded too), else a required parameter.
        """
        group = node.group
        schema = group.schema
        assert schema is not None
        stored = self.lookups[-1] if group.online_enabled else None
        keys = dict(zip(group.primary_key, key_names, strict=False))
        provided: set[str] = set()
        refs = group._record.transformation_functions
        for udf, ref in zip(group.transformation_functions, refs, strict=True):
            named = [(i, view_names.get(o, "")) for i, o in enumerate(udf.output_names)]
            outputs = [(i, n) for i, n in named if n in base]
            if not outputs:
                continue
            inputs: list[tuple[str, bool | None, str]] = []
            for col in udf.inputs:
                self._parameters[col] = None
                name = view_names.get(col, "")
                if name in base:
                    inputs.append((col, True, name))
                elif col in keys:
                    inputs.append((col, False, keys[col]))
                elif stored is not None and col in schema.names:
                    name = f"{node.alias}.{col}"
                    position = group._codec().value_columns.index(col)
                    stored.targets.append((name, position, from_integer(schema.field(col).type)))
                    self._extras.append(name)
                    inputs.append((col, True, name))
                else:
                    self._required[col] = None
                    inputs.append((col, None, col))
            # typed as at insert (request inputs are not stored; their types are recorded)
            types = {c: parse_type(t) for c, t in ref.get("input_types", {}).items()}
            types.update({c: schema.field(c).type for c in udf.inputs if c in schema.names})
            self.parameter_types.update({c: types[c] for c in udf.inputs if c in types})
            # column-wise needs every input's type; a python-mode UDF runs row by row anyway
            columnar = udf.mode != "python" and all(c in types for c in udf.inputs)
            schema_in = pa.schema([(c, types[c]) for c in udf.inputs]) if columnar else None
            self._on_demand.append(
                _OnDemand(udf.row_runner(types), inputs, outputs, udf, schema_in)
            )
            provided |= {n for _, n in outputs}
        return provided

    def _lookup(
        self, node: Any, key_names: list[str], view_names: dict[str, str], base: set[str]
    ) -> _Lookup:
        group = node.group
        codec = group._codec()
        columns = codec.value_columns
        targets = []
        for col, name in view_names.items():
            if name in base and col in columns:
                typ = group.schema.field(col).type
                targets.append((name, columns.index(col), from_integer(typ)))
        event_position = None
        max_age = None
        if node.max_feature_age is not None and group.event_time is not None:
            event_position = columns.index(group.event_time)
            max_age = node.max_feature_age // dt.timedelta(microseconds=1)
        return _Lookup(
            f"{group.name}:{group.version}",
            group._online_table,
            codec.key_encoder(key_names),
            key_names,
            codec.decode_value,
            targets,
            [t[0] for t in targets],
            max_age,
            event_position,
        )

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

    # -- requests ---------------------------------------------------------------------------

    def _keys(self, keys: Any) -> Mapping[str, Any]:
        if type(keys) is dict and keys.keys() == self._key_set:
            return keys
        if not isinstance(keys, Mapping):
            raise InvalidDataError(
                f"serving_keys must be a dict of {self.serving_keys}, got {keys!r}"
            )
        if len(keys) != len(self.serving_keys) or any(k not in keys for k in self.serving_keys):
            unknown = [k for k in keys if k not in self.serving_keys]
            if unknown:
                raise InvalidDataError(
                    f"unknown serving key(s) {unknown}; the serving keys are {self.serving_keys}"
                )
            absent = [k for k in self.serving_keys if k not in keys]
            raise InvalidDataError(f"missing serving key(s) {absent}")
        return keys

    def _passed(self, given: Any) -> Mapping[str, Any]:
        if not given and not self.required_passed:
            return _EMPTY
        passed: Mapping[str, Any] = given or {}
        if type(passed) is not dict and not isinstance(passed, Mapping):
            raise InvalidDataError(f"passed_features must be a dict, got {passed!r}")
        validators = self._validators
        for name, value in passed.items():
            check = validators.get(name)
            if check is None:
                raise InvalidDataError(
                    f"unknown passed feature {name!r}; the view's features are {self.base}"
                )
            check(value)
        absent = [n for n in self.required_passed if n not in passed]
        if absent:
            raise InvalidDataError(
                f"passed feature(s) {absent} are required: their feature groups are not online"
            )
        return passed

    def _params(self, given: Any) -> Mapping[str, Any]:
        if not given and not self.required_request_parameters:
            return _EMPTY
        params: Mapping[str, Any] = given or {}
        if type(params) is not dict and not isinstance(params, Mapping):
            raise InvalidDataError(f"request_parameters must be a dict, got {params!r}")
        validators = self._param_validators
        for name, value in params.items():
            check = validators.get(name)
            if check is None:
                raise InvalidDataError(
                    f"unknown request parameter {name!r}; the on-demand transformations read "
                    f"{self.request_parameters}"
                )
            check(value)
        absent = [n for n in self.required_request_parameters if n not in params]
        if absent:
            raise InvalidDataError(f"missing request parameter(s) {absent}")
        return params

    def _requests(self, entities: list[Mapping[str, Any]]) -> list[tuple[str, list[bytes]]]:
        """The online keys of every lookup for every entity."""
        requests = []
        for lookup in self.lookups:
            try:
                requests.append((lookup.table, [lookup.encode(e) for e in entities]))
            except InvalidDataError as exc:
                raise InvalidDataError(f"serving key(s) {lookup.key_names}: {exc}") from exc
        return requests

    def vector(
        self, keys: Any, passed: Any, params: Any, transform: bool, details: bool
    ) -> tuple[dict[str, Any], FeatureVector | None]:
        """One entity: the hot path, one key per online table in one round trip."""
        entity = self._keys(keys)
        given = self._passed(passed)
        request = self._params(params)
        requests = self._requests([entity])
        found, reason = self._multi_get(requests)
        values = [v[0] for v in found]
        return self._row(entity, values, given, request, transform, details, None, reason)

    def _fetch(
        self, keys: Sequence[Any], passed: Sequence[Any], params: Sequence[Any]
    ) -> tuple[
        list[Mapping[str, Any]],
        list[Mapping[str, Any]],
        list[Mapping[str, Any]],
        list[Any],
        str | None,
    ]:
        """Checked inputs of many entities and their stored values, in one round trip."""
        entities = [self._keys(k) for k in keys]
        given = [self._passed(p) for p in passed]
        request = [self._params(p) for p in params]
        requests = self._requests(entities)
        found, reason = self._multi_get(requests)
        return entities, given, request, found, reason

    def _multi_get(
        self, requests: list[tuple[str, list[bytes]]]
    ) -> tuple[list[list[bytes | None]], str | None]:
        """The stored values, or when the online store fails (down, timing out) what the
        missing-values policy says: an error, no values (impute / null), or the last values
        served for each key (``last_known``); the second item says why, for the answer."""
        if not requests:
            return [], None
        failed = self.failure
        if failed is not None and self.fail_fast:
            return self._on_failure(requests, f"{failed}; not tried again until it answers")
        try:
            found = self._store.multi_get(requests)
        except Exception as exc:  # any backend failure: the policy decides, never a hang
            reason = f"online store unavailable ({type(exc).__name__}: {exc})"
            self.failure = reason
            return self._on_failure(requests, reason, exc)
        if self.failure is not None:
            self.failure = None
        if self.missing == "last_known":
            for (_, keys), values, cache in zip(requests, found, self._caches, strict=True):
                for key, value in zip(keys, values, strict=True):
                    if value is not None:
                        cache.pop(key, None)
                        cache[key] = value
                        if len(cache) > LAST_KNOWN_KEYS:
                            del cache[next(iter(cache))]
        return found, None

    def _on_failure(
        self,
        requests: list[tuple[str, list[bytes]]],
        reason: str,
        exc: Exception | None = None,
    ) -> tuple[list[list[bytes | None]], str | None]:
        """What the missing-values policy answers when the store failed."""
        if self.missing == "error":
            raise OnlineStoreUnavailable(reason) from exc
        if self.missing == "last_known":
            found = [
                [cache.get(k) for k in keys]
                for (_, keys), cache in zip(requests, self._caches, strict=True)
            ]
            return found, reason + "; served the last known values"
        return [[None] * len(keys) for _, keys in requests], reason

    def probe(self) -> None:
        """One lookup of a key that need not exist, outside any request: clears
        :attr:`failure` once the store answers again (a server that says it is not ready
        gets no requests to find out from)."""
        if not self.lookups or self.failure is None:
            return
        try:
            self._store.multi_get([(self.lookups[0].table, [b"\0"])])
        except Exception as exc:
            self.failure = f"online store unavailable ({type(exc).__name__}: {exc})"
            return
        self.failure = None

    def vectors(
        self,
        keys: Sequence[Any],
        passed: Sequence[Any],
        params: Sequence[Any],
        transform: bool,
        details: bool,
        timings: dict[str, float] | None = None,
    ) -> list[tuple[dict[str, Any], FeatureVector | None]]:
        """Many entities: every lookup of every entity in one round trip. ``timings``, when
        given, receives the milliseconds of ``feature_lookup``, ``on_demand`` and
        ``model_dependent`` (what the serving metrics report per step)."""
        start = time.perf_counter()
        entities, given, request, found, reason = self._fetch(keys, passed, params)
        clock = None if timings is None else [0.0, 0.0]
        if len(entities) < BATCH_ROWS:
            rows = [
                self._row(e, [v[i] for v in found], given[i], request[i], transform, details,
                          clock, reason)
                for i, e in enumerate(entities)
            ]  # fmt: skip
        else:
            cols, infos = self._batch(
                entities, found, given, request, transform, details, clock, reason
            )
            names = list(cols)
            dicts = [dict(zip(names, values)) for values in zip(*cols.values())]  # noqa: B905
            rows = list(zip(dicts, infos, strict=True))
        if timings is not None and clock is not None:
            total = (time.perf_counter() - start) * 1000
            timings["on_demand"] = clock[0] * 1000
            timings["model_dependent"] = clock[1] * 1000
            timings["feature_lookup"] = total - timings["on_demand"] - timings["model_dependent"]
        return rows

    def lists(
        self, keys: Sequence[Any], passed: Sequence[Any], params: Sequence[Any], transform: bool
    ) -> list[list[Any]]:
        """Many vectors as lists in the view's order. A view without ODTs, MDTs or feature
        ages whose keys were all found, with nothing passed, skips the per-entity dicts: the
        same values with far fewer objects (and garbage collections) per call."""
        entities, given, request, found, _ = self._fetch(keys, passed, params)
        if self._plain and not any(given) and all(None not in v for v in found):
            rows = [self._empty.copy() for _ in entities]
            for lookup, values in zip(self.lookups, found):  # noqa: B905 - equal by construction
                lookup.fill_lists(rows, values)
            return rows
        names = self.names if transform else self.base
        if len(entities) < BATCH_ROWS:
            return [
                [row[n] for n in names]
                for row, _ in (
                    self._row(e, [v[i] for v in found], given[i], request[i], transform, False)
                    for i, e in enumerate(entities)
                )
            ]
        cols, _ = self._batch(entities, found, given, request, transform, False)
        return [list(values) for values in zip(*[cols[n] for n in names])]  # noqa: B905

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
        """One entity's row from its stored values (one per lookup), in the documented steps;
        ``clock`` accumulates the seconds spent in ODTs and in MDTs."""
        row = self._template.copy()
        imputed: list[str] = []
        absent: list[str] = []
        for lookup, value in zip(self.lookups, values):  # noqa: B905 - equal by construction
            if value is None:
                self._on_missing(lookup, entity, row, given, imputed, absent)
                continue
            decoded = lookup.decode(value)
            if lookup.max_age_us is not None and self._too_old(lookup, decoded):
                continue  # null features, as the offline join gives
            lookup.fill(decoded, row)
        if given:
            row.update(given)
        if clock is not None:
            ticked = time.perf_counter()
        for odt in self._on_demand:
            self._on_demand_row(odt, row, entity, request)
        for name in self._extras:
            del row[name]
        info = FeatureVector(None, dict(row), imputed, absent, reason) if details else None
        if clock is not None:
            now = time.perf_counter()
            clock[0] += now - ticked
            ticked = now
        if transform and self._mdt is not None:
            self._mdt(row)
        if clock is not None:
            clock[1] += time.perf_counter() - ticked
        return row, info

    @staticmethod
    def _too_old(lookup: _Lookup, decoded: list[Any]) -> bool:
        stored = decoded[lookup.event_position]  # type: ignore[index]
        return stored is None or micros(dt.datetime.now(dt.UTC)) - stored > lookup.max_age_us

    @staticmethod
    def _on_demand_row(
        odt: _OnDemand, row: dict[str, Any], entity: Mapping[str, Any], request: Mapping[str, Any]
    ) -> None:
        args = [
            request[col] if col in request else row[name] if in_row else entity[name]
            for col, in_row, name in odt.inputs
        ]
        results = odt.run(args)
        for position, name in odt.outputs:
            row[name] = results[position]

    def _on_missing(
        self,
        lookup: _Lookup,
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

    def transform(self, rows: Sequence[Mapping[str, Any]]) -> list[list[Any]]:
        """Untransformed rows (``FeatureVector.untransformed``) through this plan's
        model-dependent transformations, as lists in the transformed order."""
        out = []
        for given in rows:
            row = dict(given)
            if self._mdt is not None:
                self._mdt(row)
            out.append([row[n] for n in self.names])
        return out

    # -- output -----------------------------------------------------------------------------

    def one(self, row: dict[str, Any], return_type: str, transform: bool) -> Any:
        """One row in the view's order as ``return_type``."""
        names = self.names if transform else self.base
        if return_type == "list":
            return [row[n] for n in names]
        if return_type == "dict":
            return {n: row[n] for n in names}
        if return_type == "numpy":
            return np.array([row[n] for n in names])
        return self.many([row], return_type, transform)  # a one-row DataFrame

    def many(self, rows: list[dict[str, Any]], return_type: str, transform: bool) -> Any:
        """Rows as a list of lists or dicts, a 2-D array or one DataFrame."""
        schema = self.schema if transform else self.base_schema
        names = schema.names
        if return_type == "list":
            return [[row[n] for n in names] for row in rows]
        if return_type == "dict":
            return [{n: row[n] for n in names} for row in rows]
        if return_type == "numpy":
            return np.array([[row[n] for n in names] for row in rows])
        if return_type in ("pandas", "polars"):
            table = pa.Table.from_pylist([{n: row[n] for n in names} for row in rows], schema)
            return _frames.to_frame(table, return_type)
        raise FtiError(f"return_type must be one of {list(RETURN_TYPES)}, got {return_type!r}")
