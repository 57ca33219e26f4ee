"""Options of Hopsworks' API that code written for Hopsworks passes and fti has no use for.

Each call that takes such options names them with the reason each is ignored; giving any of
them (with a value other than its default) warns once per call with every one of them, so the
code runs and says what differs (:class:`fti.errors.IgnoredOptionWarning`). An option neither
fti nor Hopsworks knows is a ``TypeError``, as for any function.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

from fti.errors import IgnoredOptionWarning


def ignore(
    given: Mapping[str, Any],
    ignored: Mapping[str, str],
    where: str,
    stacklevel: int = 3,
    *,
    defaults: Mapping[str, Any] | None = None,
) -> None:
    """Warn about the options of ``given`` that ``ignored`` lists (with why), unless they are
    at their default (None, False, an empty value, or ``defaults[name]``)."""
    unknown = sorted(k for k in given if k not in ignored)
    if unknown:
        raise TypeError(f"{where}() got unexpected keyword argument(s) {unknown}")
    defaults = defaults or {}
    set_ = [
        k
        for k, v in given.items()
        if v is not None and v is not False and v != {} and v != [] and v != defaults.get(k, None)
    ]
    if set_:
        reasons = "; ".join(f"{k}: {ignored[k]}" for k in set_)
        warnings.warn(
            f"{where}: ignored Hopsworks option(s) {set_} ({reasons})",
            IgnoredOptionWarning,
            stacklevel=stacklevel,
        )
