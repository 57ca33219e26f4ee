"""Model artifacts on S3 or any S3-compatible store (MinIO, Ceph, R2, ...), through obstore.

obstore (the Rust ``object_store`` crate that delta-rs also uses) was chosen over s3fs for a
small dependency footprint and plain synchronous calls. Credentials and endpoint come from the
usual ``AWS_*`` environment variables (``AWS_ENDPOINT_URL`` and ``AWS_ALLOW_HTTP=true`` for a
local server). A version's files go under ``<prefix>/<model>/<uuid>/``; the version exists
once the catalog records it, after every file is uploaded, so no reader sees half of one.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fti._redact import redact
from fti.errors import FtiError, MissingDependencyError
from fti.registry.artifacts import ArtifactStore, check_name, check_names


class S3ArtifactStore(ArtifactStore):
    def __init__(self, url: str) -> None:
        try:
            import obstore
            from obstore.store import from_url
        except ImportError as exc:
            raise MissingDependencyError("obstore", "s3", "an S3 artifact store") from exc
        bucket, _, prefix = url.removeprefix("s3://").partition("/")
        if "@" in bucket:  # it would be recorded in every version's location
            raise FtiError(
                f"{redact(url)!r} holds credentials: give them in the AWS_* environment "
                "variables, not in the artifact store's URL"
            )
        if not bucket:
            raise FtiError(f"{redact(url)!r} names no bucket: use s3://bucket/prefix")
        self._obstore = obstore
        self._store: Any = from_url(f"s3://{bucket}")
        self._bucket = bucket
        self._prefix = prefix.strip("/")

    def _key(self, uri: str, name: str = "") -> str:
        path = uri.removeprefix(f"s3://{self._bucket}/")
        return f"{path}/{name}" if name else path

    def upload(self, files: Mapping[str, Path], model: str) -> str:
        for name in files:
            check_name(name)
        base = "/".join(p for p in (self._prefix, model, uuid.uuid4().hex) if p)
        uri = f"s3://{self._bucket}/{base}"
        try:
            for name, source in files.items():
                self._obstore.put(self._store, f"{base}/{name}", source)
        except BaseException:
            self.delete(uri)
            raise
        return uri

    def download(self, uri: str, names: list[str], destination: Path) -> None:
        check_names(names, destination)
        for name in names:
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                data = self._obstore.get(self._store, self._key(uri, name)).bytes()
            except FileNotFoundError:
                continue  # reported by the manifest check
            target.write_bytes(bytes(data))

    def delete(self, uri: str) -> None:
        paths = [
            o["path"]
            for batch in self._obstore.list(self._store, prefix=self._key(uri) + "/")
            for o in batch
        ]
        if paths:
            self._obstore.delete(self._store, paths)
