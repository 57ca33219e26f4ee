"""What the CLI prints: its version, help pages without type noise, views' transformations,
and tables whose names are never cut, at 80 columns or piped."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
import typer
from typer.testing import CliRunner

import fti
from fti.cli import app
from tests.featurestore.helpers import cards, ts

runner = CliRunner()
LONG = "card_features_computed_for_the_fraud_model_of_the_payments_team"


def command_paths(command: Any, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    paths = [path]
    for name, sub in getattr(command, "commands", {}).items():
        paths += command_paths(sub, (*path, name))
    return paths


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output.strip() == f"fti {fti.__version__}"


def test_no_help_page_shows_python_types() -> None:
    paths = command_paths(typer.main.get_command(app))
    assert ("fg", "read") in paths and ("init",) in paths
    noise = re.compile(r"<(bool|int|float|str|path|list\[\w+\])>|\b(INTEGER|TEXT|BOOLEAN|FLOAT)\b")
    for path in paths:
        result = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "100"})
        assert result.exit_code == 0, (path, result.output)
        assert not noise.search(result.output), (path, result.output)
    out = runner.invoke(app, ["fg", "read", "--help"]).output
    assert "--as-of" in out and "COMMIT|TIME" in out


@fti.udf(float)
def amount_ratio(amount, avg_amount):  # type: ignore[no-untyped-def]
    return amount / avg_amount


@fti.udf(float)
def centred(spend, statistics):  # type: ignore[no-untyped-def]
    return spend - statistics.spend.mean


@pytest.fixture
def view_home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    with fti.connect(home) as project:
        fs = project.get_feature_store()
        card = fs.create_feature_group("cards", primary_key=["cc_num"], event_time="event_ts")
        card.insert(cards([1, 2], [0, 0], [1.5, 2.5]))
        tx = fs.create_feature_group(
            "tx",
            primary_key=["tx_id"],
            event_time="event_ts",
            transformation_functions=[amount_ratio],
        )
        tx.insert(
            pa.table(
                {
                    "tx_id": [1, 2],
                    "cc_num": [1, 2],
                    "event_ts": pa.array([ts(5), ts(6)], pa.timestamp("us", tz="UTC")),
                    "amount": [10.0, 4.0],
                    "avg_amount": [5.0, 4.0],
                    "is_fraud": [False, True],
                }
            )
        )
        fs.create_feature_view(
            "fraud",
            query=tx.select(["tx_id", "amount", "amount_ratio", "is_fraud"]).join(
                card.select(["spend"])
            ),
            labels=["is_fraud"],
            transformation_functions=[
                fti.builtins.standard_scaler("amount"),
                fti.builtins.log_transform("amount_ratio"),
                centred,
            ],
        )
    return home


def test_fv_show_lists_the_transformations(view_home: Path) -> None:
    result = runner.invoke(app, ["--home", str(view_home), "fv", "show", "fraud"])
    assert result.exit_code == 0, result.output
    rows = {
        cells[1].strip(): line
        for line in result.output.splitlines()
        if len(cells := line.split("│")) > 2
    }
    assert "Transformations" in result.output
    assert "model-dependent" in rows["standard_scaler"] and "yes" in rows["standard_scaler"]
    assert "amount_ratio" in rows["log_transform"] and "│ no" in rows["log_transform"]
    assert "spend" in rows["centred"] and "yes" in rows["centred"]  # reads training statistics
    ratio = rows["amount_ratio"]
    assert "on-demand" in ratio and "tx v1" in ratio and "amount, avg_amount" in ratio


def names_in_first_column(output: str) -> list[str]:
    """The first column of a printed table, a row's folded pieces joined: a row starts where
    the second cell (the version) is not empty."""
    names: list[str] = []
    for line in output.splitlines():
        cells = line.split("│")
        if len(cells) < 3:
            continue
        first, second = cells[1].strip(), cells[2].strip()
        if second:
            names.append(first)
        elif names:
            names[-1] += first
    return names


def cli(home: Path, *args: str, columns: str | None) -> str:
    """The real command, its output piped (not a terminal), as a user's script sees it."""
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    if columns:
        env["COLUMNS"] = columns
    done = subprocess.run(
        [str(Path(sys.executable).parent / "fti"), "--home", str(home), *args],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def test_list_tables_never_cut_names(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with fti.connect(home) as project:
        fs = project.get_feature_store()
        for suffix in ("one", "two"):
            fs.create_feature_group(
                f"{LONG}_{suffix}",
                primary_key=["cc_num", "merchant_id"],
                event_time="event_ts",
                description="aggregates of card spend over one, seven and thirty days " * 2,
            )
        mr = project.get_model_registry()
        (tmp_path / "art").mkdir()
        (tmp_path / "art" / "rules.json").write_text("{}")
        for suffix in ("one", "two"):
            mr.python.create_model(f"{LONG}_{suffix}", metrics={"auc": 0.9}).save(tmp_path / "art")
    expected = [f"{LONG}_one", f"{LONG}_two"]
    for columns in ("80", None):
        for group in ("fg", "model"):
            out = cli(home, group, "list", columns=columns)
            assert "…" not in out, out
            assert names_in_first_column(out) == expected, out
