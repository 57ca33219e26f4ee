"""Transformation functions: on-demand (feature groups) and model-dependent (feature views)."""

from fti.errors import TransformationError
from fti.transform.mdt import ModelTransform, Pipeline, Statistics, UdfTransform
from fti.transform.udf import UDF, udf

__all__ = [
    "UDF",
    "ModelTransform",
    "Pipeline",
    "Statistics",
    "TransformationError",
    "UdfTransform",
    "udf",
]
