"""Built-in model-dependent transformations, for ``fti.builtins.standard_scaler("amount")``
and ``from fti.builtins import one_hot_encoder`` (defined in :mod:`fti.transform.builtins`)."""

from fti.transform.builtins import (
    constant_imputer,
    equal_width_binner,
    label_encoder,
    log_transform,
    mean_imputer,
    median_imputer,
    min_max_scaler,
    mode_imputer,
    one_hot_encoder,
    quantile_binner,
    robust_scaler,
    standard_scaler,
)

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
