"""Transformation functions: on-demand (feature groups) and model-dependent (feature views)."""

from fti.errors import TransformationError
from fti.transform.udf import UDF, udf

__all__ = ["UDF", "TransformationError", "udf"]
