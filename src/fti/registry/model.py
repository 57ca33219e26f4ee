"""A model version: its artifacts, metrics, lineage to its data and code, and its aliases."""

from __future__ import annotations

import json
import os
import tempfile
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fti.catalog import ModelVersionRecord
from fti.errors import ArtifactIntegrityError, FtiError, SchemaError
from fti.registry import artifacts
from fti.registry.environment import code_version, environment, public_code
from fti.registry.flavors import FLAVORS, model_files

if TYPE_CHECKING:
    from fti.featurestore import FeatureView
    from fti.registry.registry import ModelRegistry


def _jsonable(example: Any) -> Any:
    """An input example as JSON: records of a DataFrame, lists of an array, else as is."""
    if example is None:
        return None
    if hasattr(example, "to_dict") and hasattr(example, "columns"):  # pandas
        return json.loads(example.head(5).to_json(orient="records", date_format="iso"))
    if hasattr(example, "to_dicts"):  # polars
        return json.loads(json.dumps(example.head(5).to_dicts(), default=str))
    if hasattr(example, "tolist"):
        return example[:5].tolist()
    return json.loads(json.dumps(example, default=str))


def _example_columns(example: Any) -> list[str] | None:
    if example is None:
        return None
    if hasattr(example, "columns"):
        return [str(c) for c in example.columns]
    if isinstance(example, Mapping):
        return [str(c) for c in example]
    return None


