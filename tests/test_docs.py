"""Every Python example in ``docs/`` runs as written (as a script, so UDF sources resolve)."""

from __future__ import annotations

import re
import runpy
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
BLOCKS = [
    pytest.param(block, id=f"{page.name}:{i}")
    for page in sorted(DOCS.glob("*.md"))
    for i, block in enumerate(re.findall(r"```python\n(.*?)```", page.read_text(), flags=re.S))
]


@pytest.mark.parametrize("block", BLOCKS)
def test_docs_example_runs(block: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    script = tmp_path / "example.py"
    script.write_text(block)
    runpy.run_path(str(script), run_name="__main__")


def test_every_row_of_the_hopsworks_mapping_names_a_test_that_exists() -> None:
    page = (DOCS / "coming-from-hopsworks.md").read_text()
    rows = [line for line in page.splitlines() if line.startswith("| ") and "---" not in line]
    assert len(rows) > 30 and rows[0].startswith("| Hopsworks |")
    for row in rows[1:]:
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert len(cells) == 4, row
        assert cells[2].split(":")[0] in {"same", "spelling", "different", "not applicable"}, row
        path, name = cells[3].strip("`").split("::")
        source = (DOCS.parent / path).read_text()
        assert f"def {name}(" in source, row
