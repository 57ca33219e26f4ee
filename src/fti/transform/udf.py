"""``@fti.udf``: one transformation function for both the online and the offline path.

A UDF is plain Python whose parameter names are the columns it reads. It runs

* **row-wise** on Python scalars (online feature vectors: microseconds, no pandas), and
* **column-wise** on pandas Series (inserts, training and batch data: vectorized),

so one definition serves both and cannot drift (no online/offline skew). ``mode="python"``
forces row-wise everywhere, ``mode="pandas"`` forces Series everywhere (online it gets
one-element Series).

Values are the same on both paths: row-wise, a numeric null reaches a ``default``-mode function
as ``nan`` (as pandas shows it column-wise), outputs are converted to the declared type the
way Arrow converts a column, and a ``nan`` result is null.

The function's source and its sha256 are what the catalog records; another process rebuilds
the function from that source, so a feature group or view always runs the exact code it was
created with. Import what the function needs inside its body (``math``, ``np`` for NumPy,
``pd`` for pandas and ``dt`` for ``datetime`` are provided).
"""

from __future__ import annotations

import datetime
import inspect
import math
import textwrap
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from fti import _catalog_code
from fti.errors import FtiError, SchemaError, TransformationError
from fti.trust import TrustedCode
from fti.types import parse_type

MODES = ("default", "python", "pandas")
STATISTICS = "statistics"  # the parameter through which a UDF asks for training statistics
_PROVIDED = {"math": math, "np": np, "pd": pd, "dt": datetime, "datetime": datetime}


