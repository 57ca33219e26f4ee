"""The steps of a feature vector, each defined once for both drivers of :mod:`.vector`.

A view's lookups (one per online group) and on-demand transformations are worked out here
from its query, once: which serving keys encode each group's online key, where each feature
sits in the stored row, and where each ODT input comes from. Each step then has a ``row``
form (one entity, a dict) and a ``columns`` form (many entities, a list per feature) that
share everything but the loop.
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from fti.online.codec import from_integer, micros
from fti.transform.udf import Runner
from fti.types import parse_type

if TYPE_CHECKING:
    from fti.featurestore.feature_view import FeatureView

Columns = dict[str, list[Any]]
Target = tuple[str, int, Callable[[Any], Any] | None]  # (name in the row, position, conversion)


class LookupStep:
    """One online-enabled group of the view: its key, and its stored values into the row."""

    def __init__(
        self,
        group: str,
        table: str,
        encode: Callable[[Mapping[str, Any]], bytes],
        key_names: list[str],
        decode: Callable[[bytes], list[Any]],
        targets: list[Target],
        features: list[str],
        max_age_us: int | None,
        event_position: int | None,
    ) -> None:
        self.group = group  # "name:version"
        self.table = table
        self.encode = encode  # the online key from the serving keys
        self.key_names = tuple(key_names)  # serving keys, in the group's primary-key order
        self.decode = decode
        self.targets = tuple(targets)
        self.features = tuple(features)  # the view features it provides (missing policy)
        self.max_age_us = max_age_us
        self.event_position = event_position
        names = [t[0] for t in targets]
        positions = [t[1] for t in targets]
        # C-level itemgetter and zip where no value needs converting: the common case
        plain = len(positions) > 1 and all(t[2] is None for t in targets)
        self._names = names
        self._get = operator.itemgetter(*positions) if plain else None
        self.fill_row = self._plain_filler() if plain else self._fill_converted
        # its values in target order from the decoded row, when none needs converting
        self.values: Callable[[list[Any]], Sequence[Any]] | None = self._get
        if len(targets) == 1 and targets[0][2] is None:
            self.values = operator.itemgetter(slice(positions[0], positions[0] + 1))

    def _plain_filler(self) -> Callable[[list[Any], dict[str, Any]], None]:
        names, get = self._names, self._get
        assert get is not None

        def fill(decoded: list[Any], row: dict[str, Any]) -> None:
            row.update(zip(names, get(decoded)))  # noqa: B905 - one value per name

        return fill

    def _fill_converted(self, decoded: list[Any], row: dict[str, Any]) -> None:
        for name, position, convert in self.targets:
            v = decoded[position]
            row[name] = v if convert is None or v is None else convert(v)

    def fill_columns(self, values: list[bytes], cols: dict[str, Any]) -> None:
        """Every entity's stored values into the columns (all were found, none too old)."""
        if self._get is not None:
            rows = map(self._get, map(self.decode, values))
            for name, values_of in zip(self._names, zip(*rows)):  # noqa: B905 - one per name
                cols[name] = list(values_of)
            return
        decoded = [self.decode(v) for v in values]
        for name, position, convert in self.targets:
            column = [d[position] for d in decoded]
            cols[name] = (
                column if convert is None else [None if v is None else convert(v) for v in column]
            )

    def too_old(self, decoded: list[Any]) -> bool:
        stored = decoded[self.event_position]  # type: ignore[index]
        return stored is None or micros(dt.datetime.now(dt.UTC)) - stored > self.max_age_us


class OnDemandStep:
    """One on-demand transformation whose outputs the view selects."""

    def __init__(
        self, runner: Runner, inputs: list[tuple[str, bool | None, str]], outputs: list[Any]
    ) -> None:
        self.runner = runner
        # per input: (request parameter name, True: row[name] / False: the serving key name /
        # None: a required request parameter); a request parameter always takes precedence
        self.inputs = tuple(inputs)
        self.outputs = tuple(outputs)  # (position among the UDF's outputs, name in the row)

    def row(
        self, row: dict[str, Any], entity: Mapping[str, Any], request: Mapping[str, Any]
    ) -> None:
        args = [
            request[col] if col in request else row[name] if in_row else entity[name]
            for col, in_row, name in self.inputs
        ]
        results = self.runner.row(args)
        for position, name in self.outputs:
            row[name] = results[position]

    def columns(
        self, cols: Columns, entities: Sequence[Mapping[str, Any]], request: Sequence[Any]
    ) -> None:
        values = []
        for col, in_row, name in self.inputs:
            if in_row is None:  # a required request parameter: every request has it
                values.append([r[col] for r in request])
                continue
            source = cols[name] if in_row else [e[name] for e in entities]
            values.append([r.get(col, v) for r, v in zip(request, source, strict=True)])
        results = self.runner.columns(values)
        for position, name in self.outputs:
            cols[name] = results[position]


