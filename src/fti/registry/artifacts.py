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
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any

from fti.errors import ArtifactIntegrityError, FtiError

CHUNK = 1 << 20


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def check_name(name: str) -> str:
    """A file's name inside a version: relative, no ``..``, ``/``-separated."""
    posix = PurePosixPath(name.replace(os.sep, "/"))
    if not posix.parts or posix.parts == (".",):
        raise FtiError(f"artifact file name {name!r} is empty")
    if posix.is_absolute() or name.startswith(("/", "\\")) or ":" in posix.parts[0]:
        raise FtiError(f"artifact file names must be relative, got {name!r}")
    if ".." in posix.parts:
        raise FtiError(f"artifact file name {name!r} leaves the model's directory")
    return str(posix)


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
        """Copy the named files of a location into ``destination``."""

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
        """The directory of a location (an absolute one is taken as it is)."""
        return self.root / uri

    def upload(self, files: Mapping[str, Path], model: str) -> str:
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
        raise FtiError(f"unsupported artifact store {spec!r}: use a path or s3://bucket/prefix")
    return LocalArtifactStore(spec)
