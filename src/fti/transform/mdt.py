"""Model-dependent transformations (MDTs): fitted on a training split, applied everywhere.

An MDT belongs to a feature view. Its state (a scaler's mean and deviation, an encoder's
categories) is fitted on the **train split** of a training-dataset version and stored with that
version; training data, batch data and online feature vectors then apply that stored state, so
a model sees the same transformation wherever its inputs come from.

The transformations of a view form a pipeline, fitted and applied in order: each step is
fitted on the train split as transformed by the steps before it (as a scikit-learn
``Pipeline`` fits), so ``[mean_imputer("amount"), standard_scaler("amount")]`` scales imputed
values. Built-ins (:mod:`fti.transform.builtins`) replace their column in place (a one-hot
encoder with one column per category); a UDF appends its outputs and removes its ``drop``
inputs. The same walk over the steps gives the column order of every path: a pipeline is
prepared once per input schema and state (:class:`Compiled`) and then driven over an Arrow
table, over lists of Python values (online batches) or over one row (an online vector).

A UDF with a ``statistics`` parameter receives the training statistics of its inputs:
``statistics.amount.mean`` (by parameter name), ``.std`` (sample), ``.min``, ``.max``, ``.median``,
``.quantiles[0.25]``, ``.count``, ``.null_count``, ``.distinct_count``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from fti.errors import TransformationError
from fti.statistics import UNIQUE_VALUES_LIMIT
from fti.transform.udf import ARROW_REFUSED, UDF

RowFunction = Callable[[Sequence[Any]], list[Any]]


class ModelTransform(ABC):
    """One model-dependent transformation bound to its input column(s)."""

    name: str
    inputs: tuple[str, ...]
    in_place: bool  # outputs take the place of the (single) input column
    fitted: bool = True  # learns its state from each training dataset's train split

    @property
    def drop(self) -> tuple[str, ...]:
        """Input columns removed once the outputs exist."""
        return ()

    @abstractmethod
    def fit(self, train: pa.Table) -> dict[str, Any]:
        """The JSON state learnt from the train split's input columns."""

    @abstractmethod
    def outputs(self, state: Mapping[str, Any], types: Sequence[pa.DataType]) -> list[pa.Field]:
        """The output columns, given the state and the input types."""

    @abstractmethod
    def apply(self, table: pa.Table, state: Mapping[str, Any]) -> list[pa.Array]:
        """The output columns for every row of ``table`` (which holds the inputs)."""

    @abstractmethod
    def row_function(self, state: Mapping[str, Any], types: Sequence[pa.DataType]) -> RowFunction:
        """The same, for one row's input values: what online feature vectors run."""

    @abstractmethod
    def reference(self) -> dict[str, Any]:
        """What the feature view records to rebuild this transformation."""

    def __repr__(self) -> str:
        return f"{self.name}({', '.join(map(repr, self.inputs))})"


# -- UDFs as MDTs --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ColumnStatistics:
    """Training statistics of one input column, as a UDF's ``statistics.<column>`` sees them
    (the train split's; Hopsworks' names too: ``std_dev``, ``num_null_values``, ...)."""

    count: int
    null_count: int
    distinct_count: int | None = None
    min: Any = None
    max: Any = None
    mean: float | None = None
    std: float | None = None
    quantiles: dict[float, float | None] = field(default_factory=dict)
    percentiles: list[Any] | None = None  # percentiles[i]: the (i + 1)% quantile
    distinctness: float | None = None  # with statistics_config exact_uniqueness
    uniqueness: float | None = None
    entropy: float | None = None
    kind: str = "numeric"
    name: str = ""
    stored_unique_values: list[Any] | None = None

    @property
    def median(self) -> float | None:
        return self.quantiles.get(0.5)

    @property
    def unique_values(self) -> list[Any]:
        """The distinct values of a categorical column, sorted (what a label encoder maps)."""
        if self.stored_unique_values is not None:
            return list(self.stored_unique_values)
        if self.kind != "categorical":
            raise TransformationError(
                f"training statistics keep unique values of categorical columns (strings, "
                f"booleans) only; {self.name!r} is {self.kind}"
            )
        raise TransformationError(
            f"the training statistics of {self.name!r} keep no unique values: it has "
            f"{self.distinct_count} distinct ones, more than {UNIQUE_VALUES_LIMIT:,} (or the "
            "training dataset was created before fti recorded them: create a new version)"
        )

    # Hopsworks' names (FeatureTransformationStatistics)
    std_dev = property(lambda self: self.std)
    num_null_values = property(lambda self: self.null_count)
    num_non_null_values = property(lambda self: self.count)
    exact_num_distinct_values = property(lambda self: self.distinct_count)
    approx_num_distinct_values = property(lambda self: self.distinct_count)

    @property
    def completeness(self) -> float | None:
        total = self.count + self.null_count
        return None if total == 0 else self.count / total

    @property
    def sum(self) -> float | None:
        return None if self.mean is None else self.mean * self.count


