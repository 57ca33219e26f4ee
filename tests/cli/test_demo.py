"""``fti demo``: the README's main job, at a small scale, in a project of its own that never
replaces a user's work."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

import fti
from fti.cli import app
from fti.demo import ownership
from tests.featurestore.helpers import cards

runner = CliRunner()


def tree(path: Path) -> list[str]:
    return sorted(str(p.relative_to(path)) for p in path.rglob("*"))


@pytest.mark.slow
def test_demo_runs_in_its_own_home_and_can_run_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FTI_HOME", raising=False)
    home = tmp_path / "fti_demo"
    for _ in range(2):  # a second run replaces what the first created
        result = runner.invoke(app, ["demo", "--scale", "0.02"])
        assert result.exit_code == 0, result.output
    out = result.output
    assert out.startswith(f"fti demo in {home}\n")
    assert not (tmp_path / "fti_home").exists()  # the default project is left alone
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
        f"fti --home {home} serve\n",
    ):
        assert text in out, text
    with fti.connect(home) as project:
        fs = project.get_feature_store()
        cards_fg = fs.get_feature_group("card_features")
        assert [c.commit_id for c in cards_fg.commit_details()] == [0, 1]
        assert cards_fg.read(dataframe_type="arrow").num_rows == 20_000
        assert cards_fg.read(online=True, dataframe_type="arrow").num_rows == 2_000
        (report,) = [r for r in cards_fg.validation_reports() if r.commit_id == 0]
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
        assert ownership.named(project) and not ownership.foreign(project)
        _the_printed_curl_command_works(project, out)


def _the_printed_curl_command_works(project: fti.Project, out: str) -> None:
    from fti.serving.server import create_app
    from fti.serving.workers import in_thread

    (url, body) = re.findall(
        r"curl -s -X POST (\S+) -H 'Content-Type: application/json' -d '(.+)'", out
    )[0]
    assert url.startswith("http://127.0.0.1:8000/v1/deployments/cc_fraud/predict")
    with in_thread(create_app(project)) as served:
        answer = httpx.post(
            url.replace("http://127.0.0.1:8000", served),
            content=body,
            headers={"Content-Type": "application/json"},
        )
    assert answer.status_code == 200, answer.text
    assert "prediction" in answer.json()


def _users_project(home: Path) -> None:
    """The README's first steps: the user's own card_features in the same names."""
    with fti.connect(home) as project:
        fg = project.get_feature_store().create_feature_group(
            "card_features", primary_key=["cc_num"], event_time="event_ts", description="mine"
        )
        fg.insert(cards([1, 2], [0, 0], [1.5, 2.5]))


@pytest.mark.slow
def test_demo_refuses_a_users_objects_and_replaces_them_only_with_reset(tmp_path: Path) -> None:
    home = tmp_path / "home"
    _users_project(home)
    before = tree(home)
    result = runner.invoke(app, ["--home", str(home), "demo", "--scale", "0.01"])
    assert result.exit_code == 1
    assert "feature group card_features v1" in result.output and "--reset" in result.output
    assert "Traceback" not in result.output
    assert tree(home) == before  # nothing written: no data, no record of the demo's
    with fti.connect(home) as project:
        (fg,) = project.get_feature_store().get_feature_groups()
        assert fg.description == "mine" and len(fg.commit_details()) == 1

    result = runner.invoke(app, ["--home", str(home), "demo", "--scale", "0.01", "--reset"])
    assert result.exit_code == 0, result.output
    with fti.connect(home) as project:
        fg = project.get_feature_store().get_feature_group("card_features")
        assert fg.description != "mine"
    # the commands that inspect what the demo made
    out = runner.invoke(app, ["--home", str(home), "fv", "list"]).output
    assert "cc_fraud" in out and "is_fraud" in out
    out = runner.invoke(app, ["--home", str(home), "fv", "show", "cc_fraud"]).output
    assert "ASOF LEFT JOIN" in out and "point_in_time" in out and "label" in out
    assert "standard_scaler" in out and "min_max_scaler" in out
    out = runner.invoke(app, ["--home", str(home), "td", "show", "cc_fraud", "1"]).output
    assert "transactions:1" in out and "Statistics of the train split" in out
    result = runner.invoke(app, ["--home", str(home), "td", "show", "cc_fraud", "9"])
    assert result.exit_code == 1 and "version 9 does not exist" in result.output


def test_an_object_a_user_remade_under_a_demo_name_is_not_the_demos(tmp_path: Path) -> None:
    home = tmp_path / "home"
    _users_project(home)
    with fti.connect(home) as project:
        ownership.remember(project)  # as if the demo had made it
        ownership.clear(project)  # the demo's own: replaced without asking
        assert project.get_feature_store().get_feature_groups() == []
    _users_project(home)  # the user's again, perhaps with the same catalog id
    with fti.connect(home) as project:
        with pytest.raises(fti.AlreadyExistsError, match="card_features v1"):
            ownership.clear(project)
        assert len(project.get_feature_store().get_feature_groups()) == 1


def test_nothing_a_user_built_on_the_demos_objects_is_broken_even_with_reset(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    _users_project(home)
    with fti.connect(home) as project:
        fs = project.get_feature_store()
        ownership.remember(project)
        fs.create_feature_view("mine", query=fs.get_feature_group("card_features").select_all())
        with pytest.raises(fti.FtiError, match="feature view mine v1"):
            ownership.clear(project, reset=True)
        assert len(fs.get_feature_groups()) == 1 and len(fs.get_feature_views()) == 1


def test_demo_help_says_what_it_runs_and_where() -> None:
    raw = runner.invoke(app, ["demo", "--help"], env={"COLUMNS": "100"}).output
    # paragraphs flow to the terminal's width, not the docstring's line breaks
    assert "validation; then a late correction and time travel)" in raw
    out = " ".join(raw.split())
    for text in (
        "feature pipeline",
        "training pipeline",
        "batch inference",
        "served over HTTP",
        "logged",
        "./fti_demo",
        "about a minute",
        "replaces what it created before",
        "--reset",
    ):
        assert text in out, text
