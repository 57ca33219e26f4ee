"""On-demand transformations of feature groups: checked at definition, run at insert.

At insert time (the backfill path) an ODT computes its outputs from the inserted rows and they
are stored like any feature; online feature vectors run the same function on the request.
Inputs listed in the UDF's ``drop`` are request data: needed to compute, not stored.
"""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa

from fti.errors import FtiError, SchemaError
from fti.transform import UDF
from fti.types import Feature


def check_on_demand(functions: Sequence[UDF], keys: Sequence[str | None]) -> list[UDF]:
    """ODTs as given, after the checks that need no data: types, clashes, statistics."""
    functions = list(functions)
    seen: dict[str, str] = {}
    for f in functions:
        if not isinstance(f, UDF):
            raise FtiError(f"transformation_functions takes @fti.udf functions, not {f!r}")
        if f.wants_statistics:
            raise FtiError(
                f"{f.name} asks for training statistics: that makes it a model-dependent "
                "transformation, which belongs to a feature view"
            )
        for out in f.output_names:
            if out in keys:
                raise SchemaError(f"{f.name} would overwrite the key or event time column {out!r}")
            if out in seen:
                raise SchemaError(f"{seen[out]} and {f.name} both output {out!r}")
            seen[out] = f.name
    for f in functions:
        produced = [c for c in f.inputs if c in seen]
        if produced:
            raise SchemaError(
                f"{f.name} reads {produced}, outputs of other on-demand transformations: "
                "compute them in one function instead"
            )
    return functions


def with_outputs(features: Sequence[Feature], functions: Sequence[UDF]) -> list[Feature]:
    """Declared features plus any ODT output not declared (typed as the UDF says); dropped
    request inputs are not features."""
    declared = {f.name: f for f in features}
    dropped = {d for f in functions for d in f.drop}
    out = [f for f in features if f.name not in dropped]
    for f in functions:
        for name, typ in f.outputs:
            if name in declared:
                if declared[name].type != typ:
                    raise SchemaError(
                        f"feature {name!r} is declared {declared[name].type} but {f.name} "
                        f"returns {typ}"
                    )
            else:
                out.append(Feature(name, typ, f"on-demand: {f.name}({', '.join(f.inputs)})"))
    return out


def apply_on_demand(table: pa.Table, functions: Sequence[UDF]) -> pa.Table:
    """The inserted rows with every ODT's outputs computed and request inputs dropped."""
    for f in functions:
        missing = [c for c in f.inputs if c not in table.column_names]
        if missing:
            raise SchemaError(
                f"on-demand transformation {f.name} needs column(s) {missing} in the inserted "
                f"rows; they have {table.column_names}"
            )
    for f in functions:
        arrays = f.run_table(table.select(list(f.inputs)))
        for name, array in zip(f.output_names, arrays, strict=True):
            if name in table.column_names:
                table = table.set_column(table.column_names.index(name), name, array)
            else:
                table = table.append_column(name, array)
    dropped = [d for f in functions for d in f.drop if d in table.column_names]
    return table.drop_columns(dropped) if dropped else table