@dataclass(frozen=True)
class UDF:
    """A transformation function with typed outputs, bound to input columns."""

    fn: Callable[..., Any] = field(repr=False)
    name: str
    returns: tuple[str, ...]  # the keys a multi-output function returns (else its name)
    outputs: tuple[tuple[str, pa.DataType], ...]  # output columns, after any ``alias``
    params: tuple[str, ...]  # column parameters, in order (``statistics`` excluded)
    inputs: tuple[str, ...]  # the columns bound to ``params``
    drop: tuple[str, ...]
    mode: str
    wants_statistics: bool
    source: str = field(repr=False)
    hash: str

    # -- binding ----------------------------------------------------------------------------

    def __call__(self, *columns: str) -> UDF:
        """Bind the parameters to other columns: ``amount_ratio("amt", "avg_30d")``."""
        if len(columns) != len(self.params) or not all(isinstance(c, str) for c in columns):
            raise FtiError(
                f"{self.name} reads {len(self.params)} column(s) {list(self.params)}; bind it "
                f"with as many column names, got {columns!r}"
            )
        rename = dict(zip(self.params, columns, strict=True))
        drop = tuple(rename.get(d, d) for d in self.drop)
        return replace(self, inputs=tuple(columns), drop=drop)

    def alias(self, *names: str) -> UDF:
        """Rename the outputs (in declaration order)."""
        if len(names) != len(self.outputs):
            raise FtiError(f"{self.name} has {len(self.outputs)} output(s), got {len(names)} names")
        outputs = tuple((n, t) for n, (_, t) in zip(names, self.outputs, strict=True))
        return replace(self, outputs=outputs)

    @property
    def output_names(self) -> list[str]:
        return [n for n, _ in self.outputs]

    def check_inputs(self, available: Sequence[str], where: str) -> None:
        """A missing input column is a definition-time error, not a request-time one."""
        missing = [c for c in self.inputs if c not in available]
        if missing:
            raise SchemaError(
                f"transformation {self.name} reads column(s) {missing}, not in {where}: "
                f"{list(available)}"
            )

    # -- running ----------------------------------------------------------------------------

    def row_runner(
        self, types: Mapping[str, pa.DataType], statistics: Any = None
    ) -> Callable[[Sequence[Any]], list[Any]]:
        """A function from one row's input values (``inputs`` order) to its output values,
        prepared once for the input ``types`` so a call does little beyond the user's code.
        An input without a type (request data) is typed by its value."""
        input_types = [types.get(c) for c in self.inputs]
        convert = [_python_converter(t) for _, t in self.outputs]
        split = self._split
        fn, extra = self.fn, ([statistics] if self.wants_statistics else [])
        objects: list[int] = []  # inputs whose null runs the row as a column (default mode)
        if self.mode == "pandas":

            def prepare(values: Sequence[Any]) -> list[Any]:
                return [
                    _series(pa.chunked_array([pa.array([v], t)]))
                    for v, t in zip(values, input_types, strict=True)
                ]

            finish: Callable[[Any], Any] = _first
        elif self.mode == "default":
            scalars = [_numpy_scalar(t) for t in input_types]

            def prepare(values: Sequence[Any]) -> list[Any]:
                return [v if c is None else c(v) for v, c in zip(values, scalars, strict=True)]

            finish = _identity
            # A null string, timestamp or other object input: a column holds it as None /
            # NaT, which pandas operations pass over (the result there is null), where a
            # scalar would raise or differ. Such a row runs as a one-row column, so the row
            # path still returns what the column path stores.
            objects += [
                i
                for i, (t, c) in enumerate(zip(input_types, scalars, strict=True))
                if c is None and t is not None
            ]
        else:
            prepare, finish = _as_list, _identity

        def as_column(values: Sequence[Any]) -> list[Any]:
            table = pa.table(
                [pa.array([v], t) for v, t in zip(values, input_types, strict=True)],
                names=list(self.inputs),
            )
            return [array[0].as_py() for array in self.run_table(table, statistics)]

        def run(values: Sequence[Any]) -> list[Any]:
            if objects and any(values[i] is None for i in objects):
                return as_column(values)
            try:
                with np.errstate(all="ignore"):  # 0/0 is nan, as pandas computes it
                    result = finish(fn(*prepare(values), *extra))
            except Exception as exc:
                raise self._failure(exc, dict(zip(self.inputs, values, strict=True))) from exc
            return [c(v) for c, v in zip(convert, split(result), strict=True)]

        return run

    def run_table(self, table: pa.Table, statistics: Any = None) -> list[pa.Array]:
        """The outputs for every row of ``table`` (which holds the input columns)."""
        if self.mode == "python":
            run = self.row_runner({c: table.schema.field(c).type for c in self.inputs}, statistics)
            columns = [table.column(c).to_pylist() for c in self.inputs]
            rows = [run(row) for row in zip(*columns, strict=True)]
            return [
                self._arrow([r[i] for r in rows], typ) for i, (_, typ) in enumerate(self.outputs)
            ]
        args: list[Any] = [_series(table.column(c)) for c in self.inputs]
        if self.wants_statistics:
            args.append(statistics)
        try:
            with np.errstate(all="ignore"):  # as on the row path: nan/inf, not warnings
                result = self.fn(*args)
        except Exception as exc:
            raise self._failure(exc, f"columns {list(self.inputs)}") from exc
        arrays = []
        for value, (_, typ) in zip(self._split(result), self.outputs, strict=True):
            if value is None or np.isscalar(value):
                value = [value] * table.num_rows
            arrays.append(self._arrow(value, typ))
        if any(len(a) != table.num_rows for a in arrays):
            raise TransformationError(
                f"transformation {self.name} returned {[len(a) for a in arrays]} values for "
                f"{table.num_rows} rows"
            )
        return arrays

    def _split(self, result: Any) -> list[Any]:
        if len(self.returns) == 1 and len(self.outputs) == 1:
            return [result]
        if isinstance(result, pd.DataFrame):
            result = {c: result[c] for c in result.columns}
        if not isinstance(result, Mapping) or set(result) != set(self.returns):
            got = sorted(result) if isinstance(result, Mapping) else type(result).__name__
            raise TransformationError(
                f"transformation {self.name} must return a dict with keys {list(self.returns)},"
                f" got {got}"
            )
        return [result[n] for n in self.returns]

    def _failure(self, exc: Exception, inputs: Any) -> TransformationError:
        if isinstance(exc, TransformationError):
            return exc
        return TransformationError(
            f"transformation {self.name} failed on {inputs}: {type(exc).__name__}: {exc}"
        )

    def _arrow(self, values: Any, typ: pa.DataType) -> pa.Array:
        try:
            return pa.array(values, typ, from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError) as exc:
            raise TransformationError(
                f"transformation {self.name} returned values that are not {typ}: {exc}"
            ) from exc

    # -- storage ----------------------------------------------------------------------------

    def reference(self) -> dict[str, Any]:
        """What a feature group or view records: the function by name and hash (its source is
        stored once, versioned, in the catalog), the columns bound and the output names."""
        return {
            "name": self.name,
            "hash": self.hash,
            "inputs": list(self.inputs),
            "outputs": [n for n, _ in self.outputs],
        }

    @staticmethod
    def from_dict(data: Mapping[str, Any], trusted: TrustedCode | None = None) -> UDF:
        """Rebuild from a :meth:`reference` plus ``source``; the source's hash must match the
        recorded one (no silent drift), and be on ``trusted`` (a server's allow-list) when
        given."""
        provided = {"udf": udf, **_PROVIDED}  # the decorator is usually written @fti.udf(...)
        built = _catalog_code.run(
            "transformation", data["name"], data["source"], data["hash"], provided, trusted
        )
        if not isinstance(built, UDF):
            raise FtiError(f"the stored source of {data['name']} does not define that UDF")
        return built(*data["inputs"]).alias(*data["outputs"])


