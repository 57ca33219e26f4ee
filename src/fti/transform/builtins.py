"""Built-in model-dependent transformations: ``fti.builtins.standard_scaler("amount")``.

Each one reads one column, is fitted on the train split of a training dataset and replaces the
column in place. Row-wise (online) and column-wise (training and batch data) they compute the
same IEEE operations in the same order, so both paths give identical values.

Missing and unseen values never raise:

* scalers, ``log_transform`` and the binners keep a null (or NaN) as null: put an imputer
  first when the model cannot take nulls;
* ``label_encoder`` maps a null or a category not seen in training to the reserved index
  ``len(categories)``;
* ``one_hot_encoder`` maps a null or an unseen category to all ``False``;
* imputers replace nulls (and NaN) with the train split's mean, median, most frequent value or
  a constant.
"""

from __future__ import annotations

import bisect
import math
from abc import abstractmethod
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from fti.errors import FtiError, TransformationError
from fti.transform.mdt import ModelTransform, RowFunction


def _floats(column: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """float64 values with nulls as NaN."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    cast = pc.cast(column, pa.float64(), safe=False)  # as float(int) rounds, past 2**53 too
    return np.asarray(cast.to_numpy(zero_copy_only=False), np.float64)


def _finite(column: pa.Array | pa.ChunkedArray, what: str) -> np.ndarray:
    values: np.ndarray = _floats(column)
    values = values[np.isfinite(values)]
    if values.size == 0:
        raise TransformationError(f"cannot fit {what}: the train split has no finite values")
    return values


def _mean_std(x: np.ndarray) -> tuple[float, float]:
    """Mean and population std without overflow near the float limits: computed on values
    divided by a power of two (exact), then scaled back."""
    top = float(np.abs(x).max())
    unit = 2.0 ** math.floor(math.log2(top)) if top > 0 else 1.0
    scaled = x / unit
    return float(scaled.mean()) * unit, float(scaled.std()) * unit


def _is_numeric(typ: pa.DataType) -> bool:
    return bool(pa.types.is_integer(typ) or pa.types.is_floating(typ))


def _is_categorical(typ: pa.DataType) -> bool:
    return bool(pa.types.is_string(typ) or pa.types.is_integer(typ) or pa.types.is_boolean(typ))


def _missing(v: Any) -> bool:
    return v is None or v != v  # None or NaN


class Builtin(ModelTransform):
    """A built-in transformation of one column (see the module docstring)."""

    in_place = True
    kind = ""
    numeric = True  # else categorical (string, integer or boolean)

    def __init__(self, column: str, *, named_as: str | None = None, **params: Any) -> None:
        if not isinstance(column, str) or not column:
            raise FtiError(f"{self.kind} takes a column name, got {column!r}")
        if named_as is not None:  # outputs named as Hopsworks names them (fti.hsfs)
            params["named_as"] = named_as
        self.name = self.kind
        self.inputs = (column,)
        self.params = params

    @property
    def column(self) -> str:
        return self.inputs[0]

    def out(self, suffix: str = "") -> str:
        """The name of an output: the input column's (in place), or with ``named_as``
        Hopsworks' ``<function>_<column>_<suffix>``."""
        named_as = self.params.get("named_as")
        if named_as is None:
            return f"{self.column}_{suffix}" if suffix else self.column
        return f"{named_as}_{self.column}_{suffix}"

    def reference(self) -> dict[str, Any]:
        return {"builtin": self.kind, "inputs": list(self.inputs), "params": dict(self.params)}

    def check_type(self, typ: pa.DataType) -> None:
        ok = _is_numeric(typ) if self.numeric else _is_categorical(typ)
        if not ok:
            kind = "numeric" if self.numeric else "string, integer or boolean"
            raise TransformationError(f"{self!r} needs a {kind} column; {self.column} is {typ}")

    def fit(self, train: pa.Table) -> dict[str, Any]:
        self.check_type(train.schema.field(0).type)
        return self.fit_column(train.column(0))

    def fit_column(self, column: pa.ChunkedArray) -> dict[str, Any]:
        return {}


class _NumericMap(Builtin):
    """A float64 function of one number, defined twice with the same arithmetic: on arrays
    (``vector``) and on one float (``scalar``); null or NaN in, null out."""

    def outputs(self, state: Mapping[str, Any], types: Sequence[pa.DataType]) -> list[pa.Field]:
        return [pa.field(self.out(), pa.float64())]

    def apply(self, table: pa.Table, state: Mapping[str, Any]) -> list[pa.Array]:
        out = self.vector(state)(_floats(table.column(0)))
        return [pa.array(out, pa.float64(), from_pandas=True)]  # NaN -> null

    def row_function(self, state: Mapping[str, Any], types: Sequence[pa.DataType]) -> RowFunction:
        scalar = self.scalar(state)

        def run(values: Sequence[Any]) -> list[Any]:
            v = values[0]
            return [None if _missing(v) else scalar(float(v))]

        return run

    @abstractmethod
    def vector(self, state: Mapping[str, Any]) -> Callable[[np.ndarray], np.ndarray]: ...

    @abstractmethod
    def scalar(self, state: Mapping[str, Any]) -> Callable[[float], Any]: ...


class _Affine(_NumericMap):
    """``(x - center) / scale``: the three scalers differ in how they fit the two."""

    def vector(self, state: Mapping[str, Any]) -> Callable[[np.ndarray], np.ndarray]:
        center, scale = state["center"], state["scale"]

        def run(x: np.ndarray) -> np.ndarray:
            with np.errstate(all="ignore"):  # overflow is inf, as on the row path
                out: np.ndarray = (x - center) / scale
            return out

        return run

    def scalar(self, state: Mapping[str, Any]) -> Callable[[float], Any]:
        center, scale = state["center"], state["scale"]
        return lambda x: (x - center) / scale


def _scale(value: float) -> float:
    return value if value > 0 and math.isfinite(value) else 1.0  # a constant column maps to 0


class StandardScaler(_Affine):
    """``(x - mean) / std`` with the population standard deviation (as scikit-learn), or with
    ``ddof=1`` the sample one (as Hopsworks)."""

    kind = "standard_scaler"

    def __init__(self, column: str, ddof: int = 0, **naming: Any) -> None:
        if ddof not in (0, 1) or isinstance(ddof, bool):
            raise FtiError(f"standard_scaler ddof must be 0 or 1, got {ddof!r}")
        super().__init__(column, **naming)
        if ddof:  # not stored otherwise: a view recorded before reads the same
            self.params["ddof"] = ddof

    def fit_column(self, column: pa.ChunkedArray) -> dict[str, Any]:
        x = _finite(column, repr(self))
        if x.min() == x.max():  # exactly 0 out, not the rounding noise of mean and std
            return {"center": float(x[0]), "scale": 1.0}
        mean, std = _mean_std(x)
        if self.params.get("ddof"):
            std *= math.sqrt(len(x) / (len(x) - 1))  # x has two values at least here
        return {"center": mean, "scale": _scale(std)}


class MinMaxScaler(_Affine):
    """``(x - min) / (max - min)``: 0 to 1 on the train split."""

    kind = "min_max_scaler"

    def fit_column(self, column: pa.ChunkedArray) -> dict[str, Any]:
        x = _finite(column, repr(self))
        lo, hi = float(x.min()), float(x.max())
        return {"center": lo, "scale": _scale(hi - lo)}


class RobustScaler(_Affine):
    """``(x - median) / (q75 - q25)``: insensitive to outliers."""

    kind = "robust_scaler"

    def fit_column(self, column: pa.ChunkedArray) -> dict[str, Any]:
        x = _finite(column, repr(self))
        q25, median, q75 = (float(v) for v in np.quantile(x, [0.25, 0.5, 0.75]))
        return {"center": median, "scale": _scale(q75 - q25)}


class LogTransform(_NumericMap):
    """``log(x + offset)``; the default offset 1 makes it ``log1p``, defined at 0. A value
    with ``x + offset <= 0`` becomes null."""

    kind = "log_transform"
    fitted = False

    def __init__(self, column: str, offset: float = 1.0, **naming: Any) -> None:
        if not isinstance(offset, int | float) or not math.isfinite(offset):
            raise FtiError(f"log_transform offset must be a finite number, got {offset!r}")
        super().__init__(column, offset=float(offset), **naming)

    def vector(self, state: Mapping[str, Any]) -> Callable[[np.ndarray], np.ndarray]:
        offset = self.params["offset"]

        def run(x: np.ndarray) -> np.ndarray:
            shifted = x + offset
            with np.errstate(all="ignore"):
                return np.where(shifted > 0, np.log(shifted), np.nan)

        return run

    def scalar(self, state: Mapping[str, Any]) -> Callable[[float], Any]:
        offset = self.params["offset"]

        def run(x: float) -> Any:
            shifted = x + offset
            # np.log, not math.log: the very same routine as the column path, to the last bit
            return float(np.log(np.float64(shifted))) if shifted > 0 else None

        return run


class _Binner(Builtin):
    """The index of the bin ``x`` falls in, by the cut points fitted: 0 .. len(cuts)."""

    def __init__(self, column: str, bins: int = 4, **naming: Any) -> None:
        if not isinstance(bins, int) or isinstance(bins, bool) or bins < 2:
            raise FtiError(f"{self.kind} needs bins >= 2, got {bins!r}")
        super().__init__(column, bins=bins, **naming)

    def outputs(self, state: Mapping[str, Any], types: Sequence[pa.DataType]) -> list[pa.Field]:
        return [pa.field(self.out(), pa.int64())]

    def apply(self, table: pa.Table, state: Mapping[str, Any]) -> list[pa.Array]:
        x = _floats(table.column(0))
        index = np.searchsorted(np.asarray(state["cuts"], np.float64), x, side="right")
        return [pa.array(index, pa.int64(), mask=np.isnan(x))]

    def row_function(self, state: Mapping[str, Any], types: Sequence[pa.DataType]) -> RowFunction:
        cuts = [float(c) for c in state["cuts"]]

        def run(values: Sequence[Any]) -> list[Any]:
            v = values[0]
            return [None if _missing(v) else bisect.bisect_right(cuts, float(v))]

        return run


class QuantileBinner(_Binner):
    """Bins holding equal shares of the train split (cut points at its quantiles; repeated
    cut points collapse, so a skewed column may get fewer bins)."""

    kind = "quantile_binner"

    def fit_column(self, column: pa.ChunkedArray) -> dict[str, Any]:
        x = _finite(column, repr(self))
        bins = self.params["bins"]
        cuts = np.quantile(x, [i / bins for i in range(1, bins)])
        return {"cuts": sorted({float(c) for c in cuts})}


class EqualWidthBinner(_Binner):
    """Bins of equal width between the train split's min and max (values outside go to the
    first or last bin)."""

    kind = "equal_width_binner"

    def fit_column(self, column: pa.ChunkedArray) -> dict[str, Any]:
        x = _finite(column, repr(self))
        lo, hi, bins = float(x.min()), float(x.max()), self.params["bins"]
        width = (hi - lo) / bins
        return {"cuts": sorted({lo + i * width for i in range(1, bins)}) if width > 0 else []}


def _categories(column: pa.ChunkedArray) -> list[Any]:
    values = pc.unique(column.drop_null()).to_pylist()
    return sorted(values)


class LabelEncoder(Builtin):
    """The index of the value among the train split's sorted categories. A null or unseen
    value gets the reserved index ``len(categories)``; with ``unseen`` (Hopsworks: -1) an
    unseen value gets that number and a null stays null."""

    kind = "label_encoder"
    numeric = False

    def __init__(self, column: str, unseen: int | None = None, **naming: Any) -> None:
        if unseen is not None and (isinstance(unseen, bool) or not isinstance(unseen, int)):
            raise FtiError(f"label_encoder unseen must be an integer, got {unseen!r}")
        super().__init__(column, **naming)
        if unseen is not None:  # not stored otherwise: a view recorded before reads the same
            self.params["unseen"] = unseen

    def fit_column(self, column: pa.ChunkedArray) -> dict[str, Any]:
        return {"categories": _categories(column)}

    def outputs(self, state: Mapping[str, Any], types: Sequence[pa.DataType]) -> list[pa.Field]:
        return [pa.field(self.out(), pa.int64())]

    def apply(self, table: pa.Table, state: Mapping[str, Any]) -> list[pa.Array]:
        column, categories = table.column(0), state["categories"]
        found = pc.index_in(column, value_set=pa.array(categories, column.type)).cast(pa.int64())
        unseen = self.params.get("unseen")
        if unseen is None:
            return [pc.fill_null(found, len(categories)).combine_chunks()]
        marked = pc.if_else(pc.and_(pc.is_null(found), pc.is_valid(column)), unseen, found)
        return [marked.combine_chunks()]

    def row_function(self, state: Mapping[str, Any], types: Sequence[pa.DataType]) -> RowFunction:
        index = {v: i for i, v in enumerate(state["categories"])}
        unseen = self.params.get("unseen")
        if unseen is None:
            reserved = len(index)
            return lambda values: [index.get(values[0], reserved)]
        return lambda values: [None if values[0] is None else index.get(values[0], unseen)]


class OneHotEncoder(Builtin):
    """One boolean column ``<column>_<category>`` per category of the train split, in sorted
    order; a null or unseen value is all ``False``."""

    kind = "one_hot_encoder"
    numeric = False

    def fit_column(self, column: pa.ChunkedArray) -> dict[str, Any]:
        return {"categories": _categories(column)}

    def outputs(self, state: Mapping[str, Any], types: Sequence[pa.DataType]) -> list[pa.Field]:
        if "named_as" in self.params:  # Hopsworks numbers them, in the categories' order
            return [pa.field(self.out(str(i)), pa.bool_()) for i in range(len(state["categories"]))]
        return [pa.field(self.out(str(c)), pa.bool_()) for c in state["categories"]]

    def apply(self, table: pa.Table, state: Mapping[str, Any]) -> list[pa.Array]:
        column = table.column(0)
        return [
            pc.fill_null(pc.equal(column, pa.scalar(c, column.type)), False).combine_chunks()
            for c in state["categories"]
        ]

    def row_function(self, state: Mapping[str, Any], types: Sequence[pa.DataType]) -> RowFunction:
        index = {v: i for i, v in enumerate(state["categories"])}
        width = len(index)

        def run(values: Sequence[Any]) -> list[Any]:
            out = [False] * width
            at = index.get(values[0])
            if at is not None:
                out[at] = True
            return out

        return run


class _Imputer(Builtin):
    """Nulls (and NaN) replaced by a value fitted on the train split."""

    def fill(self, state: Mapping[str, Any]) -> Any:
        return state["value"]

    def outputs(self, state: Mapping[str, Any], types: Sequence[pa.DataType]) -> list[pa.Field]:
        return [pa.field(self.out(), types[0])]

    def apply(self, table: pa.Table, state: Mapping[str, Any]) -> list[pa.Array]:
        column = table.column(0).combine_chunks()
        if pa.types.is_floating(column.type):
            column = pc.if_else(pc.is_nan(column), pa.scalar(None, column.type), column)
        return [pc.fill_null(column, pa.scalar(self.fill(state), column.type))]

    def row_function(self, state: Mapping[str, Any], types: Sequence[pa.DataType]) -> RowFunction:
        fill = pa.scalar(self.fill(state), types[0]).as_py()
        return lambda values: [fill if _missing(values[0]) else values[0]]


class _NumericImputer(_Imputer):
    """Mean or median imputation: the column becomes float64."""

    def outputs(self, state: Mapping[str, Any], types: Sequence[pa.DataType]) -> list[pa.Field]:
        return [pa.field(self.out(), pa.float64())]

    def apply(self, table: pa.Table, state: Mapping[str, Any]) -> list[pa.Array]:
        x = _floats(table.column(0))
        return [pa.array(np.where(np.isnan(x), state["value"], x), pa.float64())]

    def row_function(self, state: Mapping[str, Any], types: Sequence[pa.DataType]) -> RowFunction:
        fill = float(state["value"])
        return lambda values: [fill if _missing(values[0]) else float(values[0])]


class MeanImputer(_NumericImputer):
    kind = "mean_imputer"

    def fit_column(self, column: pa.ChunkedArray) -> dict[str, Any]:
        return {"value": _mean_std(_finite(column, repr(self)))[0]}


class MedianImputer(_NumericImputer):
    kind = "median_imputer"

    def fit_column(self, column: pa.ChunkedArray) -> dict[str, Any]:
        return {"value": float(np.median(_finite(column, repr(self))))}


class ModeImputer(_Imputer):
    """The most frequent value of the train split (the smallest one on a tie)."""

    kind = "mode_imputer"

    def check_type(self, typ: pa.DataType) -> None:
        if not (_is_numeric(typ) or _is_categorical(typ)):
            raise TransformationError(f"{self!r} needs a numeric or categorical column, not {typ}")

    def fit_column(self, column: pa.ChunkedArray) -> dict[str, Any]:
        if pa.types.is_floating(column.type):  # finite values only; -0.0 counts as 0.0
            finite = pc.is_finite(column)
            column = pc.add(pc.if_else(finite, column, pa.scalar(None, column.type)), 0.0)
        counts = pc.value_counts(column.drop_null()).to_pylist()
        if not counts:
            raise TransformationError(f"cannot fit {self!r}: the train split has only nulls")
        best = max(c["counts"] for c in counts)
        return {"value": min(c["values"] for c in counts if c["counts"] == best)}


class ConstantImputer(_Imputer):
    """Nulls replaced by ``value`` (no fitting)."""

    kind = "constant_imputer"
    fitted = False

    def __init__(self, column: str, value: Any, **naming: Any) -> None:
        if value is None or (isinstance(value, float) and not math.isfinite(value)):
            raise FtiError(f"constant_imputer needs a finite value that is not None, got {value}")
        super().__init__(column, value=value, **naming)

    def check_type(self, typ: pa.DataType) -> None:
        try:
            pa.scalar(self.params["value"], typ)
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError) as exc:
            raise TransformationError(
                f"{self!r}: {self.params['value']!r} is not a {typ} value for {self.column}"
            ) from exc

    def fit_column(self, column: pa.ChunkedArray) -> dict[str, Any]:
        return {"value": self.params["value"]}


