"""The catalog's write locks exclude every other process using the catalog, on any home, and
a holder that is killed releases its lock."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Increments a counter file under the lock, reading and writing it in two steps with a yield
# of the processor between them: without mutual exclusion, increments are lost.
COUNTER = textwrap.dedent(
    """
    import os, sys, time
    from fti.catalog import Catalog
    url, counter, times = sys.argv[1], sys.argv[2], int(sys.argv[3])
    catalog = Catalog(url)
    for _ in range(times):
        with catalog.locks.hold("cards_v1"):
            value = int(open(counter).read())
            os.sched_yield()
            time.sleep(0)
            with open(counter, "w") as out:
                out.write(str(value + 1))
    catalog.close()
    """
)

# Takes the lock, says so, and holds it until killed.
HOLDER = textwrap.dedent(
    """
    import sys, threading
    from fti.catalog import Catalog
    catalog = Catalog(sys.argv[1])
    with catalog.locks.hold("cards_v1"):
        print("held", flush=True)
        threading.Event().wait()
    """
)

# Takes the lock and says so.
TAKER = textwrap.dedent(
    """
    import sys
    from fti.catalog import Catalog
    catalog = Catalog(sys.argv[1])
    with catalog.locks.hold("cards_v1"):
        print("taken", flush=True)
    catalog.close()
    """
)


@pytest.fixture(params=["sqlite", "postgresql"])
def catalog_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        # one catalog file, opened from processes whose homes differ
        yield f"sqlite:///{tmp_path / 'shared' / 'catalog.sqlite'}"
    else:
        yield request.getfixturevalue("postgres_url")


def _run(script: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", script, *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_holders_exclude_each_other(catalog_url: str, tmp_path: Path) -> None:
    counter = tmp_path / "counter"
    counter.write_text("0")
    _run(TAKER, catalog_url).communicate(timeout=60)  # creates the catalog once
    procs = [_run(COUNTER, catalog_url, str(counter), "40") for _ in range(3)]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    assert counter.read_text() == "120"


def test_a_killed_holder_releases_the_lock(catalog_url: str) -> None:
    holder = _run(HOLDER, catalog_url)
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline() == "held\n"
        holder.kill()
        holder.wait()
        taken, err = _run(TAKER, catalog_url).communicate(timeout=60)
        assert taken == "taken\n", err
    finally:
        holder.kill()
        holder.communicate()
