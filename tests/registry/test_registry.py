"""The model registry: flavors, versions, aliases, integrity, lineage and bad input."""

from __future__ import annotations

import multiprocessing
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import fti
from fti.registry.artifacts import check_name
from tests.registry.conftest import build_view


class Threshold:
    """A plain Python model: anything with ``predict``."""

    def __init__(self, cut: float) -> None:
        self.cut = cut

    def predict(self, x: Any) -> Any:
        return (np.asarray(x)[:, 0] > self.cut).astype(int)


def trained(project: fti.Project) -> tuple[fti.FeatureView, Any, Any, Any]:
    from sklearn.linear_model import LogisticRegression

    fv = build_view(project.get_feature_store())
    x_train, x_test, y_train, _ = fv.train_test_split(test_size=0.25, seed=3)
    model = LogisticRegression().fit(x_train, y_train["is_fraud"])
    return fv, model, x_train, x_test


def test_sklearn_version_with_lineage_schema_and_feature_view(project: fti.Project) -> None:
    fv, clf, x_train, x_test = trained(project)
    mr = project.get_model_registry()
    model = mr.sklearn.create_model(
        "fraud_lr",
        metrics={"auc": 0.9, "f1": 0.5},
        description="logistic regression",
        feature_view=fv,
        input_example=x_train.head(3),
    )
    assert model.version is None and not model.saved
    model.save(clf)
    assert model.version == 1 and model.training_dataset_version == 1
    assert model.model_schema == {
        "inputs": [
            {"name": "amount", "type": "double", "description": ""},
            {"name": "spend", "type": "double", "description": "Spend of the card so far"},
        ],
        "outputs": [{"name": "is_fraud", "type": "bool"}],
    }
    assert model.input_example[0].keys() == {"amount", "spend"}
    assert model.environment["packages"]["scikit-learn"]
    again = mr.get_model("fraud_lr", version=1)
    np.testing.assert_array_equal(again.load().predict(x_test), clf.predict(x_test))
    lineage = again.lineage()
    assert lineage["feature_view"] == {"name": "fraud", "version": 1}
    assert lineage["training_dataset"]["version"] == 1
    assert lineage["feature_groups"] == [
        {"name": "card", "version": 1, "commit": 0},
        {"name": "tx", "version": 1, "commit": 0},
    ]
    assert "git_commit" in lineage["code"]
    served = again.get_feature_view()
    vector = served.get_feature_vector(
        {"cc_num": 2}, passed_features={"amount": 5.0}, return_type="pandas"
    )
    assert again.load().predict(vector[served.feature_names]).shape == (1,)
    card = again.card()
    assert "# Model card: fraud_lr v1" in card and "**auc**: 0.9" in card
    assert "feature view **fraud** v1" in card and "`amount` (double)" in card
    assert "`spend` (double): Spend of the card so far" in card


def test_framework_flavors_round_trip(project: fti.Project, tmp_path: Path) -> None:
    import lightgbm
    import onnx
    import xgboost
    from onnx import TensorProto, helper

    x = np.random.default_rng(1).normal(size=(80, 3))
    y = (x[:, 0] + x[:, 1] > 0).astype(int)
    mr = project.get_model_registry()
    xgb = xgboost.XGBClassifier(n_estimators=5, max_depth=2).fit(x, y)
    saved = mr.xgboost.create_model("xgb", metrics={"acc": 1.0}).save(xgb)
    np.testing.assert_array_equal(saved.load().predict(x), xgb.predict(x))
    lgb = lightgbm.LGBMClassifier(n_estimators=5, verbose=-1).fit(x, y)
    saved = mr.lightgbm.create_model("lgb").save(lgb)
    np.testing.assert_allclose(saved.load().predict(x), lgb.predict_proba(x)[:, 1])
    graph = helper.make_graph(
        [helper.make_node("Add", ["a", "b"], ["c"])],
        "add",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, [1]) for n in ("a", "b")],
        [helper.make_tensor_value_info("c", TensorProto.FLOAT, [1])],
    )
    proto = helper.make_model(graph)
    loaded = mr.onnx.create_model("adder").save(proto).load()
    assert isinstance(loaded, onnx.ModelProto) and loaded.graph.node[0].op_type == "Add"
    python = mr.python.create_model("rule").save(Threshold(0.0))
    np.testing.assert_array_equal(python.load().predict(x), (x[:, 0] > 0).astype(int))
    # a directory saved as is, and read back as a directory
    (tmp_path / "art" / "sub").mkdir(parents=True)
    (tmp_path / "art" / "weights.bin").write_bytes(b"\x00\x01")
    (tmp_path / "art" / "sub" / "config.json").write_text("{}")
    directory = mr.python.create_model("files").save(tmp_path / "art").load()
    assert (directory / "sub" / "config.json").read_text() == "{}"


