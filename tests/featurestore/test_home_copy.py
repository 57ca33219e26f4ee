"""A project home can be copied, moved and backed up: each copy is its own project."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pyarrow as pa
import pytest

import fti
from tests.featurestore.helpers import cards


class Threshold:
    def __init__(self, cut: float) -> None:
        self.cut = cut

    def predict(self, rows: list[float]) -> list[bool]:
        return [r > self.cut for r in rows]


def _files(home: Path) -> dict[str, str]:
    """Every file of a home by relative path, with its sha256."""
    return {
        str(p.relative_to(home)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(home.rglob("*"))
        if p.is_file()
    }


def _make_project(home: Path) -> None:
    with fti.connect(home) as project:
        fs = project.get_feature_store()
        fg = fs.create_feature_group(
            "cards", primary_key=["cc_num"], event_time="event_ts", online_enabled=True
        )
        fg.insert(cards([1, 2], [0, 0], [1.0, 2.0]))
        fv = fs.create_feature_view("view", query=fg.select_all())
        fv.create_training_data(data_format="parquet")
        project.get_model_registry().python.create_model("rule").save(Threshold(0.5))


def test_writing_to_a_copy_leaves_the_original_byte_for_byte_unchanged(tmp_path: Path) -> None:
    original, copy = tmp_path / "original", tmp_path / "copy"
    _make_project(original)
    before = _files(original)
    shutil.copytree(original, copy)

    with fti.connect(copy) as project:
        fs = project.get_feature_store()
        fg = fs.get_feature_group("cards")
        assert fg.location.startswith(str(copy))
        fg.insert(cards([1, 3], [5, 5], [9.0, 9.0]))
        fs.get_feature_view("view").create_training_data(data_format="csv")
        assert fs.get_feature_view("view").get_training_dataset(1).location.startswith(str(copy))
        mr = project.get_model_registry()
        assert mr.get_model("rule", version=1).load().cut == 0.5
        fs.get_feature_view("view").delete(force=True)
        mr.get_model("rule", version=1).delete()
        fg.delete()

    assert _files(original) == before
    with fti.connect(original) as project:
        fg = project.get_feature_store().get_feature_group("cards")
        assert fg.read(dataframe_type="arrow").sort_by("cc_num").column("spend").to_pylist() == [
            1.0,
            2.0,
        ]
        assert len(fg.commit_details()) == 1
        view = project.get_feature_store().get_feature_view("view")
        assert Path(view.get_training_dataset(1).location, "train.parquet").is_file()
        assert project.get_model_registry().get_model("rule", version=1).load().cut == 0.5


def test_a_moved_home_reads_its_tables_training_files_and_models(tmp_path: Path) -> None:
    home, moved = tmp_path / "home", tmp_path / "elsewhere" / "home"
    _make_project(home)
    moved.parent.mkdir()
    shutil.move(home, moved)
    with fti.connect(moved) as project:
        fs = project.get_feature_store()
        fg = fs.get_feature_group("cards")
        assert fg.read(dataframe_type="arrow").num_rows == 2
        assert fg.read(online=True, dataframe_type="arrow").num_rows == 2
        X, _ = fs.get_feature_view("view").get_training_data(training_dataset_version=1)
        assert len(X) == 2
        location = Path(fs.get_feature_view("view").get_training_dataset(1).location)
        assert location.is_relative_to(moved)
        assert (location / "train.parquet").is_file()
        assert project.get_model_registry().get_model("rule").load().cut == 0.5


def test_a_home_without_its_tables_says_they_are_missing_and_writes_nothing(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    _make_project(home)
    shutil.rmtree(home / "offline" / "cards")
    with fti.connect(home) as project:
        fs = project.get_feature_store()
        fg = fs.get_feature_group("cards")
        for attempt in (
            lambda: fg.read(),
            lambda: fg.read(as_of=0),
            fg.commit_details,
            lambda: fg.insert(cards([4], [1], [4.0])),
            lambda: fs.get_feature_view("view").training_data(),
        ):
            with pytest.raises(fti.OfflineTableMissing, match=r"cards v1 is missing.*up to 0"):
                attempt()
        assert not (home / "offline" / "cards").exists()


def test_a_group_without_commits_still_reads_empty(tmp_path: Path) -> None:
    with fti.connect(tmp_path / "home") as project:
        fg = project.get_feature_store().create_feature_group(
            "declared",
            primary_key=["k"],
            features=[fti.Feature("k", pa.int64()), fti.Feature("v", pa.float64())],
        )
        assert fg.commit_details() == []
        with pytest.raises(fti.CommitNotFound, match="no commits yet"):
            fg.read()
