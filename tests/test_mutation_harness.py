"""The planted-bug list of ``mutation/`` stays in step with the source (docs/testing.md).

The mutants are not run here (that takes minutes: ``mutation/run.py``); this only checks that
each one still applies: its snippet occurs exactly once in its file, so moving or rewriting
the code cannot leave the list silently planting nothing, and its tests exist.
"""

from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path

import pytest
from mutation import run as harness

ROOT = Path(__file__).resolve().parents[1]
# The bugs the suite was once blind to; they stay on the list.
REQUIRED = {
    "pit-nested-parent-time",
    "pit-inner-as-left",
    "parquet-files-ignore-version",
    "recreate-ignores-stored-seed",
    "online-ignores-max-feature-age",
    "vector-other-entity",
    "vector-looked-up-zero",
    "vector-passed-zero",
    "describe-mean-counts-nulls",
    "describe-std-population",
    "describe-quantile-exclusive",
}


def test_every_snippet_occurs_exactly_once_in_the_source() -> None:
    mutants = harness.load()
    harness.check(mutants)  # raises ListError naming every snippet that moved
    assert {m.id for m in mutants} >= REQUIRED
    assert all(m.file.startswith("src/fti/") for m in mutants)


def test_every_mutant_names_tests_that_exist() -> None:
    for mutant in harness.load():
        for test in mutant.tests:
            path, _, name = test.partition("::")
            assert (ROOT / path).is_file(), (mutant.id, test)
            if name:
                source = (ROOT / path).read_text(encoding="utf-8")
                assert re.search(rf"^def {re.escape(name)}\(", source, re.M), (mutant.id, test)


def test_a_snippet_found_twice_or_not_at_all_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "src" / "fti" / "m.py"
    target.parent.mkdir(parents=True)
    target.write_text("x = 1\nx = 1\ny = 2\n", encoding="utf-8")
    mutant = harness.Mutant("m", "src/fti/m.py", "y = 2", "y = 3", ("tests",), "a bug")
    harness.check([mutant], tmp_path)
    twice = dataclasses.replace(mutant, original="x = 1")
    gone = dataclasses.replace(mutant, id="gone", original="z = 3")
    with pytest.raises(harness.ListError, match=r"(?s)m: .* occurs 2 times.*gone: .* 0 times"):
        harness.check([twice, gone], tmp_path)
    with pytest.raises(harness.ListError, match="the replacement is the original"):
        harness.check([dataclasses.replace(mutant, replacement="y = 2")], tmp_path)


def test_a_mutant_changes_the_copy_only(tmp_path: Path) -> None:
    mutant = harness.load()[0]
    harness.copy_tree(tmp_path)
    harness.apply(mutant, tmp_path)
    mutated = (tmp_path / mutant.file).read_text(encoding="utf-8")
    assert mutant.replacement in mutated and mutant.original not in mutated
    assert harness.occurrences(mutant) == 1  # the working tree is as it was
    env = harness.environment(tmp_path)
    assert env["PYTHONPATH"].split(os.pathsep)[0] == str(tmp_path / "src")