class Statistics:
    """``statistics.<column>`` (or ``statistics["column"]``) for a UDF's input columns."""

    def __init__(self, columns: Mapping[str, Mapping[str, Any]]) -> None:
        self._columns = {
            name: ColumnStatistics(
                count=stats.get("count", 0),
                null_count=stats.get("null_count", 0),
                distinct_count=stats.get("distinct_count"),
                min=stats.get("min"),
                max=stats.get("max"),
                mean=stats.get("mean"),
                std=stats.get("std"),
                quantiles={float(q): v for q, v in (stats.get("quantiles") or {}).items()},
                percentiles=stats.get("percentiles"),
                distinctness=stats.get("distinctness"),
                uniqueness=stats.get("uniqueness"),
                entropy=stats.get("entropy"),
                kind=stats.get("kind", "numeric"),
                name=name,
                stored_unique_values=stats.get("unique_values"),
            )
            for name, stats in columns.items()
        }

    def __getitem__(self, name: str) -> ColumnStatistics:
        try:
            return self._columns[name]
        except KeyError:
            raise KeyError(
                f"no training statistics for {name!r}; have {list(self._columns)}"
            ) from None

    def __getattr__(self, name: str) -> ColumnStatistics:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self[name]
        except KeyError as exc:
            raise AttributeError(str(exc)) from None


class UdfTransform(ModelTransform):
    """An ``@fti.udf`` used as a model-dependent transformation."""

    in_place = False

    def __init__(self, udf: UDF) -> None:
        self.udf = udf
        self.name = udf.name
        self.inputs = udf.inputs
        self.fitted = udf.wants_statistics

    @property
    def drop(self) -> tuple[str, ...]:
        return self.udf.drop

    def fit(self, train: pa.Table) -> dict[str, Any]:
        if not self.udf.wants_statistics:
            return {}
        from fti.statistics import describe

        # Keyed by parameter name: the function body reads statistics.<parameter> whichever
        # columns it is bound to; with what transformations read (percentiles, unique values).
        inputs = list(dict.fromkeys(self.inputs))
        columns = describe(train.select(inputs), histograms=False, transformations=True)["columns"]
        return {
            "statistics": {p: columns[c] for p, c in zip(self.udf.params, self.inputs, strict=True)}
        }

    def _statistics(self, state: Mapping[str, Any]) -> Statistics | None:
        return Statistics(state["statistics"]) if self.udf.wants_statistics else None

    def outputs(self, state: Mapping[str, Any], types: Sequence[pa.DataType]) -> list[pa.Field]:
        return [pa.field(n, t) for n, t in self.udf.outputs]

    def apply(self, table: pa.Table, state: Mapping[str, Any]) -> list[pa.Array]:
        return self.udf.run_table(table, self._statistics(state))

    def row_function(self, state: Mapping[str, Any], types: Sequence[pa.DataType]) -> RowFunction:
        typed = dict(zip(self.inputs, types, strict=True))
        return self.udf.row_runner(typed, self._statistics(state))

    def reference(self) -> dict[str, Any]:
        return self.udf.reference()


# -- the pipeline ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Step:
    transform: ModelTransform
    state: Mapping[str, Any]
    input_types: list[pa.DataType]
    outputs: list[pa.Field]
    removed: list[str]  # columns gone after the step (inputs not among its outputs)