BUILTINS: dict[str, type[Builtin]] = {
    cls.kind: cls
    for cls in (
        StandardScaler,
        MinMaxScaler,
        RobustScaler,
        LogTransform,
        QuantileBinner,
        EqualWidthBinner,
        LabelEncoder,
        OneHotEncoder,
        MeanImputer,
        MedianImputer,
        ModeImputer,
        ConstantImputer,
    )
}


def from_reference(reference: Mapping[str, Any]) -> Builtin:
    """Rebuild a built-in from what a feature view recorded."""
    cls = BUILTINS.get(reference["builtin"])
    if cls is None:
        raise FtiError(f"unknown built-in transformation {reference['builtin']!r}")
    return cls(*reference["inputs"], **reference["params"])


def standard_scaler(column: str) -> Builtin:
    """``(x - mean) / std`` (population std; a constant column becomes 0)."""
    return StandardScaler(column)


def min_max_scaler(column: str) -> Builtin:
    """``(x - min) / (max - min)`` on the train split's range."""
    return MinMaxScaler(column)


def robust_scaler(column: str) -> Builtin:
    """``(x - median) / IQR``."""
    return RobustScaler(column)


def log_transform(column: str, offset: float = 1.0) -> Builtin:
    """``log(x + offset)``; null where ``x + offset <= 0``."""
    return LogTransform(column, offset)


