"""The rule for deployment names.

A name becomes a URL path segment (``/v1/deployments/NAME/predict``), a metric label and a
value of the inference log, so it is checked before anything is recorded. The rule admits
every name a deployment takes by default: model names (letters, digits, '_' and '-') and
feature-view names (which may start with '_').
"""

from __future__ import annotations

import re

from fti.errors import SchemaError

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]{0,127}$")


def check_deployment_name(name: object) -> str:
    """``name`` if it is a valid deployment name, else :class:`SchemaError` (the error of
    every bad object name)."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        shown = name if not isinstance(name, str) or len(name) <= 40 else f"{name[:40]}..."
        raise SchemaError(
            f"invalid deployment name {shown!r}: use letters, digits, '_' and '-', starting "
            "with a letter or underscore (at most 128 characters)"
        )
    return name