def test_versions_best_aliases_history_and_approval(project: fti.Project) -> None:
    mr = project.get_model_registry()
    for auc in (0.7, 0.9, 0.8):
        mr.python.create_model("m", metrics={"auc": auc, "loss": 1 - auc}).save(Threshold(auc))
    assert [m.version for m in mr.get_models("m")] == [1, 2, 3]
    assert mr.get_best_model("m", "auc", "max").version == 2
    assert mr.get_best_model("m", "loss", "min").version == 2
    assert mr.get_model("m").version == 3  # latest
    with pytest.raises(fti.AlreadyExistsError, match="version 2 already exists"):
        mr.python.create_model("m", version=2)
    assert mr.python.create_model("m", version=7).save(Threshold(0)).version == 7
    mr.get_model("m", version=1).set_alias("staging")
    mr.set_alias("m", 2, "production")
    mr.set_alias("m", 3, "production")
    assert mr.get_model("m", alias="production").version == 3
    assert mr.get_model("m", version=3).aliases == ["production"]
    moves = mr.alias_history("m", "production")
    assert [(h.from_version, h.to_version) for h in moves] == [(None, 2), (2, 3)]
    mr.require_approval = ["production"]
    with pytest.raises(fti.FtiError, match="needs an approver"):
        mr.set_alias("m", 1, "production")
    mr.set_alias("m", 1, "production", approved_by="alice")
    assert mr.alias_history("m", "production")[-1].approved_by == "alice"
    with pytest.raises(fti.ModelNotFound, match="no alias 'canary'"):
        mr.get_model("m", alias="canary")
    with pytest.raises(fti.FtiError, match="aliased as"):
        mr.get_model("m", version=1).delete()
    victim = mr.get_model("m", version=7)
    files = mr._context.store.path(victim.record.artifact_uri)  # type: ignore[attr-defined, union-attr]
    assert files.is_dir()
    victim.delete()
    assert not files.exists()
    assert [m.version for m in mr.get_models("m")] == [1, 2, 3]
    with pytest.raises(fti.ModelNotFound, match="does not exist"):
        mr.get_model("nope")


def test_tampered_or_truncated_artifacts_are_refused(project: fti.Project) -> None:
    mr = project.get_model_registry()
    model = mr.python.create_model("rule").save(Threshold(0.5))
    stored = mr._context.store.path(model.record.artifact_uri) / "model.pkl"  # type: ignore[attr-defined, union-attr]
    original = stored.read_bytes()
    stored.write_bytes(original[:-1] + bytes([original[-1] ^ 1]))  # same size, one bit
    with pytest.raises(fti.ArtifactIntegrityError, match="sha256"):
        model.load()
    stored.write_bytes(original[:10])
    with pytest.raises(fti.ArtifactIntegrityError, match="bytes, recorded"):
        model.download()
    stored.unlink()
    with pytest.raises(fti.ArtifactIntegrityError, match="missing"):
        model.download()
    stored.write_bytes(original)
    assert model.load().cut == 0.5


def test_a_tampered_manifest_cannot_write_or_read_outside_the_download(
    project: fti.Project, tmp_path: Path
) -> None:
    """A manifest read back from the catalog may have been edited: its names are checked
    before anything is written, and the file ``load`` opens must be one of them."""
    mr = project.get_model_registry()
    model = mr.python.create_model("rule").save(Threshold(0.5))
    record = model.record
    assert record is not None
    entry = record.manifest["files"]["model.pkl"]
    location = record.artifact_uri.rsplit("/", 1)[1]
    # Reaches the real file through "..", so a store that followed it would find the file
    # and write it one level above the destination.
    escaping = f"../{location}/model.pkl"
    catalog = project._catalog
    catalog.update_model_version(
        record.id, {"manifest": {**record.manifest, "files": {escaping: entry}}}
    )
    tampered = mr.get_model("rule", 1)
    out = tmp_path / "dl" / "out"
    with pytest.raises(fti.ArtifactIntegrityError, match=re.escape(repr(escaping))):
        tampered.download(out)
    assert not (tmp_path / "dl").exists()
    with pytest.raises(fti.ArtifactIntegrityError, match=re.escape(repr(escaping))):
        tampered.load()

    outside = tmp_path / "evil.pkl"
    outside.write_bytes(b"not a model")
    catalog.update_model_version(
        record.id,
        {"manifest": {**record.manifest, "saved": {"kind": "object", "file": str(outside)}}},
    )
    with pytest.raises(fti.ArtifactIntegrityError, match=r"evil\.pkl"):
        mr.get_model("rule", 1).load()
    catalog.update_model_version(record.id, {"manifest": record.manifest})
    assert mr.get_model("rule", 1).load().cut == 0.5