class Pipeline:
    """The ordered MDTs of a feature view."""

    def __init__(self, transforms: Sequence[ModelTransform]) -> None:
        self.transforms = list(transforms)

    def __bool__(self) -> bool:
        return bool(self.transforms)

    def fit(self, train: pa.Table) -> list[dict[str, Any]]:
        """Fit every step on the train split as transformed by the steps before it."""
        states: list[dict[str, Any]] = []
        for t in self.transforms:
            self._check_inputs(t, train.schema)
            try:
                state = t.fit(train.select(list(t.inputs)))
            except TransformationError:
                raise
            except Exception as exc:
                raise TransformationError(
                    f"cannot fit {t!r} on the train split: {type(exc).__name__}: {exc}"
                ) from exc
            states.append(state)
            step = self._steps(train.schema, [t], [state])[0]
            train = self._apply_step(train, step)
        return states

    def compile(self, schema: pa.Schema, states: Sequence[Mapping[str, Any]]) -> Compiled:
        """The steps prepared once for input ``schema`` and ``states``, for every driver."""
        return Compiled(self._steps(schema, self.transforms, states), schema)

    def schema(self, schema: pa.Schema, states: Sequence[Mapping[str, Any]]) -> pa.Schema:
        """The columns after every step, in order, from the untransformed ``schema``."""
        return self.compile(schema, states).schema

    def columns(
        self, schema: pa.Schema, states: Sequence[Mapping[str, Any]]
    ) -> tuple[list[str], list[str]]:
        """The columns of ``schema`` the steps read, and the columns they write."""
        compiled = self.compile(schema, states)
        return list(compiled.reads.names), compiled.writes

    def apply(self, table: pa.Table, states: Sequence[Mapping[str, Any]]) -> pa.Table:
        """Every step applied to ``table`` (columns other than the inputs pass through)."""
        return self.compile(table.schema, states).table(table)

    def applier(
        self, schema: pa.Schema, states: Sequence[Mapping[str, Any]]
    ) -> Callable[[pa.Table], pa.Table]:
        """:meth:`apply` prepared once for tables of ``schema``."""
        return self.compile(schema, states).table

    def row_runner(
        self, schema: pa.Schema, states: Sequence[Mapping[str, Any]]
    ) -> Callable[[dict[str, Any]], None]:
        """A function that transforms one row (a dict by column name) in place, prepared once
        per schema so that a call costs little beyond the transformations themselves."""
        return self.compile(schema, states).row

    # -- internals --------------------------------------------------------------------------

    @staticmethod
    def _check_inputs(t: ModelTransform, schema: pa.Schema) -> None:
        missing = [c for c in t.inputs if c not in schema.names]
        if missing:
            raise TransformationError(f"{t!r} reads column(s) {missing}, not in {schema.names}")

    def _steps(
        self,
        schema: pa.Schema,
        transforms: Sequence[ModelTransform],
        states: Sequence[Mapping[str, Any]],
    ) -> list[_Step]:
        if len(states) != len(transforms):
            raise TransformationError(
                f"the stored state has {len(states)} step(s) for {len(transforms)} "
                "transformation(s): it belongs to another definition"
            )
        steps = []
        fields = list(schema)
        for t, state in zip(transforms, states, strict=True):
            self._check_inputs(t, pa.schema(fields))
            types = [pa.schema(fields).field(c).type for c in t.inputs]
            outputs = t.outputs(state, types)
            names = {f.name for f in outputs}
            removed = [c for c in (t.inputs if t.in_place else t.drop) if c not in names]
            existing = {f.name for f in fields}
            # A UDF may replace a column; a built-in's new columns must not collide.
            clash = [n for n in names if n in existing and n not in t.inputs] if t.in_place else []
            if clash:
                raise TransformationError(f"{t!r} outputs {clash}, which are columns already")
            step = _Step(t, state, types, outputs, removed)
            fields = _place(fields, step)
            steps.append(step)
        return steps

    @staticmethod
    def _apply_step(table: pa.Table, step: _Step) -> pa.Table:
        t = step.transform
        try:
            arrays = t.apply(table.select(list(t.inputs)), step.state)
        except TransformationError:
            raise
        except Exception as exc:
            raise TransformationError(f"{t!r} failed: {type(exc).__name__}: {exc}") from exc
        if t.in_place:
            at = table.column_names.index(t.inputs[0])
            table = table.remove_column(at)
            for offset, (f, array) in enumerate(zip(step.outputs, arrays, strict=True)):
                table = table.add_column(at + offset, f, array)
            return table
        for f, array in zip(step.outputs, arrays, strict=True):
            if f.name in table.column_names:
                table = table.set_column(table.column_names.index(f.name), f, array)
            else:
                table = table.append_column(f, array)
        return table.drop_columns(step.removed) if step.removed else table


