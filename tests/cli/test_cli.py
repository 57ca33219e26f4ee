"""The CLI is a thin layer: each command prints what the library returns, errors are one line."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

import fti
from fti.cli import app
from tests.featurestore.helpers import cards

runner = CliRunner()


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    with fti.connect(path) as project:
        fg = project.get_feature_store().create_feature_group(
            "cards",
            primary_key=["cc_num"],
            event_time="event_ts",
            online_enabled=True,
            description="card spend",
            expectation_suite=fti.ExpectationSuite(
                name="checks", expectations=[fti.expect.not_null("spend")], policy="warn"
            ),
        )
        fg.insert(cards([1, 2], [0, 0], [1.5, 2.5]))
        fg.insert(cards([1], [0], [9.5]))
    return path


def invoke(home: Path, *args: str) -> str:
    result = runner.invoke(app, ["--home", str(home), *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_fg_list(home: Path) -> None:
    out = invoke(home, "fg", "list")
    assert "cards" in out and "cc_num" in out and "card spend" in out


def test_fg_show(home: Path) -> None:
    out = invoke(home, "fg", "show", "cards")
    for text in (
        "Schema",
        "primary key",
        "event time",
        "Commits",
        "MERGE",
        "checks",
        "not_null",
        "passed",
    ):
        assert text in out, text
    # the statistics say which rows they describe: the last commit's, not the table's
    assert "Statistics of commit 1 (the last commit)" in out
    assert "They describe the 1 row commit 1 wrote, not the whole table" in out
    whole = invoke(home, "fg", "show", "cards", "--whole-table")
    assert "Statistics of the whole table as of commit 1" in whole
    assert "They describe" not in whole


def test_fg_sync_rebuilds_the_online_rows(home: Path) -> None:
    assert "up to date" in invoke(home, "fg", "sync", "cards")
    assert "wrote 2 keys" in invoke(home, "fg", "sync", "cards", "--full")
    assert "9.5" in invoke(home, "fg", "read", "cards", "--online")


def test_fg_read_latest_as_of_and_online(home: Path) -> None:
    assert "9.5" in invoke(home, "fg", "read", "cards")
    old = invoke(home, "fg", "read", "cards", "--as-of", "0")
    assert "1.5" in old and "9.5" not in old
    assert "9.5" in invoke(home, "fg", "read", "cards", "--online")
    assert "1 of 2 rows" in invoke(home, "fg", "read", "cards", "--limit", "1")


def test_errors_are_one_clear_line(home: Path) -> None:
    result = runner.invoke(app, ["--home", str(home), "fg", "show", "nope"])
    assert result.exit_code == 1
    assert "feature group 'nope' does not exist" in result.output
    assert "Traceback" not in result.output
    result = runner.invoke(
        app, ["--home", str(home), "fg", "read", "cards", "--as-of", "yesterday"]
    )
    assert result.exit_code == 2 and "neither a commit id nor an ISO time" in result.output
    result = runner.invoke(app, ["--home", str(home), "fg", "read", "cards", "--as-of", "99"])
    assert result.exit_code == 1 and "no commit at 99" in result.output


def test_help_explains(home: Path) -> None:
    out = runner.invoke(app, ["--help"]).output
    assert "demo" in out and "fg" in out
    assert "--as-of" in runner.invoke(app, ["fg", "read", "--help"]).output


def test_serve_on_a_port_in_use_is_one_clear_line(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket

    monkeypatch.setenv("FTI_HOME", str(home))  # serve sets it for its workers: restored after
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = runner.invoke(
            app,
            ["--home", str(home), "serve", "--port", str(port), "--workers", "2", "--allow-empty"],
        )
    assert result.exit_code == 1
    assert f"error: cannot listen on 127.0.0.1:{port}: Address already in use" in result.output
    assert "Traceback" not in result.output


def test_as_of_errors_print_the_time_in_iso_format(home: Path) -> None:
    result = runner.invoke(
        app, ["--home", str(home), "fg", "read", "cards", "--as-of", "2000-01-01T12:00"]
    )
    assert result.exit_code == 1
    assert "no commit at 2000-01-01T12:00:00+00:00" in result.output
    assert "datetime.datetime" not in result.output


def test_a_long_error_stays_one_line_and_is_printed_as_written(home: Path) -> None:
    name = "[bold]" + "x" * 120
    result = runner.invoke(app, ["--home", str(home), "fg", "show", name])
    assert result.exit_code == 1
    assert result.output.count("\n") == 1 and f"'{name}'" in result.output


def test_an_unreachable_catalog_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "fti.toml").write_text('[catalog]\nurl = "postgresql://fti@127.0.0.1:1/nope"\n')
    result = runner.invoke(app, ["--home", str(tmp_path), "fg", "list"])
    assert result.exit_code == 1
    assert result.output.startswith("error: ") and result.output.count("\n") == 1
    assert "127.0.0.1" in result.output and "Traceback" not in result.output
