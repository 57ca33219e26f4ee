"""One conformance suite for every artifact store backend (local directory, S3 via a real
S3-compatible server process)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import fti
from fti.registry import ArtifactStore, LocalArtifactStore, open_artifact_store
from fti.registry.artifacts import collect, manifest_of, verify


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ArtifactStore]:
    if request.param == "local":
        yield LocalArtifactStore(tmp_path / "artifacts")
    else:
        _, bucket = request.getfixturevalue("s3_bucket")
        yield open_artifact_store(f"s3://{bucket}/prefix")


def files(root: Path) -> dict[str, Path]:
    (root / "nested" / "deeper").mkdir(parents=True)
    (root / "model.bin").write_bytes(bytes(range(256)) * 64)
    (root / "nested" / "deeper" / "config.json").write_text('{"a": 1}')
    (root / "empty.txt").write_bytes(b"")
    return collect(root)


def test_upload_download_round_trip(store: ArtifactStore, tmp_path: Path) -> None:
    source = files(tmp_path / "src")
    manifest = manifest_of(source)
    first = store.upload(source, "m")
    second = store.upload(source, "m")
    assert first != second  # every upload is a new location
    out = tmp_path / "out"
    store.download(first, list(manifest), out)
    verify(out, manifest)
    assert (out / "nested" / "deeper" / "config.json").read_text() == '{"a": 1}'


def test_a_missing_file_reads_as_missing_not_as_an_error(
    store: ArtifactStore, tmp_path: Path
) -> None:
    source = files(tmp_path / "src")
    uri = store.upload(source, "m")
    out = tmp_path / "out"
    store.download(uri, ["model.bin", "not-there.bin"], out)
    assert (out / "model.bin").exists() and not (out / "not-there.bin").exists()
    with pytest.raises(fti.ArtifactIntegrityError, match=r"not-there\.bin: missing"):
        verify(out, {**manifest_of(source), "not-there.bin": {"sha256": "0", "size": 1}})


def test_delete_removes_one_location_only(store: ArtifactStore, tmp_path: Path) -> None:
    source = files(tmp_path / "src")
    kept, gone = store.upload(source, "m"), store.upload(source, "m")
    store.delete(gone)
    store.delete(gone)  # deleting twice is not an error
    out = tmp_path / "out"
    store.download(gone, ["model.bin"], out / "gone")
    assert not (out / "gone" / "model.bin").exists()
    store.download(kept, ["model.bin"], out / "kept")
    assert (out / "kept" / "model.bin").stat().st_size == 256 * 64


def test_unknown_store_kinds_are_refused(tmp_path: Path) -> None:
    with pytest.raises(fti.FtiError, match="unsupported artifact store"):
        open_artifact_store("gs://bucket/x")
    with pytest.raises(fti.FtiError, match="names no bucket"):
        open_artifact_store("s3://")


def test_symlinks_out_of_the_saved_directory_are_refused(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("x")
    root = tmp_path / "model"
    root.mkdir()
    (root / "link.txt").symlink_to(secret)
    with pytest.raises(fti.FtiError, match="links outside"):
        collect(root)


# Names that must never reach a file system: each escapes the destination, is absolute, or
# means something else on another platform (a backslash is a separator on Windows).
LEAVING = (
    "../x",
    "a/../../x",
    "/abs/x",
    "..\\x",
    "a\\..\\..\\x",
    "C:/x",
    "c:x",
    "",
    ".",
    "./x",
    "a//x",
    "a/",
    "x\0y",
)


@pytest.mark.parametrize("bad", LEAVING)
def test_a_download_with_a_bad_name_writes_nothing(
    store: ArtifactStore, tmp_path: Path, bad: str
) -> None:
    uri = store.upload(files(tmp_path / "src"), "m")
    out = tmp_path / "deep" / "out"
    with pytest.raises(fti.ArtifactIntegrityError) as caught:
        store.download(uri, ["model.bin", bad], out)
    assert repr(bad) in str(caught.value)
    assert not (tmp_path / "deep").exists()  # not even the good file, nor the directory


@pytest.mark.parametrize("bad", LEAVING)
def test_an_upload_with_a_bad_name_stores_nothing(
    store: ArtifactStore, tmp_path: Path, bad: str
) -> None:
    source = files(tmp_path / "src")
    with pytest.raises(fti.FtiError) as caught:
        store.upload({"model.bin": source["model.bin"], bad: source["empty.txt"]}, "m")
    assert repr(bad) in str(caught.value)
    if isinstance(store, LocalArtifactStore):
        assert not store.root.exists() or not any(p.is_file() for p in store.root.rglob("*"))


def test_a_name_escaping_through_the_destination_is_refused(tmp_path: Path) -> None:
    """A valid-looking name under a link that points elsewhere would still write there."""
    store = LocalArtifactStore(tmp_path / "artifacts")
    source = files(tmp_path / "src")
    uri = store.upload(source, "m")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    (out / "nested").symlink_to(elsewhere)
    with pytest.raises(fti.ArtifactIntegrityError, match=r"nested/deeper/config\.json"):
        store.download(uri, list(source), out)
    assert list(elsewhere.iterdir()) == [] and sorted(p.name for p in out.iterdir()) == ["nested"]


def test_file_names_with_backslashes_are_refused_when_saving(tmp_path: Path) -> None:
    root = tmp_path / "model"
    root.mkdir()
    (root / "model.bin").write_bytes(b"1")
    (root / "..\\evil").write_bytes(b"2")  # one file on POSIX, a way out on Windows
    with pytest.raises(fti.FtiError, match=r"'\.\.\\\\evil'"):
        collect(root)
