"""Which code from the catalog a server agrees to run.

On-demand and model-dependent UDFs and custom predictor classes are stored in the catalog as
source with its sha256, and every serving process ``exec``-s that source. The sha256 sits in
the same catalog, so it catches corruption but not a writer to the catalog, who can store new
source with its matching hash. The trust boundary is therefore the catalog: without an
allow-list, whoever can write the catalog runs code on every server.

An allow-list moves the boundary to the server's own configuration: the sha256 of every piece
of code the server may run, from ``fti serve --trusted-code FILE`` (or the file named by
``FTI_TRUSTED_CODE``; one hash a line, ``#`` starts a comment) and ``[serve] trusted_code`` in
the project's ``fti.toml``, together. With one configured, code whose hash is not on it is
refused before it is compiled, and its deployment fails to start (503, not ready) with the
name and hash. Keep the list where catalog writers cannot write: a list in ``fti.toml`` only
helps when the catalog is not the home's own SQLite file.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from fti import config
from fti.errors import ConfigurationError, FtiError

ENV = "FTI_TRUSTED_CODE"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class UntrustedCode(FtiError):
    """Code from the catalog whose sha256 is not on the server's allow-list."""


@dataclass(frozen=True)
class Code:
    """One piece of code a deployment runs: ``kind`` is "transformation" or "predictor"."""

    kind: str
    name: str
    sha256: str


@dataclass(frozen=True)
class TrustedCode:
    hashes: frozenset[str]
    origin: str  # where the list was read, for the errors

    def check(self, code: Iterable[Code]) -> None:
        """Raise :class:`UntrustedCode` naming every piece of ``code`` not on the list."""
        refused = [c for c in code if c.sha256 not in self.hashes]
        if refused:
            named = "; ".join(f"{c.kind} {c.name!r} sha256 {c.sha256}" for c in refused)
            raise UntrustedCode(
                f"refusing code from the catalog that is not on the trusted-code list "
                f"({self.origin}): {named}; add the hash to the list once the code is reviewed"
            )


def _parse_file(path: Path) -> set[str]:
    try:
        lines = path.read_text().splitlines()
    except OSError as exc:
        raise ConfigurationError(f"cannot read the trusted-code file {path}: {exc}") from exc
    hashes = set()
    for number, line in enumerate(lines, 1):
        value = line.split("#", 1)[0].strip().lower()
        if not value:
            continue
        if not _SHA256.match(value):
            raise ConfigurationError(
                f"{path} line {number}: {value!r} is not a sha256 (64 hexadecimal digits)"
            )
        hashes.add(value)
    return hashes


def _parse_config(home: Path) -> set[str] | None:
    section = config.read(home).get("serve", {})
    if "trusted_code" not in section:
        return None
    values = section["trusted_code"]
    where = f"[serve] trusted_code in {home / config.CONFIG_FILE}"
    if not isinstance(values, list):
        raise ConfigurationError(f"{where} must be a list of sha256 strings")
    bad = [v for v in values if not isinstance(v, str) or not _SHA256.match(v.lower())]
    if bad:
        raise ConfigurationError(f"{where}: {bad[0]!r} is not a sha256 (64 hexadecimal digits)")
    return {v.lower() for v in values}


def configured(home: Path, file: str | None = None) -> TrustedCode | None:
    """The allow-list of the server of the project in ``home``: the hashes in ``file`` (else
    the file named by :data:`ENV`) and in ``fti.toml``; None when neither is configured (every
    piece of code is run, as before)."""
    path = file or os.environ.get(ENV) or None
    hashes: set[str] = set()
    origins = []
    if path is not None:
        hashes |= _parse_file(Path(path))
        origins.append(f"file {path}")
    in_config = _parse_config(home)
    if in_config is not None:
        hashes |= in_config
        origins.append(f"[serve] trusted_code in {config.CONFIG_FILE}")
    if not origins:
        return None
    return TrustedCode(frozenset(hashes), " and ".join(origins))