def quantile_binner(column: str, bins: int = 4) -> Builtin:
    """Bin index 0 .. bins-1 with equal shares of the train split per bin."""
    return QuantileBinner(column, bins)


def equal_width_binner(column: str, bins: int = 4) -> Builtin:
    """Bin index 0 .. bins-1 over equal-width bins between the train min and max."""
    return EqualWidthBinner(column, bins)


def label_encoder(column: str, unseen: int | None = None) -> Builtin:
    """Category index; null or unseen -> ``len(categories)``, or with ``unseen`` (e.g. -1,
    as Hopsworks) unseen -> that number and null -> null."""
    return LabelEncoder(column, unseen)


def one_hot_encoder(column: str) -> Builtin:
    """``<column>_<category>`` boolean columns; null or unseen -> all False."""
    return OneHotEncoder(column)


def mean_imputer(column: str) -> Builtin:
    return MeanImputer(column)


def median_imputer(column: str) -> Builtin:
    return MedianImputer(column)


def mode_imputer(column: str) -> Builtin:
    return ModeImputer(column)


def constant_imputer(column: str, value: Any) -> Builtin:
    return ConstantImputer(column, value)


__all__ = [
    "constant_imputer",
    "equal_width_binner",
    "label_encoder",
    "log_transform",
    "mean_imputer",
    "median_imputer",
    "min_max_scaler",
    "mode_imputer",
    "one_hot_encoder",
    "quantile_binner",
    "robust_scaler",
    "standard_scaler",
]
