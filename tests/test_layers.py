"""The package's structure holds (DESIGN.md §8, docs/architecture.md): dependencies point down,
and no object reaches into another's private state.

The first is import-linter's layers contract in ``pyproject.toml``. The second is read off the
syntax tree of every module: an underscore name (``x._name``) is private to the package that
defines it, so code may use one only on ``self``/``cls``, on a module, or on a plain name bound
to an object of its own package; never through another private attribute (``self._fs._catalog``
reaches through the feature store into its catalog), never to set another object's state,
and never across packages. What the rule cannot tell from syntax is listed below with why."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "fti"

# (module, attribute): underscore names that are public where they come from
ALLOWED = {
    # SQLAlchemy's Row mapping and namedtuple's _replace are their documented public API
    ("catalog/catalog.py", "_mapping"),
    ("catalog/deployments.py", "_mapping"),
    ("catalog/models.py", "_mapping"),
    ("catalog/views.py", "_mapping"),
    ("online/__init__.py", "_replace"),
    ("online/redis.py", "_replace"),
    # prometheus-client has no bulk observe: ServingMetrics adds a histogram's sums and bucket
    # counts itself (test_prometheus_histogram_internals_the_metrics_use checks they exist)
    ("serving/metrics.py", "_sum"),
    ("serving/metrics.py", "_buckets"),
}


def test_dependencies_point_down() -> None:
    lint_imports = Path(sys.executable).with_name("lint-imports")  # import-linter's command
    done = subprocess.run(
        [str(lint_imports), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 kept, 0 broken" in done.stdout


def _package(root: Path, path: Path) -> str:
    parts = path.relative_to(root).parts
    return "" if len(parts) == 1 else parts[0]


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _through_private(node: ast.expr) -> bool:
    while isinstance(node, ast.Attribute):
        if _private(node.attr):
            return True
        node = node.value
    return False


def _defined(root: Path, trees: dict[Path, ast.Module]) -> dict[str, set[str]]:
    """Per package, the private names its modules define (functions, classes, attributes)."""
    out: dict[str, set[str]] = {}
    for path, tree in trees.items():
        names = out.setdefault(_package(root, path), set())
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                names.add(node.name)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                names.add(node.attr)
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                names.add(node.target.id)
    return out


def _imported(tree: ast.Module) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            names |= {a.asname or a.name for a in node.names}
    return names


def reach_throughs(root: Path) -> Iterator[tuple[str, str, str]]:
    """Every use of a private name that the rule (above) refuses, in the package at ``root``."""
    trees = {p: ast.parse(p.read_text(), str(p)) for p in root.rglob("*.py")}
    defined = _defined(root, trees)
    for path, tree in sorted(trees.items()):
        module = str(path.relative_to(root))
        imported = _imported(tree)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Attribute) or not _private(node.attr):
                continue
            owner = node.value
            if isinstance(owner, ast.Name) and (
                owner.id in ("self", "cls") or owner.id in imported
            ):
                continue
            if (module, node.attr) in ALLOWED:
                continue
            if isinstance(node.ctx, ast.Store):
                why = "sets another object's private attribute"
            elif _through_private(owner):
                why = "reaches through a private attribute"
            elif node.attr not in defined[_package(root, path)]:
                why = "uses a private name of another package"
            else:
                continue
            yield f"{module}:{node.lineno}", ast.unparse(node), why


def test_no_object_reaches_into_another() -> None:
    found = [f"{where}: {expression} {why}" for where, expression, why in reach_throughs(PACKAGE)]
    assert not found, "\n".join(found)


@pytest.mark.parametrize(
    ("source", "refused"),
    [
        ("self._fs._catalog.get()", "reaches through a private attribute"),
        ("fg._keys = True", "sets another object's private attribute"),
        ("model._saved()", "uses a private name of another package"),
        ("self._own.public()", None),
        ("fg._local()", None),  # a name its own package defines
        ("os._exit(1)", None),  # a module's
    ],
)
def test_the_rule_tells_reach_through_apart(
    tmp_path: Path, source: str, refused: str | None
) -> None:
    """The check itself, on package ``a`` that defines ``_local`` and ``_own``."""
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "defs.py").write_text("def _local(): ...\nclass K:\n    _own = 1\n")
    (tmp_path / "a" / "use.py").write_text(f"import os\n{source}\n")
    found = [why for _, _, why in reach_throughs(tmp_path)]
    assert found == ([] if refused is None else [refused])


def test_prometheus_histogram_internals_the_metrics_use() -> None:
    from prometheus_client import CollectorRegistry, Histogram

    child = Histogram("h", "h", ["l"], registry=CollectorRegistry()).labels("x")
    assert hasattr(child, "_sum") and hasattr(child, "_buckets")
    assert all(hasattr(b, "inc") for b in child._buckets)