@dataclass
class ViewSteps:
    """What a view's vectors look up and compute, worked out from its query."""

    serving_keys: list[str] = field(default_factory=list)
    lookups: list[LookupStep] = field(default_factory=list)
    on_demand: list[OnDemandStep] = field(default_factory=list)
    extras: list[str] = field(default_factory=list)  # stored ODT inputs the view does not select
    parameter_types: dict[str, pa.DataType] = field(default_factory=dict)
    request_parameters: list[str] = field(default_factory=list)  # every ODT input
    required_request_parameters: list[str] = field(default_factory=list)
    required_passed: list[str] = field(default_factory=list)  # features of offline-only groups
    from_keys: list[str] = field(default_factory=list)  # selected key columns: the request's


def view_steps(fv: FeatureView, base: list[str], must_pass: Collection[str]) -> ViewSteps:
    """The steps of ``fv``'s vectors of columns ``base``, of which those in ``must_pass`` must be
    passed when their group is not online (others, keys and event time, are then null).
    Serving keys are the root group's
    primary key when the root is online, plus every join key (the left side's column names),
    so every lookup happens in one round trip."""
    steps = ViewSteps()
    wanted = set(base)
    provided: set[str] = set()
    parameters: dict[str, None] = {}
    required: dict[str, None] = {}
    for node in fv.query.nodes():
        group = node.group
        view_names = {col: out for col, out in node.outputs}
        if node.parent is None:
            key_names = list(group.primary_key) if group.online_enabled else []
        else:  # the left column joined to each primary-key column, in key order
            by_right = dict(zip(node.right_on, node.left_on, strict=True))
            key_names = [by_right[k] for k in group.primary_key]
        targets = _targets(node, view_names, wanted) if group.online_enabled else None
        if targets is not None:
            steps.serving_keys += [k for k in key_names if k not in steps.serving_keys]
            provided |= {name for name, _, _ in targets}
        features = [name for name, _, _ in targets or []]
        for udf, ref in zip(
            group.transformation_functions, group._record.transformation_functions, strict=True
        ):
            outputs = [(i, view_names.get(o, "")) for i, o in enumerate(udf.output_names)]
            outputs = [(i, n) for i, n in outputs if n in wanted]
            if not outputs:
                continue
            inputs: list[tuple[str, bool | None, str]] = []
            keys = dict(zip(group.primary_key, key_names, strict=False))
            schema = group.schema
            assert schema is not None  # a group with transformations has a schema
            for col in udf.inputs:
                parameters[col] = None
                name = view_names.get(col, "")
                if name in wanted:
                    inputs.append((col, True, name))
                elif col in keys:
                    inputs.append((col, False, keys[col]))
                elif targets is not None and col in schema.names:  # decoded too, then dropped
                    name = f"{node.alias}.{col}"
                    position = group._codec().value_columns.index(col)
                    targets.append((name, position, from_integer(schema.field(col).type)))
                    steps.extras.append(name)
                    inputs.append((col, True, name))
                else:
                    required[col] = None
                    inputs.append((col, None, col))
            # typed as at insert (request inputs are not stored; their types are recorded)
            types = {c: parse_type(t) for c, t in ref.get("input_types", {}).items()}
            types.update({c: schema.field(c).type for c in udf.inputs if c in schema.names})
            steps.parameter_types.update({c: types[c] for c in udf.inputs if c in types})
            steps.on_demand.append(OnDemandStep(Runner(udf, types), inputs, outputs))
            provided |= {n for _, n in outputs}
        if targets is not None:
            steps.lookups.append(_lookup(node, key_names, targets, features))
    steps.request_parameters = list(parameters)
    steps.required_request_parameters = list(required)
    # a selected key column holds the key the request looked up with, not a stored copy
    steps.from_keys = [n for n in base if n in steps.serving_keys]
    steps.required_passed = [n for n in base if n not in provided and n in must_pass]
    return steps


def _targets(node: Any, view_names: dict[str, str], wanted: set[str]) -> list[Target]:
    group = node.group
    columns = group._codec().value_columns
    return [
        (name, columns.index(col), from_integer(group.schema.field(col).type))
        for col, name in view_names.items()
        if name in wanted and col in columns
    ]


def _lookup(
    node: Any, key_names: list[str], targets: list[Target], features: list[str]
) -> LookupStep:
    group = node.group
    codec = group._codec()
    event_position = None
    max_age = None
    if node.max_feature_age is not None and group.event_time is not None:
        event_position = codec.value_columns.index(group.event_time)
        max_age = node.max_feature_age // dt.timedelta(microseconds=1)
    return LookupStep(
        f"{group.name}:{group.version}",
        group._online_table,
        codec.key_encoder(key_names),
        key_names,
        codec.decode_value,
        targets,
        features,
        max_age,
        event_position,
    )
