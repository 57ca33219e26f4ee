"""Run the planted bugs of ``mutation/mutants.toml`` against the tests aimed at them.

The working tree (source, tests and their configuration) is copied once to a temporary
snapshot, so that edits made while the mutants run do not mix into them; the working tree is
only read. The tests then run on a copy of the unchanged snapshot: they must pass there, or a
kill means nothing, and the copy's ``fti`` must be the one imported. For each mutant: copy
the snapshot, replace the one snippet (refusing a snippet that does not occur exactly once),
run the mutant's tests there with the copy's ``src`` first on ``PYTHONPATH`` (Hypothesis does
not shrink: ``mutation/hypothesis_profile.py``), and record whether they failed (the mutant is
killed) or passed (it survived).

    .venv/bin/python mutation/run.py                 # every mutant
    .venv/bin/python mutation/run.py pit-inner-as-left describe-std-population
    .venv/bin/python mutation/run.py --list

Exits 0 when every mutant was killed, 1 when one survived or could not be run, 2 when the
list itself is wrong (a snippet not found exactly once, an unknown id).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MUTANTS = Path(__file__).resolve().with_name("mutants.toml")
# What a test run needs from the repository: the package, the tests and their configuration.
COPIED = ("src", "tests", "docs", "mutation", "pyproject.toml", "README.md")
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".hypothesis", ".pytest_cache")
# pytest's exit codes: 1 tests failed, 2 interrupted (e.g. an import error at collection)
KILLED_CODES = (1, 2)


class ListError(Exception):
    """The mutant list does not match the source: it must be fixed before anything runs."""


@dataclass(frozen=True)
class Mutant:
    id: str
    file: str
    original: str
    replacement: str
    tests: tuple[str, ...]
    bug: str


@dataclass(frozen=True)
class Outcome:
    mutant: Mutant
    result: str  # killed | survived | timeout | error
    seconds: float
    detail: str = ""


def load(path: Path = MUTANTS) -> list[Mutant]:
    with path.open("rb") as f:
        data = tomllib.load(f)
    mutants = []
    for entry in data["mutant"]:
        tests = entry["tests"]
        if not tests or not all(isinstance(t, str) and t for t in tests):
            raise ListError(f"{entry['id']}: tests must name at least one test path")
        mutants.append(
            Mutant(
                entry["id"],
                entry["file"],
                entry["original"],
                entry["replacement"],
                tuple(tests),
                entry["bug"],
            )
        )
    ids = [m.id for m in mutants]
    duplicated = sorted({i for i in ids if ids.count(i) > 1})
    if duplicated:
        raise ListError(f"mutant ids listed twice: {duplicated}")
    return mutants


def occurrences(mutant: Mutant, root: Path = ROOT) -> int:
    """How many times the mutant's snippet occurs in its file under ``root``."""
    path = root / mutant.file
    if not path.is_file():
        return 0
    return path.read_text(encoding="utf-8").count(mutant.original)


def check(mutants: Sequence[Mutant], root: Path = ROOT) -> None:
    """Every snippet occurs exactly once, and no replacement is a no-op."""
    problems = []
    for m in mutants:
        found = occurrences(m, root)
        if found != 1:
            problems.append(f"{m.id}: the original snippet occurs {found} times in {m.file}")
        if m.original == m.replacement:
            problems.append(f"{m.id}: the replacement is the original")
    if problems:
        raise ListError("\n".join(problems))


def copy_tree(destination: Path, root: Path = ROOT) -> None:
    """Copy what a test run needs from ``root`` into ``destination``."""
    for name in COPIED:
        source = root / name
        if source.is_dir():
            shutil.copytree(source, destination / name, ignore=IGNORED)
        elif source.is_file():
            shutil.copy2(source, destination / name)


def apply(mutant: Mutant, copy: Path) -> None:
    path = copy / mutant.file
    text = path.read_text(encoding="utf-8")
    if text.count(mutant.original) != 1:  # checked on the working tree; the copy must agree
        raise ListError(f"{mutant.id}: the snippet is not found exactly once in the copy")
    path.write_text(text.replace(mutant.original, mutant.replacement), encoding="utf-8")