def _place(fields: list[pa.Field], step: _Step) -> list[pa.Field]:
    """The columns after one step: in place of the input, or appended (replacing a column of
    the same name where it stands), then the removed inputs dropped."""
    t = step.transform
    if t.in_place:
        at = [f.name for f in fields].index(t.inputs[0])
        return fields[:at] + step.outputs + fields[at + 1 :]
    out = list(fields)
    for f in step.outputs:
        names = [g.name for g in out]
        if f.name in names:
            out[names.index(f.name)] = f
        else:
            out.append(f)
    return [f for f in out if f.name not in step.removed]


class Compiled:
    """A pipeline's steps, prepared once for one input schema and state, and its three
    drivers: :meth:`table` (training, batch data: each step's ``apply`` on Arrow columns),
    :meth:`columns` (online batches: lists of Python values, through Arrow once for every row)
    and :attr:`row` (one online vector: a dict, each step's ``row_function`` on scalars, which
    costs microseconds where a trip through Arrow costs tens). Every step is defined once, by
    its transformation; the drivers only walk the steps."""

    def __init__(self, steps: list[_Step], schema: pa.Schema) -> None:
        self.steps = steps
        fields = list(schema)
        reads: list[str] = []
        writes: list[str] = []
        for step in steps:
            fields = _place(fields, step)
            reads += [c for c in step.transform.inputs if c not in writes and c not in reads]
            writes += [f.name for f in step.outputs if f.name not in writes]
        self.schema = pa.schema(fields)  # the columns after every step, in order
        self.reads = pa.schema([schema.field(c) for c in reads])  # input columns steps read
        self.writes = writes  # columns the steps write
        self.row = self._row_driver()

    def table(self, table: pa.Table) -> pa.Table:
        """Every step applied to ``table`` (columns other than the inputs pass through)."""
        for step in self.steps:
            table = Pipeline._apply_step(table, step)
        return table

    def columns(self, cols: dict[str, list[Any]], n: int) -> None:
        """``n`` rows held as one list per column name, transformed in place: only the columns
        the steps read go to Arrow, only those they write come back."""
        try:
            arrays = [pa.array(cols[f.name], f.type) for f in self.reads]
        except ARROW_REFUSED:
            names = list(cols)
            for i in range(n):
                row = {name: cols[name][i] for name in names}
                self.row(row)
                for name, value in row.items():
                    cols.setdefault(name, [None] * n)[i] = value
            return
        out = self.table(pa.Table.from_arrays(arrays, schema=self.reads))
        for name in self.writes:
            if name in out.column_names:  # else a later step replaced it
                cols[name] = out.column(name).to_pylist()

    def _row_driver(self) -> Callable[[dict[str, Any]], None]:
        plan = [
            (
                step.transform.inputs,
                step.transform.row_function(step.state, step.input_types),
                [f.name for f in step.outputs],
                step.removed,
            )
            for step in self.steps
        ]

        def run(row: dict[str, Any]) -> None:
            for inputs, fn, outputs, removed in plan:
                try:
                    values = fn([row[c] for c in inputs])
                except TransformationError:
                    raise
                except Exception as exc:
                    given = {c: row.get(c) for c in inputs}
                    raise TransformationError(
                        f"model-dependent transformation failed on {given}: "
                        f"{type(exc).__name__}: {exc}"
                    ) from exc
                for name, value in zip(outputs, values, strict=True):
                    row[name] = value
                for name in removed:
                    del row[name]

        return run
