"""Code the catalog stores as source: on-demand and model-dependent UDFs, custom predictors.

Every process rebuilds such code from the source the catalog holds, in one way: the source
must match the sha256 recorded next to it (which catches corruption, not a catalog writer:
:mod:`fti.trust`), a server's allow-list is asked before anything is compiled, the source is
registered with :mod:`linecache` under a name that says what it is (so ``inspect.getsource``,
which ``@fti.udf`` calls, and tracebacks see it), and it runs in a fresh namespace.
"""

from __future__ import annotations

import hashlib
import linecache
import sys
from collections.abc import Mapping
from typing import Any

from fti.errors import FtiError
from fti.trust import Code, TrustedCode


def sha256(source: str) -> str:
    """The hash the catalog records for ``source``."""
    return hashlib.sha256(source.encode()).hexdigest()


def run(
    kind: str,
    name: str,
    source: str,
    recorded: str,
    provided: Mapping[str, Any],
    trusted: TrustedCode | None = None,
) -> Any:
    """What ``source`` defines under ``name``, after the checks in the module docstring.

    ``kind`` ("transformation" or "predictor") names the code in errors and in the allow-list;
    ``provided`` are the names the source may use without importing them. Raises
    :class:`fti.FtiError` when the source is corrupt, does not compile or run, or defines no
    ``name``, and :class:`fti.trust.UntrustedCode` when ``trusted`` lacks its hash.
    """
    if sha256(source) != recorded:
        raise FtiError(f"the stored source of {kind} {name} is corrupt")
    if trusted is not None:
        trusted.check([Code(kind, name, recorded)])
    # The root package imports every layer, so the layers below it cannot import it; but a
    # submodule is never imported without its package, so it is always in sys.modules here.
    namespace: dict[str, Any] = {"fti": sys.modules["fti"], **provided}
    filename = f"<fti {kind} {name} {recorded[:12]}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    try:
        exec(compile(source, filename, "exec"), namespace)
    except Exception as exc:
        raise FtiError(f"cannot rebuild {kind} {name}: {exc}") from exc
    if name not in namespace:
        raise FtiError(f"the stored source of {kind} {name} does not define {name}")
    return namespace[name]
