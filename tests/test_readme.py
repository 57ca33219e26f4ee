"""The README's Python example runs as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (block,) = python_blocks()
    namespace: dict[str, object] = {}
    exec(compile(block, str(README), "exec"), namespace)
    fg = namespace["fg"]
    latest = fg.read().sort_values("cc_num")  # type: ignore[attr-defined]
    assert latest["spend_7d"].tolist() == [13.0, 80.0]
    first = fg.read(as_of=0).sort_values("cc_num")  # type: ignore[attr-defined]
    assert first["spend_7d"].tolist() == [12.5, 80.0]
    assert (tmp_path / "fti_home" / "catalog.sqlite").exists()
    x, y = namespace["X"], namespace["y"]
    assert list(x.columns) == ["amount", "spend_7d"]  # type: ignore[attr-defined]
    assert x["amount"].tolist() == [1.0, -1.0]  # type: ignore[index]  # 40 and 9.5, scaled
    scaled = (25.0 - (40.0 + 9.5) / 2) / ((40.0 - 9.5) / 2)
    assert namespace["vector"] == [scaled, 13.0]
    assert x["spend_7d"].tolist() == [13.0, 80.0]  # type: ignore[index]
    assert y["is_fraud"].tolist() == [False, True]  # type: ignore[index]
    assert namespace["X_again"].equals(x)  # type: ignore[attr-defined]
    model = namespace["model"]
    assert model.version == 1 and model.metrics["accuracy"] == 1.0  # type: ignore[attr-defined]
    assert model.lineage()["feature_groups"] == [  # type: ignore[attr-defined]
        {"name": "card_features", "version": 1, "commit": 1},
        {"name": "transactions", "version": 1, "commit": 0},
    ]
    assert list(namespace["loaded"].predict(x)) == [False, True]  # type: ignore[attr-defined]
    namespace["project"].close()  # type: ignore[attr-defined]
