"""Built-in model-dependent transformations, for ``fti.builtins.standard_scaler("amount")``
and ``from fti.builtins import one_hot_encoder`` (defined in :mod:`fti.transform.builtins`)."""

from fti.transform.builtins import *  # noqa: F403 - this module is that one's public face
from fti.transform.builtins import __all__ as __all__
