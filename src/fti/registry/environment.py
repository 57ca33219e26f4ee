"""What a model version records about where it was trained: Python, packages and code."""

from __future__ import annotations

import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

from fti._redact import strip_credentials
from fti._version import __version__


def environment() -> dict[str, Any]:
    """Python and platform, and every installed distribution with its version."""
    packages = {}
    for dist in metadata.distributions():
        name = dist.metadata["Name"]
        if name:
            packages[name.lower()] = dist.version
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "fti": __version__,
        "packages": dict(sorted(packages.items())),
    }


def _git(args: list[str], cwd: Path) -> str | None:
    try:
        done = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def code_version(start: Path | None = None) -> dict[str, Any]:
    """The git commit (and whether the work tree had uncommitted changes) of the training
    code: the repository of the running script, else of the working directory."""
    main = getattr(sys.modules.get("__main__"), "__file__", None)
    where = start or (Path(main).resolve().parent if main else Path.cwd())
    commit = _git(["rev-parse", "HEAD"], where)
    if commit is None:
        return {"git_commit": None}
    status = _git(["status", "--porcelain", "--untracked-files=no"], where)
    return {
        "git_commit": commit,
        "git_dirty": bool(status),
        "git_branch": _git(["rev-parse", "--abbrev-ref", "HEAD"], where),
        "git_remote": public_remote(_git(["config", "--get", "remote.origin.url"], where)),
    }


def public_remote(url: str | None) -> str | None:
    """A git remote as it may be recorded and shown: CI checkouts often carry a token in
    it (``https://x-access-token:<token>@github.com/...``)."""
    return None if url is None else strip_credentials(url)


def public_code(code: dict[str, Any]) -> dict[str, Any]:
    """A recorded code version as it may be shown; versions saved by an older fti may hold
    a remote with its credentials."""
    if not code.get("git_remote"):
        return code
    return {**code, "git_remote": public_remote(code["git_remote"])}