def test_a_directory_with_a_bad_file_name_saves_nothing(
    project: fti.Project, tmp_path: Path
) -> None:
    root = tmp_path / "model"
    root.mkdir()
    (root / "model.pkl").write_bytes(b"1")
    (root / "..\\up").write_bytes(b"2")
    mr = project.get_model_registry()
    with pytest.raises(fti.FtiError, match="up"):
        mr.python.create_model("bad").save(root)
    assert mr.list_models() == []
    models_dir = project.home / "models"
    assert not models_dir.exists() or not any(p.is_file() for p in models_dir.rglob("*"))


def test_bad_input_is_refused_and_writes_nothing(project: fti.Project, tmp_path: Path) -> None:
    fv, _, x_train, _ = trained(project)
    mr = project.get_model_registry()
    for name, why in [
        ("/etc/passwd", "is absolute"),
        ("../up", "leaves the model's directory"),
        ("a/../../b", "leaves the model's directory"),
        ("C:/x", "starts like a drive or a URL"),
        ("", "is empty"),
        ("..\\up", "holds a backslash"),
        ("a/./b", "is not in its plain form"),
    ]:
        with pytest.raises(fti.FtiError, match=re.escape(f"artifact file name {name!r} {why}")):
            check_name(name)
    (tmp_path / "empty").mkdir()
    with pytest.raises(fti.FtiError, match="empty directory"):
        mr.python.create_model("e").save(tmp_path / "empty")
    with pytest.raises(fti.FtiError, match="does not exist"):
        mr.python.create_model("e").save(tmp_path / "missing")
    with pytest.raises(fti.FtiError, match="predict"):
        mr.python.create_model("e").save(object())
    with pytest.raises(fti.SchemaError, match=r"unknown: \['nope'\]"):
        mr.sklearn.create_model(
            "e", feature_view=fv, input_example=x_train.assign(nope=1)[["spend", "nope"]]
        )
    with pytest.raises(fti.FtiError, match="invalid model name"):
        mr.sklearn.create_model("bad name")
    with pytest.raises(fti.FtiError, match="must be a number"):
        mr.sklearn.create_model("e", metrics={"auc": "high"})
    other = project.get_feature_store().get_feature_view("fraud", 1)  # no dataset made here
    with pytest.raises(fti.FtiError, match="created no training dataset"):
        mr.sklearn.create_model("e", feature_view=other)
    assert mr.list_models() == []
    models_dir = project.home / "models"
    leftovers = [p for p in models_dir.rglob("*") if p.is_file()] if models_dir.exists() else []
    assert leftovers == []


