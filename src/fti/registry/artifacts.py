"""Where model files live: a local directory by default, S3-compatible storage for teams.

A version's files are uploaded under a fresh, unique location before the version is recorded
in the catalog, and the catalog row is what makes a version exist: a crash mid-upload leaves
files nobody refers to, never a half-written version. Locally the upload is also atomic on
its own (written to a staging directory, then renamed into place). Every file's sha256 and size
go into the version's manifest, and downloads are checked against it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from fti._redact import redact
from fti.errors import ArtifactIntegrityError, FtiError

CHUNK = 1 << 20


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _problem(name: object) -> str | None:
    """Why ``name`` cannot name a file of a version, or None when it can.

    A name is a relative POSIX path in its one canonical spelling: then it means the same
    file in every store and on every platform, and joining it to a directory stays inside.
    """
    if not isinstance(name, str):
        return "is not a string"
    if not name:
        return "is empty"
    if "\\" in name:
        return "holds a backslash (a separator on Windows): use '/'"
    if "\0" in name:
        return "holds a NUL character"
    if name.startswith("/"):
        return "is absolute: names are relative to the model's directory"
    parts = name.split("/")
    if ":" in parts[0]:
        return "starts like a drive or a URL (':' in its first part)"
    if ".." in parts:
        return "leaves the model's directory ('..')"
    if "" in parts or "." in parts:
        return "is not in its plain form (no '.', '//' or trailing '/')"
    return None


def check_name(name: str) -> str:
    """A file's name inside a version: relative, ``/``-separated, no ``..`` (else FtiError)."""
    problem = _problem(name)
    if problem is not None:
        raise FtiError(f"artifact file name {name!r} {problem}")
    return name


def _lands_inside(root: Path, name: str) -> bool:
    return (root / name).resolve().is_relative_to(root)


def check_names(names: Iterable[str], destination: Path | None = None) -> None:
    """Refuse a manifest's names, before anything is written, unless every one is a plain
    relative name that (following any link already in ``destination``) lands inside it.

    Names read back from the catalog are checked again at every download: a catalog row may
    have been edited since the version was saved."""
    root = destination.resolve() if destination is not None else None
    problems = []
    for name in names:
        problem = _problem(name)
        if problem is None and root is not None and not _lands_inside(root, name):
            problem = "leads out of the destination through a link"
        if problem is not None:
            problems.append(f"{name!r} {problem}")
    if problems:
        raise ArtifactIntegrityError(
            "refusing the version's manifest, nothing was written: file name " + "; ".join(problems)
        )


def collect(path: Path) -> dict[str, Path]:
    """The files to upload from a file or a directory (recursively), by name in the version."""
    if not path.exists():
        raise FtiError(f"{path} does not exist")
    if path.is_file():
        return {check_name(path.name): path}
    files = {}
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        if file.is_symlink() and not file.resolve().is_relative_to(path.resolve()):
            raise FtiError(f"{file} links outside the directory being saved")
        files[check_name(file.relative_to(path).as_posix())] = file
    if not files:
        raise FtiError(f"{path} is an empty directory: nothing to save")
    return files


def manifest_of(files: Mapping[str, Path]) -> dict[str, dict[str, Any]]:
    return {
        name: {"sha256": sha256_of(path), "size": path.stat().st_size}
        for name, path in sorted(files.items())
    }


def verify(directory: Path, manifest: Mapping[str, Mapping[str, Any]]) -> None:
    """Every file of the manifest is there with its size and sha256, and nothing else."""
    problems = []
    for name, expected in manifest.items():
        path = directory / name
        if not path.is_file():
            problems.append(f"{name}: missing")
        elif path.stat().st_size != expected["size"]:
            problems.append(f"{name}: {path.stat().st_size} bytes, recorded {expected['size']}")
        elif sha256_of(path) != expected["sha256"]:
            problems.append(f"{name}: sha256 differs from the recorded one")
    if problems:
        raise ArtifactIntegrityError("artifact check failed: " + "; ".join(problems))


class ArtifactStore(ABC):
    """Files of model versions, by location (a URI the store hands out at upload)."""

    @abstractmethod
    def upload(self, files: Mapping[str, Path], model: str) -> str:
        """Store ``files`` (name -> local path) under a new location; return its URI."""

    @abstractmethod
    def download(self, uri: str, names: list[str], destination: Path) -> None:
        """Copy the named files of a location into ``destination``; a name that is not a
        plain relative one (:func:`check_names`) fails the call before anything is written."""

    @abstractmethod
    def delete(self, uri: str) -> None:
        """Remove a location and its files (missing is not an error)."""


class LocalArtifactStore(ArtifactStore):
    """Artifacts in a directory: ``<root>/<model>/<uuid>/...``.

    Locations are relative to the root, so a copied or moved project home (whose root is
    ``<home>/models``) reads and deletes its own artifacts, never the original's."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def path(self, uri: str) -> Path:
        """The directory of a location, which lies inside the root: a location edited in the
        catalog (absolute, or climbing out with ``..``) must not make a download read, or a
        delete remove, anything else."""
        path = (self.root / uri).resolve()
        if not path.is_relative_to(self.root.resolve()) or path == self.root.resolve():
            raise ArtifactIntegrityError(
                f"artifact location {uri!r} lies outside the artifact store {self.root}"
            )
        return path

    def upload(self, files: Mapping[str, Path], model: str) -> str:
        for name in files:
            check_name(name)
        staging = self.root / ".staging" / uuid.uuid4().hex
        final = self.root / model / uuid.uuid4().hex
        try:
            for name, source in files.items():
                target = staging / name
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, target)
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staging, final)  # a reader sees all of it or nothing
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return final.relative_to(self.root).as_posix()

    def download(self, uri: str, names: list[str], destination: Path) -> None:
        check_names(names, destination)
        source = self.path(uri)
        for name in names:
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                shutil.copyfile(source / name, target)
            except FileNotFoundError:
                continue  # reported by the manifest check, with every other problem

    def delete(self, uri: str) -> None:
        shutil.rmtree(self.path(uri), ignore_errors=True)


def open_artifact_store(spec: str) -> ArtifactStore:
    """A local path, or ``s3://bucket/prefix`` (needs the ``s3`` extra)."""
    if spec.startswith("s3://"):
        from fti.registry.s3 import S3ArtifactStore

        return S3ArtifactStore(spec)
    if "://" in spec:
        raise FtiError(
            f"unsupported artifact store {redact(spec)!r}: use a path or s3://bucket/prefix"
        )
    return LocalArtifactStore(spec)