# Values Arrow refuses, or would convert otherwise than the row path does (an int over 2**53
# into float64): such a batch takes the row path, which decides.
ARROW_REFUSED = (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError, OverflowError)


class Runner:
    """A UDF prepared once for its input types (and training statistics), with its two drivers
    over plain Python values: :attr:`row`, one row's inputs (online vectors: scalars, no
    pandas), and :meth:`columns`, one list per input (online batches: through Arrow and pandas
    once for every row, as offline data runs). Both return what the column path stores."""

    def __init__(
        self, function: UDF, types: Mapping[str, pa.DataType], statistics: Any = None
    ) -> None:
        self.udf = function
        self.row = function.row_runner(types, statistics)
        self._statistics = statistics
        # column-wise needs every input's type (a request input may have none recorded); a
        # python-mode UDF runs row by row on both paths anyway
        typed = function.mode != "python" and all(c in types for c in function.inputs)
        self._schema = pa.schema([(c, types[c]) for c in function.inputs]) if typed else None

    def columns(self, values: Sequence[Sequence[Any]]) -> list[list[Any]]:
        """Every output as a list, from one list of values per input."""
        if self._schema is not None:
            try:
                arrays = [pa.array(v, t) for v, t in zip(values, self._schema.types, strict=True)]
            except ARROW_REFUSED:
                pass
            else:
                table = pa.Table.from_arrays(arrays, schema=self._schema)
                return [a.to_pylist() for a in self.udf.run_table(table, self._statistics)]
        rows = [self.row(args) for args in zip(*values, strict=True)]
        return [[r[i] for r in rows] for i in range(len(self.udf.outputs))]


def udf(
    return_type: Any,
    drop: Sequence[str] | str | None = None,
    mode: str = "default",
) -> Callable[[Callable[..., Any]], UDF]:
    """Declare a transformation function.

    ``return_type``: the output type (``float``, ``int``, ``str``, ``bool``, an Arrow type or a
    type name such as ``"double"``), or ``{"name": type, ...}`` for several outputs (the
    function then returns a dict). A single output is named after the function. ``drop``:
    input columns not to keep next to the outputs. ``mode``: ``"default"``, ``"python"`` or
    ``"pandas"`` (see the module docstring).
    """
    if mode not in MODES:
        raise FtiError(f"mode must be one of {list(MODES)}, got {mode!r}")
    drops = (drop,) if isinstance(drop, str) else tuple(drop or ())

    def wrap(fn: Callable[..., Any]) -> UDF:
        if not inspect.isfunction(fn) or fn.__name__ == "<lambda>":
            raise FtiError(f"@udf decorates a named function (def), not {fn!r}")
        params = list(inspect.signature(fn).parameters)
        wants = STATISTICS in params
        columns = tuple(p for p in params if p != STATISTICS)
        if not columns:
            raise FtiError(f"{fn.__name__} must read at least one column (a parameter)")
        unknown = [d for d in drops if d not in columns]
        if unknown:
            raise FtiError(f"drop names {unknown}, which are not parameters of {fn.__name__}")
        if isinstance(return_type, Mapping):
            if not return_type:
                raise FtiError("return_type must name at least one output")
            outputs = tuple((str(n), _type(t)) for n, t in return_type.items())
        else:
            outputs = ((fn.__name__, _type(return_type)),)
        source = _source(fn)
        returns = tuple(n for n, _ in outputs)
        return UDF(
            fn,
            fn.__name__,
            returns,
            outputs,
            columns,
            columns,
            drops,
            mode,
            wants,
            source,
            _catalog_code.sha256(source),
        )

    return wrap


