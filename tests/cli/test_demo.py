"""``fti demo``: the README's main job, at a small scale."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

import fti
from fti.cli import app


@pytest.mark.slow
def test_demo_runs_and_can_run_again(tmp_path: Path) -> None:
    runner = CliRunner()
    home = tmp_path / "home"
    for _ in range(2):  # a second run replaces the demo's feature groups
        result = runner.invoke(app, ["--home", str(home), "demo", "--scale", "0.02"])
        assert result.exit_code == 0, result.output
    out = result.output
    for text in (
        "card_features",
        "merchant_features",
        "transactions",
        "as of commit 0",
        "late correction",
        "online store",
    ):
        assert text in out, text
    with fti.connect(home) as project:
        fs = project.get_feature_store()
        cards = fs.get_feature_group("card_features")
        assert [c.commit_id for c in cards.commit_details()] == [0, 1]
        assert cards.read(dataframe_type="arrow").num_rows == 20_000
        assert cards.read(online=True, dataframe_type="arrow").num_rows == 2_000
        (report,) = [r for r in cards.validation_reports() if r.commit_id == 0]
        assert report.success
        transactions = fs.get_feature_group("transactions")
        assert not transactions.online_enabled
        assert transactions.read(dataframe_type="arrow").num_rows == 20_000
        assert len(fs.get_feature_groups()) == 3
