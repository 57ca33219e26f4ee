"""Code from the catalog and the server's allow-list: without one every deployment's UDFs and
predictor run as stored; with one, a deployment needing code whose sha256 is not on it fails
to start (503, not ready) naming the code and its hash, and the refused source never runs."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pyarrow as pa
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from typer.testing import CliRunner

import fti
from fti import trust
from fti.catalog import tables as t
from fti.cli import app
from fti.errors import ConfigurationError
from fti.serving import code
from fti.serving.server import create_app
from tests.featurestore.helpers import ts

UTC_US = pa.timestamp("us", tz="UTC")
INSTANCE = {"cc_num": 1, "amount": 3.0}


@fti.udf(float)
def doubled(spend):  # type: ignore[no-untyped-def]
    return spend * 2


@fti.udf(float)
def shifted(amount):  # type: ignore[no-untyped-def]
    return amount + 1.0


class Scored:
    def __init__(self, context):  # type: ignore[no-untyped-def]
        self.model = context.model

    def predict(self, inputs):  # type: ignore[no-untyped-def]
        return [float(p) for p in self.model.predict_proba(inputs.frame())[:, 1]]


@pytest.fixture
def project(project: fti.Project) -> fti.Project:
    """Deployment "scored": an on-demand UDF on the online group, a model-dependent UDF on the
    view and a custom predictor."""
    from sklearn.linear_model import LogisticRegression

    fs = project.get_feature_store()
    tx = fs.create_feature_group("tx", primary_key=["tx_id"], event_time="event_ts")
    card = fs.create_feature_group(
        "card",
        primary_key=["cc_num"],
        event_time="event_ts",
        online_enabled=True,
        transformation_functions=[doubled("spend")],
    )
    n = 40
    tx.insert(
        pa.table(
            {
                "tx_id": pa.array(range(n), pa.int64()),
                "cc_num": pa.array([i % 4 for i in range(n)], pa.int64()),
                "event_ts": pa.array([ts(100 + i) for i in range(n)], UTC_US),
                "amount": pa.array([float(i % 7) for i in range(n)]),
                "is_fraud": pa.array([i % 7 > 4 for i in range(n)]),
            }
        )
    )
    card.insert(
        pa.table(
            {
                "cc_num": pa.array(range(4), pa.int64()),
                "event_ts": pa.array([ts(0)] * 4, UTC_US),
                "spend": pa.array([1.0, 2.0, 3.0, 4.0]),
            }
        )
    )
    fv = fs.create_feature_view(
        "fraud",
        query=tx.select(["tx_id", "cc_num", "event_ts", "amount", "is_fraud"]).join(
            card.select_except(["event_ts"])
        ),
        labels=["is_fraud"],
        transformation_functions=[shifted("amount")],
    )
    x, y = fv.training_data()
    model = project.get_model_registry().sklearn.create_model("fraud", feature_view=fv)
    model.save(LogisticRegression().fit(x, y["is_fraud"]))
    model.deploy("scored", predictor=Scored)
    return project


def needed(project: fti.Project) -> list[trust.Code]:
    return code.needed(project.get_model_serving().get_deployment("scored"))


def trusting(hashes: object) -> trust.TrustedCode:
    return trust.TrustedCode(frozenset(hashes), "the test's list")  # type: ignore[arg-type]


def test_a_deployment_needs_its_udfs_and_its_predictor(project: fti.Project) -> None:
    pieces = {(c.kind, c.name) for c in needed(project)}
    assert pieces == {
        ("transformation", "doubled"),
        ("transformation", "shifted"),
        ("predictor", "Scored"),
    }


@pytest.mark.parametrize("listed", ["none", "all"])
def test_without_a_list_or_with_every_hash_it_serves(project: fti.Project, listed: str) -> None:
    trusted = None if listed == "none" else trusting(c.sha256 for c in needed(project))
    with TestClient(create_app(project, trusted_code=trusted)) as client:
        assert client.get("/v1/deployments").json()[0]["status"] == "running"
        response = client.post("/v1/deployments/scored/predict", json=INSTANCE)
        assert response.status_code == 200, response.text
        assert 0.0 <= response.json()["prediction"] <= 1.0


@pytest.mark.parametrize("missing", ["doubled", "shifted", "Scored"])
def test_a_hash_missing_from_the_list_fails_the_deployment(
    project: fti.Project, missing: str
) -> None:
    pieces = needed(project)
    refused = next(c for c in pieces if c.name == missing)
    trusted = trusting(c.sha256 for c in pieces if c is not refused)
    with TestClient(create_app(project, trusted_code=trusted)) as client:
        listed = client.get("/v1/deployments").json()[0]
        assert listed["status"] == "failed"
        assert "UntrustedCode" in listed["reason"]
        assert f"{refused.kind} {missing!r} sha256 {refused.sha256}" in listed["reason"]
        response = client.post("/v1/deployments/scored/predict", json=INSTANCE)
        assert response.status_code == 503
        assert refused.sha256 in response.json()["detail"]
        assert client.get("/v2/health/ready").json() == {"ready": False}


def tamper(project: fti.Project, marker: Path) -> str:
    """What a writer to the catalog can do: replace the stored source of ``doubled`` with code
    that writes ``marker`` when it is compiled, with the matching sha256. Returns that hash."""
    source = (
        "import pathlib\n"
        f"pathlib.Path({str(marker)!r}).write_text('ran')\n\n"
        "@udf(float)\n"
        "def doubled(spend):\n"
        "    return spend * 2\n"
    )
    sha256 = hashlib.sha256(source.encode()).hexdigest()
    tf = t.transformation_functions
    with project._catalog._writer.begin() as conn:
        conn.execute(sa.update(tf).where(tf.c.name == "doubled").values(source=source, hash=sha256))
    return sha256


def test_refused_source_is_never_run(project: fti.Project, tmp_path: Path) -> None:
    reviewed = trusting(c.sha256 for c in needed(project))
    marker = tmp_path / "marker"
    sha256 = tamper(project, marker)
    with fti.connect(project.home) as server:  # a fresh process: nothing compiled yet
        with TestClient(create_app(server, trusted_code=reviewed)) as client:
            reason = client.get("/v1/deployments").json()[0]["reason"]
            assert f"transformation 'doubled' sha256 {sha256}" in reason
        # the check where the source is compiled refuses it too, outside a deployment
        server.trusted_code = reviewed
        with pytest.raises(trust.UntrustedCode, match=sha256):
            _ = server.get_feature_store().get_feature_group("card").transformation_functions
    assert not marker.exists()
    with fti.connect(project.home) as unchecked:  # without a list the catalog's code runs
        unchecked.get_model_serving().get_deployment("scored").start().stop()
    assert marker.read_text() == "ran"


def test_the_list_is_read_from_a_file_the_environment_and_fti_toml(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.delenv(trust.ENV, raising=False)
    assert trust.configured(home) is None
    a, b, c = "a" * 64, "b" * 64, "c" * 64
    listed = tmp_path / "trusted.txt"
    listed.write_text(f"# reviewed\n{a}  # predictor Scored\n\n{b.upper()}\n")
    assert trust.configured(home, str(listed)).hashes == {a, b}  # type: ignore[union-attr]
    monkeypatch.setenv(trust.ENV, str(listed))
    (home / "fti.toml").write_text(f'[serve]\ntrusted_code = ["{c}"]\n')
    assert trust.configured(home).hashes == {a, b, c}  # type: ignore[union-attr]
    monkeypatch.delenv(trust.ENV)
    assert trust.configured(home).hashes == {c}  # type: ignore[union-attr]
    listed.write_text(f"{a}\nnot-a-hash\n")
    with pytest.raises(ConfigurationError, match="line 2: 'not-a-hash' is not a sha256"):
        trust.configured(home, str(listed))


def test_the_cli_lists_the_hashes_as_a_file_serve_accepts(
    project: fti.Project, tmp_path: Path
) -> None:
    runner = CliRunner()
    home = str(project.home)
    listed = runner.invoke(app, ["--home", home, "deployment", "code"], color=False)
    assert listed.exit_code == 0, listed.output
    assert "# predictor Scored (deployment scored)" in listed.output
    path = tmp_path / "trusted.txt"
    path.write_text(listed.output)
    trusted = trust.configured(project.home, str(path))
    assert trusted is not None
    assert trusted.hashes == {c.sha256 for c in needed(project)}
    path.write_text("nonsense\n")
    refused = runner.invoke(app, ["--home", home, "serve", "--trusted-code", str(path)])
    assert refused.exit_code != 0
    assert "is not a sha256" in refused.output