# -- helpers -----------------------------------------------------------------------------------

_PYTHON_TYPES = {float: "double", int: "int64", str: "string", bool: "bool", bytes: "binary"}


def _type(value: Any) -> pa.DataType:
    if isinstance(value, type) and value in _PYTHON_TYPES:
        return parse_type(_PYTHON_TYPES[value])
    if value is datetime.datetime:
        return parse_type("timestamp")
    if value is datetime.date:
        return pa.date32()
    if isinstance(value, str | pa.DataType):
        return parse_type(value)
    raise FtiError(f"unsupported return type {value!r}: use float, int, str, bool or an Arrow type")


def _source(fn: Callable[..., Any]) -> str:
    try:
        return textwrap.dedent(inspect.getsource(fn))
    except (OSError, TypeError) as exc:
        raise FtiError(
            f"cannot read the source of {fn.__name__}: define UDFs in a file or notebook cell"
        ) from exc


_NAN = np.float64("nan")


def _float(v: Any) -> Any:
    return _NAN if v is None else np.float64(v)


def _int(v: Any) -> Any:
    return _NAN if v is None else np.int64(v)


def _by_value(v: Any) -> Any:
    kind = type(v)
    return np.float64(v) if kind is float else np.int64(v) if kind is int else v


def _numpy_scalar(typ: pa.DataType | None) -> Callable[[Any], Any] | None:
    """Numeric values row-wise as NumPy scalars, which compute as pandas columns do (IEEE:
    ``0/0`` is nan, ``1/0`` inf, not an exception); a null is nan, as in a pandas column."""
    if typ is None:
        return _by_value
    if pa.types.is_floating(typ):
        return _float
    if pa.types.is_integer(typ):
        return _int
    return None


def _series(column: pa.ChunkedArray) -> Any:
    return column.to_pandas()


def _identity(value: Any) -> Any:
    return value


def _as_list(values: Sequence[Any]) -> list[Any]:
    return list(values)


def _first(result: Any) -> Any:
    """The single row of a pandas-mode result run on one-element Series."""
    if isinstance(result, pd.DataFrame):
        return {c: result[c].iloc[0] for c in result.columns}
    if isinstance(result, Mapping):
        return {k: _first(v) for k, v in result.items()}
    if isinstance(result, pd.Series):
        return result.iloc[0]
    if isinstance(result, np.ndarray):
        return result[0]
    return result


def _python_converter(typ: pa.DataType) -> Callable[[Any], Any]:
    """Converts one output value as ``pa.array(..., typ, from_pandas=True)`` converts a
    column, to plain Python: the row path returns what the column path stores."""

    def convert(value: Any) -> Any:
        if value is None or value is pd.NA or value != value:  # None, nan, NaT
            return None
        try:
            return pa.array([value], typ, from_pandas=True)[0].as_py()
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError) as exc:
            raise TransformationError(f"{value!r} is not a {typ}: {exc}") from exc

    if typ != pa.float64():
        return convert

    def convert_float(value: Any) -> Any:  # the common case, without building an array
        if isinstance(value, float | int | np.floating | np.integer) and not isinstance(
            value, bool | np.bool_
        ):
            return None if value != value else float(value)
        return convert(value)

    return convert_float
