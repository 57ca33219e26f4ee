"""What the benchmarks share: the machine and code a run used, the demo data's feature columns,
its newest rows, and a Feast feature repo over them.

The benchmarks are scripts run from the repository root (``python bench/ingest.py``): Python
puts ``bench/`` on ``sys.path``, so they import this module as ``_common``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import platform
import subprocess
import time
import warnings
from pathlib import Path
from typing import Any

CARD = ["spend_1d", "spend_7d", "tx_count_7d", "avg_amt_30d"]
MERCHANT = ["avg_daily_spend", "fraud_rate_30d"]
FEATURES = CARD + MERCHANT
FEAST_REFS = [f"card_features:{f}" for f in CARD] + [f"merchant_features:{f}" for f in MERCHANT]
REPO_ROOT = Path(__file__).resolve().parent.parent  # the repository


# -- the machine and the code ---------------------------------------------------------------------


def cpu() -> str:
    with contextlib.suppress(OSError):  # no /proc (not Linux): what platform knows
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def versions(names: list[str]) -> list[str]:
    """``name version`` of each installed distribution in ``names`` (the missing ones left out)."""
    from importlib.metadata import PackageNotFoundError, version

    out = []
    for name in names:
        with contextlib.suppress(PackageNotFoundError):
            out.append(f"{name} {version(name)}")
    return out


def commit() -> str:
    """The repository commit the run used (fti is installed editable), if known."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "src"], cwd=REPO_ROOT, capture_output=True, text=True
        ).stdout.strip()
    except OSError:
        return "unknown"
    return (head or "unknown") + (" + uncommitted changes under src/" if dirty else "")


def src_state() -> str:
    """What fti's code is now (fti is installed editable): a hash of ``git diff HEAD -- src``
    plus the tree of ``src`` at HEAD, so commits elsewhere (docs, bench) do not count."""
    import hashlib

    try:
        tree = subprocess.run(
            ["git", "rev-parse", "HEAD:src"], cwd=REPO_ROOT, capture_output=True, text=True
        ).stdout.strip()
        diff = subprocess.run(
            ["git", "diff", "HEAD", "--", "src"], cwd=REPO_ROOT, capture_output=True
        ).stdout
    except OSError:
        return "unknown"
    return tree + hashlib.sha256(diff).hexdigest()


# -- the data -------------------------------------------------------------------------------------


def newest(table: Any, key: str, columns: list[str]) -> dict[int, dict[str, Any]]:
    """The newest row per key (by event time), straight from the generated table (DuckDB)."""
    import duckdb

    con = duckdb.connect()
    con.register("t", table)
    rows = con.sql(
        f"SELECT {key}, {', '.join(columns)} FROM t "
        f"QUALIFY row_number() OVER (PARTITION BY {key} ORDER BY event_ts DESC) = 1"
    ).fetchall()
    con.close()
    return {row[0]: dict(zip(columns, row[1:], strict=True)) for row in rows}


# -- Feast ----------------------------------------------------------------------------------------

_FEAST_YAML = """\
project: {project}
registry: {repo}/data/registry.db
provider: local
online_store:
  type: sqlite
  path: {repo}/data/online.db
offline_store:
  type: {offline}
entity_key_serialization_version: 3
"""


def feast_yaml(repo: Path, offline: str = "file", project: str = "bench") -> str:
    """A feature repo's ``feature_store.yaml``: files in ``repo/data``, the sqlite online store."""
    return _FEAST_YAML.format(project=project, repo=repo, offline=offline)


def feast_online(
    work: Path, data: Any, cards: Any, project: str = "bench"
) -> tuple[Path, Any, float]:
    """A feature repo in ``work`` with two FileSource views (``cards`` and the generated
    merchant rows as Parquet), materialized into the sqlite online store: the repo, its store
    and the seconds ``materialize`` took."""
    import pyarrow.parquet as pq

    warnings.simplefilter("ignore")  # Feast and ibis deprecation chatter
    from feast import Entity, FeatureStore, FeatureView, Field, FileSource, ValueType
    from feast.types import Float64, Int64

    repo = work / "feature_repo"
    (repo / "data").mkdir(parents=True)
    (repo / "feature_store.yaml").write_text(feast_yaml(repo, project=project))
    card_path, merchant_path = repo / "data" / "cards.parquet", repo / "data" / "merchants.parquet"
    pq.write_table(cards, card_path)
    pq.write_table(data.merchant_features, merchant_path)
    card = Entity(name="card", join_keys=["cc_num"], value_type=ValueType.INT64)
    merchant = Entity(name="merchant", join_keys=["merchant_id"], value_type=ValueType.INT64)
    types = {"tx_count_7d": Int64}
    views = [
        FeatureView(
            name=name,
            entities=[entity],
            ttl=dt.timedelta(days=0),  # no expiry: every materialized value stays servable
            schema=[Field(name=f, dtype=types.get(f, Float64)) for f in features],
            source=FileSource(path=str(path), timestamp_field="event_ts"),
            online=True,
        )
        for name, entity, features, path in (
            ("card_features", card, CARD, card_path),
            ("merchant_features", merchant, MERCHANT, merchant_path),
        )
    ]
    store = FeatureStore(repo_path=str(repo))
    store.apply([card, merchant, *views])
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        store.materialize(
            data.window_start - dt.timedelta(seconds=1), data.window_end + dt.timedelta(seconds=1)
        )
        seconds = time.perf_counter() - start
    return repo, store, seconds