class Model:
    """One model version. Created by ``mr.<flavor>.create_model(...)``; it exists in the
    registry once :meth:`save` has uploaded its artifacts."""

    def __init__(
        self,
        registry: ModelRegistry,
        flavor: str,
        name: str,
        *,
        version: int | None = None,
        record: ModelVersionRecord | None = None,
        draft: dict[str, Any] | None = None,
    ) -> None:
        self._registry = registry
        self._context = registry._context
        self.flavor = flavor
        self.name = name
        self._version = version
        self._record = record
        self._draft = draft or {}

    # -- what a version is ------------------------------------------------------------------

    @property
    def version(self) -> int | None:
        return self._record.version if self._record else self._version

    def _get(self, key: str) -> Any:
        return getattr(self._record, key) if self._record else self._draft.get(key)

    metrics = property(lambda self: dict(self._get("metrics") or {}))
    description = property(lambda self: self._get("description") or "")
    tags = property(lambda self: dict(self._get("tags") or {}))
    input_example = property(lambda self: self._get("input_example"))
    model_schema = property(lambda self: self._get("model_schema"))
    training_dataset_version = property(lambda self: self._get("training_dataset_version"))
    environment = property(lambda self: self._get("environment"))
    code = property(lambda self: public_code(self._get("code") or {}))
    created_at = property(lambda self: self._record.created_at if self._record else None)
    created_by = property(lambda self: self._record.created_by if self._record else None)

    @property
    def saved(self) -> bool:
        return self._record is not None

    @property
    def record(self) -> ModelVersionRecord:
        """The saved version as the catalog records it (id, feature view, files, ...);
        :class:`FtiError` before :meth:`save`."""
        if self._record is None:
            raise FtiError(f"model {self.name!r} is not saved yet: call model.save(...)")
        return self._record

    def __repr__(self) -> str:
        return f"Model(name={self.name!r}, version={self.version}, flavor={self.flavor!r})"

    # -- saving -----------------------------------------------------------------------------

    def save(self, model: Any) -> Model:
        """Upload a directory, a file or a model object (in the flavor's format) and register
        the version: artifacts with a sha256 manifest, environment, code version, lineage."""
        if self._record is not None:
            raise FtiError(f"{self!r} is already saved; create a new version instead")
        flavor = FLAVORS[self.flavor]
        context = self._context
        with tempfile.TemporaryDirectory(prefix="fti-model-") as tmp:
            if isinstance(model, str | os.PathLike):
                files = artifacts.collect(Path(model))
                saved: dict[str, Any] = {"kind": "path"}
            else:
                flavor.require()
                directory = Path(tmp) / "model"
                directory.mkdir()
                saved = {"kind": "object", **flavor.save(model, directory)}
                files = artifacts.collect(directory)
            manifest = {"files": artifacts.manifest_of(files), "saved": saved}
            uri = context.store.upload(files, self.name)
            fields = {
                "flavor": self.flavor,
                "description": self.description,
                "metrics": self.metrics,
                "tags": self.tags,
                "input_example": self._draft.get("input_example"),
                "model_schema": self._draft.get("model_schema"),
                "feature_view_id": self._draft.get("feature_view_id"),
                "training_dataset_version": self._draft.get("training_dataset_version"),
                "environment": environment(),
                "code": code_version(),
                "artifact_uri": uri,
                "manifest": manifest,
            }
            try:
                self._record = context.catalog.register_model_version(
                    self.name, self._version, fields, context.client
                )
            except BaseException:
                context.store.delete(uri)  # nothing half-registered
                raise
        context.catalog.update_model_version(self._record.id, {"card": self.card()})
        self._record = context.catalog.get_model_version_by_id(self._record.id)
        return self

    # -- reading back -----------------------------------------------------------------------

    def download(
        self, dir: str | os.PathLike[str] | None = None, *, local_path: str | None = None
    ) -> str:
        """The version's files in ``dir`` (Hopsworks: ``local_path``; a new temporary
        directory by default), each checked against its recorded sha256 and size: a tampered
        or truncated artifact is refused. Returns the directory's path, a ``str`` as in
        Hopsworks."""
        if local_path is not None:
            if dir is not None:
                raise FtiError("give dir or local_path, not both")
            dir = local_path
        record = self.record
        files = record.manifest["files"]
        # before any directory is made: a refused manifest leaves nothing behind
        artifacts.check_names(files, Path(dir) if dir is not None else None)
        destination = Path(dir) if dir is not None else Path(tempfile.mkdtemp(prefix="fti-"))
        destination.mkdir(parents=True, exist_ok=True)
        self._context.store.download(record.artifact_uri, list(files), destination)
        artifacts.verify(destination, files)
        return str(destination)

    def load(self) -> Any:
        """The model object, read by its flavor (see :mod:`fti.registry.flavors`); for a
        version saved from a path, the flavor's model file if it holds exactly one (known by
        its ending), else the directory."""
        record = self.record
        flavor = FLAVORS[record.flavor]
        flavor.require()
        saved = record.manifest["saved"]
        files = record.manifest["files"]
        artifacts.check_names(files)
        if saved["kind"] != "object":
            found = model_files(record.flavor, files)
            if len(found) != 1:  # which file is the model is for a custom predictor to say
                return Path(self.download())
            saved = {"file": found[0]}
        elif saved.get("file") not in files:  # the catalog row may have been edited
            raise ArtifactIntegrityError(
                f"refusing to load {self!r}: its manifest names {saved.get('file')!r} as the "
                "model file, which is not one of the version's files"
            )
        with tempfile.TemporaryDirectory(prefix="fti-load-") as tmp:  # read fully, then gone
            return flavor.load(Path(self.download(tmp)), saved)

    # -- aliases ----------------------------------------------------------------------------

    def set_alias(self, alias: str, approved_by: str | None = None) -> None:
        """Point ``alias`` (``production``, ``staging``, any name) at this version."""
        record = self.record
        self._registry.set_alias(self.name, record.version, alias, approved_by=approved_by)

    @property
    def aliases(self) -> list[str]:
        record = self.record
        found = self._context.catalog.model_aliases(self.name).items()
        return sorted(a for a, v in found if v == record.version)

    # -- lineage ----------------------------------------------------------------------------

    def get_feature_view(self, init: bool = True) -> FeatureView:
        """The feature view this version was trained from, initialized for serving and batch
        scoring with its training-dataset version (filters and transformation state)."""
        record = self.record
        if record.feature_view_id is None:
            raise FtiError(f"{self!r} was registered without a feature view")
        fs = self._context.feature_store
        view = self._context.catalog.get_feature_view_by_id(record.feature_view_id)
        fv = fs.get_feature_view(view.name, view.version)
        if init and record.training_dataset_version is not None:
            fv.init_serving(training_dataset_version=record.training_dataset_version)
        return fv

    def lineage(self) -> dict[str, Any]:
        """Everything this version came from: feature view, feature groups with the commits
        its training data read, training dataset, code and environment."""
        record = self.record
        out: dict[str, Any] = {
            "model": {"name": record.name, "version": record.version, "flavor": record.flavor},
            "feature_view": None,
            "training_dataset": None,
            "feature_groups": [],
            "code": public_code(record.code),
            "environment": {k: v for k, v in record.environment.items() if k != "packages"},
            "created_at": record.created_at.isoformat(),
            "created_by": record.created_by,
        }
        if record.feature_view_id is None:
            return out
        catalog = self._context.catalog
        view = catalog.get_feature_view_by_id(record.feature_view_id)
        out["feature_view"] = {"name": view.name, "version": view.version}
        commits: dict[str, int] = {}
        if record.training_dataset_version is not None:
            td = catalog.get_training_dataset(view.id, record.training_dataset_version)
            commits = dict(td.commits)
            out["training_dataset"] = {
                "version": td.version,
                "spec": td.spec,
                "created_at": td.created_at.isoformat(),
            }
        groups = {(f["group"], f["group_version"]) for f in view.features}
        out["feature_groups"] = [
            {"name": n, "version": v, "commit": commits.get(f"{n}:{v}")} for n, v in sorted(groups)
        ]
        return out

    # -- the model card ---------------------------------------------------------------------

    def card(self) -> str:
        """A Markdown model card: description, metrics, training data and lineage, features,
        environment (stored with the version when it is saved)."""
        if self._record is not None and self._record.card:
            return self._record.card
        lines = [f"# Model card: {self.name} v{self.version}", ""]
        lines += [self.description or "_No description._", ""]
        lines += ["## Intended use", "", str(self.tags.get("intended_use", "_Not stated._")), ""]
        lines += ["## Metrics", ""]
        lines += [f"- **{k}**: {v}" for k, v in sorted(self.metrics.items())] or ["_None._"]
        if self._record is not None:
            lineage = self.lineage()
            lines += ["", "## Training data and lineage", ""]
            if lineage["feature_view"]:
                fv = lineage["feature_view"]
                lines.append(f"- feature view **{fv['name']}** v{fv['version']}")
            if lineage["training_dataset"]:
                td = lineage["training_dataset"]
                window = (td["spec"].get("start_time"), td["spec"].get("end_time"))
                lines.append(f"- training dataset v{td['version']}, window {window}")
            for g in lineage["feature_groups"]:
                lines.append(f"- feature group {g['name']} v{g['version']} at commit {g['commit']}")
            code = lineage["code"]
            if code.get("git_commit"):
                dirty = " (uncommitted changes)" if code.get("git_dirty") else ""
                lines.append(f"- code: git {code['git_commit']}{dirty}")
        schema = self.model_schema
        if schema:
            lines += ["", "## Features", ""]
            for f in schema.get("inputs", []):
                about = f": {f['description']}" if f.get("description") else ""
                lines.append(f"- `{f['name']}` ({f['type']}){about}")
        env = self.environment
        if env:
            lines += ["", "## Environment", ""]
            lines.append(f"- Python {env['python']} on {env['platform']}, fti {env['fti']}")
        return "\n".join(lines) + "\n"

    def deploy(
        self,
        name: str | None = None,
        passed_features: Sequence[str] | None = None,
        request_parameters: Sequence[str] | None = None,
        missing: str = "error",
        predictor: type | None = None,
        *,
        lookup_timeout_ms: float | None = None,
        fallback_model_version: int | None = None,
        resources: Mapping[str, Any] | None = None,
        slo: Mapping[str, Any] | None = None,
        fallback: str | Mapping[str, Any] | None = None,
    ) -> Any:
        """A new deployment version serving this model (``name`` defaults to the model's): a
        :class:`fti.Deployment`.

        ``passed_features`` (default: those whose groups are not online) and
        ``request_parameters`` (default: those on-demand transformations need) become fields
        of the request. ``missing`` (the missing-values policy) is what a serving key without
        an online row, or a failed online store, gets: ``"error"``, ``"impute"`` (training
        statistics), ``"null"`` or ``"last_known"``. A lookup slower than
        ``lookup_timeout_ms`` (default 100) counts as a failed store (SQLite and Redis; LMDB
        reads never wait). ``fallback_model_version``: that other version of this model (same
        feature view, same transformed features) answers when this one raises.
        ``predictor``: a class replacing the default ``model.predict`` (see
        :mod:`fti.serving.predictor`). ``resources``: ``model_threads`` (default 1),
        ``max_batch`` (1000), ``log_queue`` (100000), ``log_flush_seconds`` (5.0),
        ``runtime`` (``"auto"``, ``"native"``, ``"onnx"``); ``slo``: ``{"p99_ms": 3.0,
        "availability": 0.999}`` (either key). See :mod:`fti.serving.options`. A bad option
        raises :class:`fti.FtiError` naming it and records nothing; options never change
        ``schema_version``. ``fallback`` is the deprecated name of ``missing`` (or a dict of
        ``missing``, ``lookup_timeout_ms`` and ``model_version``): still taken, with a
        :class:`DeprecationWarning`.
        """
        on_failure: str | Mapping[str, Any] = {
            "missing": missing,
            "lookup_timeout_ms": lookup_timeout_ms,
            "model_version": fallback_model_version,
        }
        if fallback is not None:  # the three options above as deploy once took them
            if (missing, lookup_timeout_ms, fallback_model_version) != ("error", None, None):
                raise FtiError(
                    "give missing=, lookup_timeout_ms= and fallback_model_version=, or their "
                    "deprecated form fallback=, not both"
                )
            warnings.warn(
                "deploy(fallback=...) is deprecated: pass missing= (the missing-values "
                "policy), lookup_timeout_ms= and fallback_model_version=",
                DeprecationWarning,
                stacklevel=2,
            )
            on_failure = fallback
        fv = self.get_feature_view(init=False)  # FtiError for a model not saved
        return self._context.deployments().create_deployment(
            fv,
            self,
            name or self.name,
            passed_features,
            request_parameters,
            on_failure,
            predictor,
            resources=resources,
            slo=slo,
        )

    def delete(self) -> None:
        """Delete this version (refused while an alias or a deployment uses it, also as its
        fallback model) and its artifacts."""
        record = self.record
        deployments = self._context.catalog.deployments_of_model_version(record.id)
        if deployments:
            names = [
                f"{d.name} v{d.version}"
                + (" as fallback" if d.model_version_id != record.id else "")
                for d in deployments
            ]
            raise FtiError(f"{self!r} is deployed ({', '.join(names)}): delete those first")
        self._context.catalog.delete_model_version(self.name, record.version)
        self._context.store.delete(record.artifact_uri)


def check_example(example: Any, schema: Mapping[str, Any] | None) -> None:
    """An input example must have the model's input columns (when both are known)."""
    columns = _example_columns(example)
    if columns is None or not schema:
        return
    expected = [f["name"] for f in schema["inputs"]]
    if columns != expected:
        raise SchemaError(
            f"the input example's columns {columns} are not the model schema's inputs "
            f"{expected} (in that order)"
        )


__all__ = ["Model", "check_example"]
