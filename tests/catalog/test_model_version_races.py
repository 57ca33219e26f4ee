"""Racing registrations of one explicit model version: on every catalog database exactly one
wins and every other one gets :class:`fti.AlreadyExistsError`, whoever is first."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import fti
from fti.catalog import Catalog

RACERS = 6


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def catalog_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'catalog.sqlite'}"
    return str(request.getfixturevalue("postgres_url"))


def race(attempt: Callable[[int], Any]) -> list[Any]:
    """Run ``attempt(i)`` in RACERS threads released together; what each returned or raised."""
    start = threading.Barrier(RACERS)
    results: list[Any] = [None] * RACERS

    def run(i: int) -> None:
        start.wait()
        try:
            results[i] = attempt(i)
        except Exception as exc:
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(RACERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def one_winner(results: list[Any]) -> None:
    losers = [r for r in results if isinstance(r, Exception)]
    assert len(results) - len(losers) == 1, results
    assert {type(e) for e in losers} == {fti.AlreadyExistsError}, losers


FIELDS = {
    "flavor": "python",
    "description": "",
    "metrics": {},
    "tags": {},
    "input_example": None,
    "model_schema": None,
    "feature_view_id": None,
    "training_dataset_version": None,
    "environment": {},
    "code": {},
    "artifact_uri": "m/x",
    "manifest": {"files": {}, "saved": {"kind": "path"}},
}


@pytest.fixture
def catalog(catalog_url: str) -> Iterator[Catalog]:
    cat = Catalog(catalog_url)
    yield cat
    cat.close()


@pytest.mark.parametrize("model_exists", [False, True])
def test_one_explicit_version_racing_in_the_catalog(catalog: Catalog, model_exists: bool) -> None:
    if model_exists:  # the race is on the version only, not on creating the model too
        catalog.register_model_version("m", 1, FIELDS, "setup")
    results = race(lambda i: catalog.register_model_version("m", 2, FIELDS, f"racer {i}"))
    one_winner(results)
    assert [r.version for r in catalog.list_model_versions("m")] == [1, 2][-1 - model_exists :]


class Constant:
    def predict(self, x: Any) -> Any:
        return [0 for _ in x]


@pytest.fixture
def projects(catalog_url: str, tmp_path: Path) -> Iterator[list[fti.Project]]:
    """One project per racer on one catalog, as separate processes would have."""
    opened = [
        fti.connect(tmp_path / "home", catalog_url=catalog_url, online_store="sqlite")
        for _ in range(RACERS)
    ]
    yield opened
    for p in opened:
        p.close()


def test_one_explicit_version_racing_through_the_registry(projects: list[fti.Project]) -> None:
    """Half the racers start together; the other half once the winner's save returned, so
    they are refused by create_model's own check rather than by the catalog's constraint:
    the same error either way, on either catalog."""
    registries = [p.get_model_registry() for p in projects]
    saved = threading.Event()

    def register(i: int) -> int | None:
        if i % 2 and not saved.wait(120):
            raise TimeoutError("no racer saved the version")
        version = registries[i].python.create_model("m", version=3).save(Constant()).version
        saved.set()  # only the winner gets here
        return version

    one_winner(race(register))
    with pytest.raises(fti.AlreadyExistsError, match="version 3 already exists"):
        registries[0].python.create_model("m", version=3)
    assert [m.version for m in registries[0].get_models("m")] == [3]
    leftovers = [p for p in (projects[0].home / "models").rglob("*") if p.is_file()]
    assert len(leftovers) == 1  # the winner's file: a loser's upload is deleted