def environment(copy: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(copy / "src"), env.get("PYTHONPATH", "")) if p
    )
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def pytest(
    copy: Path, tests: Sequence[str], timeout: float, extra: Sequence[str]
) -> tuple[int | None, str]:
    """Run the tests in the copy; the exit code (None on timeout) and the output's tail."""
    command = [sys.executable, "-m", "pytest", *tests, "-x", "-q", "-p", "no:cacheprovider"]
    command += ["-p", "mutation.hypothesis_profile"]
    try:
        done = subprocess.run(
            [*command, *extra],
            cwd=copy,
            env=environment(copy),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return None, ""
    output = (done.stdout + done.stderr).strip().splitlines()
    return done.returncode, "\n".join(output[-15:])


def imported_from(copy: Path) -> Path:
    """Where the interpreter the tests run in imports ``fti`` from, given the copy."""
    done = subprocess.run(
        [sys.executable, "-c", "import fti; print(fti.__file__)"],
        cwd=copy,
        env=environment(copy),
        capture_output=True,
        text=True,
        check=True,
    )
    return Path(done.stdout.strip()).resolve()


def run(mutant: Mutant, snapshot: Path, timeout: float, extra: Sequence[str]) -> Outcome:
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix=f"fti-mutant-{mutant.id}-") as tmp:
        copy = Path(tmp)
        copy_tree(copy, snapshot)
        apply(mutant, copy)
        code, tail = pytest(copy, mutant.tests, timeout, extra)
    seconds = time.perf_counter() - started
    if code is None:
        return Outcome(mutant, "timeout", seconds, f"no answer in {timeout:.0f} s")
    if code in KILLED_CODES:
        return Outcome(mutant, "killed", seconds, tail)
    if code == 0:
        return Outcome(mutant, "survived", seconds)
    return Outcome(mutant, "error", seconds, f"pytest exited {code}:\n{tail}")


def baseline(
    mutants: Sequence[Mutant], snapshot: Path, timeout: float, extra: Sequence[str]
) -> str | None:
    """Why the unchanged snapshot cannot be trusted (None: it can)."""
    with tempfile.TemporaryDirectory(prefix="fti-mutant-baseline-") as tmp:
        copy = Path(tmp)
        copy_tree(copy, snapshot)
        source = imported_from(copy)
        if not source.is_relative_to(copy.resolve()):
            return f"the tests would import fti from {source}, not from the copy"
        tests = list(dict.fromkeys(t for m in mutants for t in m.tests))
        code, tail = pytest(copy, tests, timeout, extra)
    if code != 0:
        return f"the targeted tests do not pass without a mutation (exit {code}):\n{tail}"
    return None


def table(outcomes: Sequence[Outcome]) -> str:
    width = max(len(o.mutant.id) for o in outcomes)
    lines = [f"{'mutant':<{width}}  {'result':<8}  {'seconds':>7}  file"]
    for o in outcomes:
        lines.append(f"{o.mutant.id:<{width}}  {o.result:<8}  {o.seconds:7.1f}  {o.mutant.file}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("ids", nargs="*", help="mutants to run (default: all)")
    parser.add_argument("--list", action="store_true", help="list the mutants and exit")
    parser.add_argument("--jobs", type=int, default=1, help="mutants run at once (default 1)")
    parser.add_argument(
        "--timeout", type=float, default=1200, help="seconds per test run (default 1200)"
    )
    parser.add_argument(
        "--no-baseline", action="store_true", help="skip the run on the unchanged snapshot"
    )
    parser.add_argument(
        "--show", action="store_true", help="print how pytest ended for killed mutants too"
    )
    parser.add_argument(
        "--pytest-arg",
        action="append",
        default=[],
        help="one more pytest argument (repeatable), e.g. --pytest-arg=--hypothesis-seed=1",
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="fti-mutant-snapshot-") as tmp:
        snapshot = Path(tmp)
        copy_tree(snapshot)
        try:
            mutants = load()
            if args.ids:
                unknown = [i for i in args.ids if i not in {m.id for m in mutants}]
                if unknown:
                    raise ListError(f"unknown mutant id(s): {unknown}")
                mutants = [m for m in mutants if m.id in args.ids]
            check(mutants, snapshot)
        except ListError as exc:
            print(f"mutation/mutants.toml: {exc}", file=sys.stderr)
            return 2
        if args.list:
            for m in mutants:
                print(f"{m.id}: {m.bug}\n    {m.file}; tests: {' '.join(m.tests)}")
            return 0
        if not args.no_baseline:
            print("baseline: the targeted tests on the unchanged snapshot ...", flush=True)
            problem = baseline(mutants, snapshot, args.timeout, args.pytest_arg)
            if problem is not None:
                print(f"baseline failed: {problem}", file=sys.stderr)
                return 1
        outcomes = []
        with ThreadPoolExecutor(max(1, args.jobs)) as pool:
            futures = [
                pool.submit(run, m, snapshot, args.timeout, args.pytest_arg) for m in mutants
            ]
            for future in futures:
                outcome = future.result()
                outcomes.append(outcome)
                print(
                    f"{outcome.mutant.id}: {outcome.result} ({outcome.seconds:.1f} s)", flush=True
                )
                if outcome.detail and (outcome.result != "killed" or args.show):
                    print(outcome.detail, flush=True)
    print()
    print(table(outcomes))
    # a timeout is a kill: the tests did not pass
    failed = [o for o in outcomes if o.result not in ("killed", "timeout")]
    print(f"\n{len(outcomes) - len(failed)} of {len(outcomes)} killed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
