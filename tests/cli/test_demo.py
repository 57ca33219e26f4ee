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
        "training dataset version 1",
        "bit-identical",
        "Online feature vector",
        "m_fraud_rate_30d",
        "Model cc_fraud v1 (XGBoost, alias production)",
        "Batch inference",
        "Online inference over HTTP",
        "Inference log: 5 rows",
        "Prometheus metrics at /metrics: 5 requests",
        "feature_lookup",
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
        assert len(fs.get_feature_groups()) == 5  # + predictions and the inference log
        predictions = fs.get_feature_group("cc_fraud_predictions").read(dataframe_type="arrow")
        assert predictions.num_rows > 0
        assert set(predictions.column("model_version").to_pylist()) == {1}
        mr = project.get_model_registry()
        assert [m.version for m in mr.get_models("cc_fraud")] == [1]
        assert mr.get_model("cc_fraud", alias="production").metrics["auc"] > 0.5
        views = fs.get_feature_views()
        assert [(v.name, v.version) for v in views] == [("cc_fraud", 1)]
        assert [td.version for td in views[0].get_training_datasets()] == [1]


def test_fv_and_td_commands_after_the_demo(tmp_path: Path) -> None:
    runner = CliRunner()
    home = str(tmp_path / "home")
    assert runner.invoke(app, ["--home", home, "demo", "--scale", "0.01"]).exit_code == 0
    out = runner.invoke(app, ["--home", home, "fv", "list"]).output
    assert "cc_fraud" in out and "is_fraud" in out
    out = runner.invoke(app, ["--home", home, "fv", "show", "cc_fraud"]).output
    assert "ASOF LEFT JOIN" in out and "point_in_time" in out and "label" in out
    out = runner.invoke(app, ["--home", home, "td", "show", "cc_fraud", "1"]).output
    assert "transactions:1" in out and "Statistics of the train split" in out
    result = runner.invoke(app, ["--home", home, "td", "show", "cc_fraud", "9"])
    assert result.exit_code == 1 and "version 9 does not exist" in result.output
