"""A project's backends: where they are recorded and how a process finds them.

The catalog, offline root, online store and artifact location are part of the project. When
:func:`fti.connect` creates a project, what it was given other than the defaults (as
arguments or ``FTI_*`` environment variables) is written to ``<home>/fti.toml``; every process
that opens the project then uses what is recorded there (the embedded defaults where nothing
is), so one that lacks the environment variables cannot silently serve a store of its own.
An argument or environment variable that names another backend than the recorded one is a
:class:`~fti.errors.ConfigurationError` naming both: moving a project is an edit of fti.toml.

Passwords are never written: a URL is recorded without its password, and the password comes
from whoever opens the project (the same URL with it as argument or environment variable, or
the server's own means such as ``PGPASSWORD``). Refusing such URLs instead would leave no way
to record the common ``postgresql://user:pw@host/db`` at all, while recording the password
would put it in a file that is copied and backed up with the home.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fti._redact import redact
from fti.errors import ConfigurationError

CONFIG_FILE = "fti.toml"


@dataclass(frozen=True)
class Setting:
    name: str  # connect()'s argument
    env: str
    section: str
    key: str


SETTINGS = (
    Setting("catalog_url", "FTI_CATALOG_URL", "catalog", "url"),
    Setting("offline_root", "FTI_OFFLINE_ROOT", "offline", "root"),
    Setting("online_store", "FTI_ONLINE_STORE", "online", "store"),
    Setting("artifacts", "FTI_ARTIFACTS", "registry", "artifacts"),
)

# scheme://user:password@rest -- the password runs to the last "@", as in fti._redact
_PASSWORD = re.compile(r"^(?P<head>[A-Za-z][A-Za-z0-9+.\-]*://[^\s:/@]*):(?P<password>.*)@")


def read(home: Path) -> dict[str, Any]:
    path = home / CONFIG_FILE
    if not path.exists():
        return {}
    try:
        return tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"{path} is not valid TOML: {exc}") from exc


def defaults(home: Path) -> dict[str, str]:
    return {
        "catalog_url": f"sqlite:///{home / 'catalog.sqlite'}",
        "offline_root": str(home / "offline"),
        "online_store": "lmdb",
        "artifacts": str(home / "models"),
    }


def _has_password(value: str) -> bool:
    return _PASSWORD.match(value) is not None


def _without_password(value: str) -> str:
    return _PASSWORD.sub(lambda m: m["head"] + "@", value)


def _absolute(name: str, value: str) -> str:
    """``value`` with a local path made absolute: a relative one names a file under the
    working directory of whoever gave it, which is no name for another process to use."""
    if name == "catalog_url":
        match = re.match(r"^(sqlite[^:]*:///)([^?]*)(\?.*)?$", value)
        if match and match[2] and match[2] != ":memory:":
            return f"{match[1]}{Path(match[2]).expanduser().resolve()}{match[3] or ''}"
        return value
    if name in ("offline_root", "artifacts") and "://" not in value:
        return str(Path(value).expanduser().resolve())
    return value


def _same(name: str, a: str, b: str) -> bool:
    a, b = _without_password(a), _without_password(b)
    if name == "catalog_url":
        # postgresql:// and postgresql+psycopg:// name one database (the driver is ours)
        a, b = (re.sub(r"^postgresql(\+\w+)?://", "postgresql://", v) for v in (a, b))
    return a == b


@dataclass(frozen=True)
class ProjectLocation:
    """What another process needs to open the same project (a log writer, a worker)."""

    home: Path
    catalog_url: str
    offline_root: str
    online_store: str


@dataclass(frozen=True)
class Backends:
    catalog_url: str
    offline_root: str
    online_store: str
    artifacts: str
    # what a new project records in fti.toml: its settings other than the defaults
    to_record: dict[str, str]


def resolve(home: Path, given: dict[str, str | None], creating: bool) -> Backends:
    """The backends of the project in ``home``: given (argument, then environment variable),
    recorded in fti.toml, or the default. For an existing project, a given setting other than
    the recorded one (the default where none is) raises ConfigurationError."""
    config = read(home)
    base = defaults(home)
    chosen: dict[str, str] = {}
    to_record: dict[str, str] = {}
    for setting in SETTINGS:
        named = setting.name if given.get(setting.name) else setting.env
        value = given.get(setting.name) or os.environ.get(setting.env)
        value = _absolute(setting.name, str(value)) if value else None
        recorded = config.get(setting.section, {}).get(setting.key)
        project = str(recorded) if recorded else base[setting.name]
        if value is None:
            chosen[setting.name] = project
        elif creating:
            chosen[setting.name] = value
            if not _same(setting.name, value, base[setting.name]):
                to_record[setting.name] = _without_password(value)
        elif _same(setting.name, value, project):
            # the caller's spelling may carry the password that fti.toml leaves out
            chosen[setting.name] = value if _has_password(value) else project
        else:
            where = (
                f"recorded in {home / CONFIG_FILE}"
                if recorded
                else f"the default; {home / CONFIG_FILE} records none"
            )
            raise ConfigurationError(
                redact(
                    f"{named}={value!r} contradicts the project in {home}, whose "
                    f"{setting.name.replace('_', ' ')} is {project!r} ({where}); give the "
                    f"project's own or none, or to move the project set [{setting.section}] "
                    f"{setting.key} in {home / CONFIG_FILE}"
                )
            )
    return Backends(**chosen, to_record=to_record)


def record(home: Path, settings: dict[str, str]) -> None:
    """Write a new project's settings to its fti.toml (never over an existing one)."""
    sections: dict[str, list[str]] = {}
    for setting in SETTINGS:
        if setting.name in settings:
            # a JSON string is a valid TOML basic string
            line = f"{setting.key} = {json.dumps(settings[setting.name])}"
            sections.setdefault(setting.section, []).append(line)
    text = "# The project's backends, recorded when it was created; every process uses them.\n"
    text += "\n".join(f"[{name}]\n" + "\n".join(lines) + "\n" for name, lines in sections.items())
    with open(home / CONFIG_FILE, "x") as out:
        out.write(text)
