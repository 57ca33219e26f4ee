"""Model flavors: how a framework's model object is written to files and read back.

Each flavor saves in the framework's own format where it has one (XGBoost JSON, LightGBM
text, ONNX, a torch state dict). scikit-learn and plain Python models are pickled (joblib /
pickle): **loading a pickle runs code from the file**, so load only models from a registry you
trust; the sha256 manifest proves a file is the one registered, not that it is harmless.
"""

from __future__ import annotations

import importlib
import pickle
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fti.errors import FtiError, MissingDependencyError


def _class_path(obj: Any) -> str:
    return f"{type(obj).__module__}.{type(obj).__qualname__}"


def _class(path: str) -> Any:
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


# -- save: object -> files in a directory, and what load needs to know ---------------------------


def _save_pickle(obj: Any, directory: Path) -> dict[str, Any]:
    if not callable(getattr(obj, "predict", None)):
        raise FtiError(f"a python model needs a predict method; {type(obj).__name__} has none")
    with (directory / "model.pkl").open("wb") as f:
        pickle.dump(obj, f, protocol=5)
    return {"file": "model.pkl"}


def _load_pickle(directory: Path, meta: dict[str, Any]) -> Any:
    with (directory / meta["file"]).open("rb") as f:
        return pickle.load(f)  # documented above: load only from a registry you trust


def _save_joblib(obj: Any, directory: Path) -> dict[str, Any]:
    import joblib

    joblib.dump(obj, directory / "model.joblib")
    return {"file": "model.joblib", "class": _class_path(obj)}


def _load_joblib(directory: Path, meta: dict[str, Any]) -> Any:
    import joblib

    return joblib.load(directory / meta["file"])


def _save_xgboost(obj: Any, directory: Path) -> dict[str, Any]:
    obj.save_model(str(directory / "model.json"))
    return {"file": "model.json", "class": _class_path(obj)}


def _load_xgboost(directory: Path, meta: dict[str, Any]) -> Any:
    model = _class(meta["class"])()
    model.load_model(str(directory / meta["file"]))
    return model


def _save_lightgbm(obj: Any, directory: Path) -> dict[str, Any]:
    booster = getattr(obj, "booster_", obj)  # the scikit-learn wrapper holds a Booster
    booster.save_model(str(directory / "model.txt"))
    return {"file": "model.txt", "class": _class_path(obj)}


def _load_lightgbm(directory: Path, meta: dict[str, Any]) -> Any:
    import lightgbm

    return lightgbm.Booster(model_file=str(directory / meta["file"]))


def _save_onnx(obj: Any, directory: Path) -> dict[str, Any]:
    import onnx

    onnx.checker.check_model(obj)
    onnx.save(obj, str(directory / "model.onnx"))
    return {"file": "model.onnx"}


def _load_onnx(directory: Path, meta: dict[str, Any]) -> Any:
    import onnx

    return onnx.load(str(directory / meta["file"]))


def _save_torch(obj: Any, directory: Path) -> dict[str, Any]:
    import torch

    state = obj.state_dict() if hasattr(obj, "state_dict") else obj
    torch.save(state, directory / "model.pt")
    return {"file": "model.pt", "class": _class_path(obj)}


def _load_torch(directory: Path, meta: dict[str, Any]) -> Any:
    import torch

    # weights only: no code runs; rebuild the module and call load_state_dict on it
    return torch.load(directory / meta["file"], weights_only=True)


@dataclass(frozen=True)
class Flavor:
    name: str
    module: str | None  # the framework's import name (None: nothing to install)
    extra: str
    save: Callable[[Any, Path], dict[str, Any]]
    load: Callable[[Path, dict[str, Any]], Any]
    # endings of the files ``load`` reads with nothing more than the file's name (XGBoost's
    # needs the estimator class recorded when an object is saved)
    files: tuple[str, ...] = ()

    def require(self) -> None:
        if self.module is None:
            return
        try:
            importlib.import_module(self.module)
        except ImportError as exc:
            raise MissingDependencyError(
                self.module, self.extra, f"the {self.name} flavor"
            ) from exc


FLAVORS = {
    f.name: f
    for f in (
        Flavor("python", None, "", _save_pickle, _load_pickle, (".pkl", ".pickle")),
        Flavor("sklearn", "sklearn", "sklearn", _save_joblib, _load_joblib, (".joblib", ".pkl")),
        Flavor("xgboost", "xgboost", "xgboost", _save_xgboost, _load_xgboost),
        Flavor("lightgbm", "lightgbm", "lightgbm", _save_lightgbm, _load_lightgbm, (".txt",)),
        Flavor("onnx", "onnx", "onnx", _save_onnx, _load_onnx, (".onnx",)),
        Flavor("torch", "torch", "torch", _save_torch, _load_torch, (".pt", ".pth")),
    )
}


def model_files(flavor: str, names: Iterable[str]) -> list[str]:
    """The files among ``names`` (of a version saved from a path) that ``flavor`` can load."""
    endings = FLAVORS[flavor].files
    return sorted(n for n in names if endings and n.lower().endswith(endings))