def test_a_missing_framework_says_how_to_install_it(
    project: fti.Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    import builtins

    real = builtins.__import__

    def no_torch(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "torch" or name.startswith("torch."):
            raise ImportError("No module named 'torch'")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_torch)
    with pytest.raises(fti.MissingDependencyError, match=r"pip install 'fti\[torch\]'"):
        project.get_model_registry().torch.create_model("net").save(Threshold(0))


def _register(home: str, count: int, queue: Any) -> None:
    with fti.connect(home) as project:
        mr = project.get_model_registry()
        queue.put([mr.python.create_model("race").save(Threshold(0)).version for _ in range(count)])


def test_concurrent_registration_gets_distinct_versions(project: fti.Project) -> None:
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    workers = [ctx.Process(target=_register, args=(str(project.home), 4, queue)) for _ in range(2)]
    for w in workers:
        w.start()
    versions = queue.get(timeout=120) + queue.get(timeout=120)
    for w in workers:
        w.join(60)
    assert sorted(versions) == list(range(1, 9))
    assert [m.version for m in project.get_model_registry().get_models("race")] == list(range(1, 9))


def test_s3_artifact_store(tmp_path: Path, s3_bucket: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    client, bucket = s3_bucket
    monkeypatch.setenv("FTI_ARTIFACTS", f"s3://{bucket}/team/models")
    with fti.connect(tmp_path / "home") as project:
        mr = project.get_model_registry()
        model = mr.python.create_model("rule").save(Threshold(0.25))
        uri = model.record.artifact_uri  # type: ignore[union-attr]
        assert uri.startswith(f"s3://{bucket}/team/models/rule/")
        assert mr.get_model("rule").load().cut == 0.25
        key = uri.removeprefix(f"s3://{bucket}/") + "/model.pkl"
        body = client.get_object(Bucket=bucket, Key=key)["Body"].read()
        client.put_object(Bucket=bucket, Key=key, Body=body[:-3])
        with pytest.raises(fti.ArtifactIntegrityError):
            model.download(tmp_path / "dl")
        model.delete()
        assert client.list_objects_v2(Bucket=bucket).get("KeyCount", 0) == 0


def test_lineage_from_the_feature_groups_side(project: fti.Project) -> None:
    fv, clf, _, _ = trained(project)
    mr = project.get_model_registry()
    mr.sklearn.create_model("fraud_lr", feature_view=fv).save(clf)
    fs = project.get_feature_store()
    usage = fs.get_feature_group("card").get_lineage()
    assert usage == [
        {
            "feature_view": {"name": "fraud", "version": 1},
            "features": ["spend"],
            "training_datasets": [1],
            "models": [
                {
                    "name": "fraud_lr",
                    "version": 1,
                    "training_dataset_version": 1,
                    "deployments": [],
                }
            ],
        }
    ]
    mr.get_model("fraud_lr", version=1).deploy("fraud_api")
    models = fs.get_feature_group("card").get_lineage()[0]["models"]
    assert models[0]["deployments"] == ["fraud_api"]
    assert fs.feature_usage("tx", "amount")[0]["models"][0]["name"] == "fraud_lr"
    assert fs.feature_usage("card", "event_ts") == []  # a column the view does not output
    with pytest.raises(fti.SchemaError, match="no feature 'nope'"):
        fs.feature_usage("tx", "nope")
    with pytest.raises(fti.FtiError, match="fraud_lr v1 were trained on this feature view"):
        fs.delete_feature_view("fraud", 1, force=True)
    assert fs.get_feature_view("fraud", 1).get_training_datasets()  # nothing deleted


def test_model_cli(project: fti.Project) -> None:
    from typer.testing import CliRunner

    from fti.cli import app

    fv, clf, _, _ = trained(project)
    project.get_model_registry().sklearn.create_model(
        "fraud_lr", metrics={"auc": 0.91}, feature_view=fv
    ).save(clf)
    runner = CliRunner()
    home = ["--home", str(project.home)]
    out = runner.invoke(app, [*home, "model", "list"])
    assert out.exit_code == 0 and "fraud_lr" in out.output and "auc=0.91" in out.output
    out = runner.invoke(app, [*home, "model", "alias", "fraud_lr", "1", "production"])
    assert out.exit_code == 0 and "production -> version 1" in out.output
    out = runner.invoke(app, [*home, "model", "show", "fraud_lr", "--alias", "production"])
    assert out.exit_code == 0, out.output
    assert '"feature_view"' in out.output and "Model card: fraud_lr v1" in out.output
    out = runner.invoke(app, [*home, "model", "show", "nope"])
    assert out.exit_code == 1 and "does not exist" in out.output


def test_torch_state_dict_round_trip(project: fti.Project) -> None:
    torch = pytest.importorskip("torch")
    net = torch.nn.Linear(3, 2)
    saved = project.get_model_registry().torch.create_model("net").save(net)
    fresh = torch.nn.Linear(3, 2)
    fresh.load_state_dict(saved.load())
    x = torch.ones(1, 3)
    assert torch.equal(fresh(x), net(x))


def test_approval_rule_from_the_project_config(tmp_path: Path) -> None:
    home = tmp_path / "team"
    home.mkdir()
    (home / "fti.toml").write_text('[registry]\nrequire_approval = ["production"]\n')
    with fti.connect(home) as project:
        mr = project.get_model_registry()
        mr.python.create_model("m").save(Threshold(0))
        mr.set_alias("m", 1, "staging")  # not under approval
        with pytest.raises(fti.FtiError, match="needs an approver"):
            mr.set_alias("m", 1, "production")
        mr.set_alias("m", 1, "production", approved_by="risk-team")
        assert mr.alias_history("m", "production")[0].approved_by == "risk-team"


@pytest.mark.parametrize("edited", ["../../elsewhere", "/tmp", "rule/../.."])
def test_an_artifact_location_edited_to_leave_the_store_is_refused(
    project: fti.Project, tmp_path: Path, edited: str
) -> None:
    import sqlalchemy as sa

    mr = project.get_model_registry()
    model = mr.python.create_model("rule").save(Threshold(0.5))
    bystander = tmp_path / "elsewhere"
    bystander.mkdir()
    with project._catalog._writer.begin() as conn:
        conn.execute(sa.text("UPDATE model_versions SET artifact_uri = :u"), {"u": edited})
    with pytest.raises(fti.ArtifactIntegrityError, match="outside the artifact store"):
        mr.get_model("rule", version=model.version).load()
    with pytest.raises(fti.ArtifactIntegrityError, match="outside the artifact store"):
        mr.get_model("rule", version=model.version).delete()
    assert bystander.is_dir()
