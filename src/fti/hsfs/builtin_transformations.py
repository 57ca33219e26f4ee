"""Hopsworks' built-in transformations, named and computed as Hopsworks does, on fti's
built-ins (:mod:`fti.builtins` is their home, with fti's names: a built-in replaces its column
in place).

Here, as in Hopsworks, a transformation of ``feature`` replaces it with
``<function>_<feature>_`` (``min_max_scaler("amount")`` gives ``min_max_scaler_amount_``;
``one_hot_encoder("tier")`` gives ``one_hot_encoder_tier_0``, ``_1``, ... in the categories'
sorted order), ``standard_scaler`` divides by the sample standard deviation,
``label_encoder`` gives an unseen category -1 and keeps a null null, and ``log_transform`` is
``log(x)`` (null where x <= 0). Hopsworks' other built-ins are not here: importing one says
what to use instead.
"""

from __future__ import annotations

from typing import NoReturn

from fti.transform import builtins as _fti
from fti.transform.builtins import Builtin

__all__ = [
    "impute_mean",
    "impute_median",
    "impute_mode",
    "label_encoder",
    "log_transform",
    "min_max_scaler",
    "one_hot_encoder",
    "robust_scaler",
    "standard_scaler",
]


def min_max_scaler(feature: str) -> Builtin:
    return _fti.MinMaxScaler(feature, named_as="min_max_scaler")


def standard_scaler(feature: str) -> Builtin:
    return _fti.StandardScaler(feature, ddof=1, named_as="standard_scaler")


def robust_scaler(feature: str) -> Builtin:
    return _fti.RobustScaler(feature, named_as="robust_scaler")


def label_encoder(feature: str) -> Builtin:
    return _fti.LabelEncoder(feature, unseen=-1, named_as="label_encoder")


def one_hot_encoder(feature: str) -> Builtin:
    return _fti.OneHotEncoder(feature, named_as="one_hot_encoder")


def log_transform(feature: str) -> Builtin:
    return _fti.LogTransform(feature, offset=0.0, named_as="log_transform")


def impute_mean(feature: str) -> Builtin:
    return _fti.MeanImputer(feature, named_as="impute_mean")


def impute_median(feature: str) -> Builtin:
    return _fti.MedianImputer(feature, named_as="impute_median")


def impute_mode(feature: str) -> Builtin:
    return _fti.ModeImputer(feature, named_as="impute_mode")


# Hopsworks built-ins fti computes differently or not at all, and what to use instead
_INSTEAD = {
    "equal_width_binner": "fti.builtins.equal_width_binner(column, bins)",
    "quantile_binner": "fti.builtins.quantile_binner(column, bins)",
    "equal_frequency_binner": "fti.builtins.quantile_binner(column, bins=4)",
    "impute_constant": "fti.builtins.constant_imputer(column, value)",
    "impute_category": "fti.builtins.constant_imputer(column, value)",
}


def __getattr__(name: str) -> NoReturn:
    hint = _INSTEAD.get(name)
    if hint is not None:
        raise ImportError(
            f"fti has no Hopsworks {name}: its bins and defaults differ from fti's; use {hint}"
        )
    if name.startswith("_"):
        raise AttributeError(name)
    raise ImportError(
        f"fti has no Hopsworks built-in {name}: write it as an @fti.udf reading the training "
        "statistics (statistics.<feature>.percentiles, .unique_values, .mean, .std_dev, ...)"
    )
