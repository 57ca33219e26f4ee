"""Predictors: what a deployment does between the feature vectors and the answer.

The default predictor calls the model's ``predict`` on the transformed feature vectors. A
custom predictor is a class written like this and passed as ``deploy(predictor=MyPredictor)``::

    class MyPredictor:
        def __init__(self, context):          # once, at deployment.start()
            self.model = context.model         # the loaded model (checked by sha256)
        def predict(self, inputs):             # per request (a batch of instances)
            p = self.model.predict_proba(inputs.frame())[:, 1]
            return [{"fraud": bool(x > 0.8), "score": float(x)} for x in p]

``inputs`` holds the transformed vectors as the model reads them (``features``: the columns of
its schema, by name and in its order, named by ``feature_names``; ``frame()`` as a pandas
DataFrame), the ``untransformed`` features (with the view's key and event-time columns) and
the raw request ``instances``; ``predict`` returns one prediction per instance. The class's source
is stored with the deployment version (by sha256), so every process runs the same code.

A model saved from a directory is loaded from the flavor's one model file in it; when it holds
none or several, ``context.model`` is the directory, for a custom predictor to read (the
default predictor refuses it when deployed).
"""

from __future__ import annotations

import inspect
import operator
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from fti import _catalog_code
from fti.errors import FtiError, InvalidDataError
from fti.registry.flavors import FLAVORS, model_files
from fti.serving import contract
from fti.serving.runtime import compile_model
from fti.trust import TrustedCode

if TYPE_CHECKING:
    from fti.registry import Model


@dataclass
class PredictorContext:
    model: Any  # the loaded model object (None for a feature-view deployment)
    feature_view: Any  # the FeatureView, initialized for serving
    deployment: str
    deployment_version: int
    model_version: int | None
    resources: Mapping[str, Any] = field(default_factory=dict)  # deploy(resources=...)
    output: Mapping[str, Any] = field(default_factory=dict)  # the contract's output schema


@dataclass
class PredictorInputs:
    features: list[list[Any]]
    feature_names: list[str]
    untransformed: list[dict[str, Any]]
    instances: list[dict[str, Any]]

    def frame(self) -> Any:
        import pandas as pd

        return pd.DataFrame(self.features, columns=self.feature_names)


class ModelColumns:
    """The columns of a view's vectors that a model reads, by name and in its order: its
    schema's inputs (a subset of the features, perhaps), else the transformed features
    without the key and event-time columns vectors also carry. A feature-view deployment
    (no model) answers the whole vectors."""

    def __init__(self, model: Model | None, names: Sequence[str], fv: Any) -> None:
        names = list(names)
        wanted = names
        if model is not None:
            wanted = [c["name"] for c in (model.model_schema or {}).get("inputs", [])]
            if not wanted:
                identity = set(fv.vector_names) - set(fv.feature_names)
                wanted = [n for n in names if n not in identity]
            missing = [n for n in wanted if n not in names]
            if missing:
                raise FtiError(
                    f"model {model.name!r} version {model.version} reads {missing}, which the "
                    f"vectors of {fv!r} do not hold: {names}"
                )
        self.names = wanted
        index = [names.index(n) for n in wanted]
        self._get = None if index == list(range(len(names))) else operator.itemgetter(*index)
        self._one = len(index) == 1

    def of(self, vectors: list[list[Any]]) -> list[list[Any]]:
        """The model's columns of each vector (the vectors themselves when it reads all)."""
        get = self._get
        if get is None:
            return vectors
        if self._one:
            return [[get(v)] for v in vectors]
        return [list(get(v)) for v in vectors]


class DefaultPredictor:
    """``model.predict`` on the transformed vectors; a feature-view deployment returns the
    vectors themselves.

    Tree ensembles run compiled to ONNX Runtime when that gives the same answers
    (:mod:`fti.serving.runtime`; ``resources={"runtime": "native"}`` turns it off), on
    ``resources["model_threads"]`` threads (default 1: one row gains nothing from a thread
    pool, and server workers already use every core). Predictions take the contract's output
    type: a classifier trained on a boolean label answers ``true``/``false``, not 1/0.
    """

    def __init__(self, context: PredictorContext) -> None:
        self.model = context.model
        if self.model is not None and not callable(getattr(self.model, "predict", None)):
            # refused when the deployment starts, not with a 500 on every request
            raise FtiError(
                f"deployment {context.deployment!r}: model version {context.model_version} "
                f"loads as a {type(self.model).__name__}, which has no predict method; deploy "
                "it with predictor=<a class that calls it> (see fti.serving.predictor)"
            )
        threads = int(context.resources.get("model_threads", 1))
        self._compiled = None
        if self.model is not None:
            self._compiled = compile_model(
                self.model, context.resources.get("runtime", "auto"), threads
            )
            if self._compiled is None and hasattr(self.model, "get_booster"):
                self.model.get_booster().set_param({"nthread": threads})
        kind = contract.kind(context.output.get("properties", {}).get("prediction", {}))
        self._cast: Any = {"boolean": bool, "integer": int, "number": float}.get(kind)

    def predict(self, inputs: PredictorInputs) -> list[Any]:
        if self.model is None:
            return inputs.features
        if self._compiled is not None:  # missing values (None) become NaN, as XGBoost reads them
            outputs = self._compiled(_float32(inputs))
        elif type(self.model).__module__.startswith("sklearn"):
            # scikit-learn checks the feature names it was fitted with
            outputs = self.model.predict(inputs.frame())
        else:  # an array: XGBoost predicts one row from NumPy ~7x faster than from pandas
            outputs = self.model.predict(np.asarray(inputs.features))
        values = outputs.tolist() if isinstance(outputs, np.ndarray) else list(outputs)
        cast = self._cast
        if cast is None:
            return [v.item() if hasattr(v, "item") else v for v in values]
        return [v if v is None else cast(v) for v in values]


def _float32(inputs: PredictorInputs) -> np.ndarray:
    """The vectors as the compiled model's float32 matrix. A value beyond float32's range is
    the request's fault (422), not an infinity to predict on; the check runs only when the
    fast conversion shows an infinity (or, where warnings are errors, warns of an overflow)."""
    matrix = None
    try:
        matrix = np.array(inputs.features, dtype=np.float32)
        if not np.isinf(matrix).any():
            return matrix
    except RuntimeWarning:
        pass
    wide = np.array(inputs.features, dtype=np.float64)
    rows, cols = np.nonzero(np.isfinite(wide) & (np.abs(wide) > np.finfo(np.float32).max))
    if len(rows) == 0 and matrix is not None:
        return matrix  # infinities the transformations produced: the model sees them as is
    row, col = int(rows[0]), int(cols[0])
    raise InvalidDataError(
        f"instance {row}: feature {inputs.feature_names[col]!r} is {wide[row, col]:.6g} as the "
        "model gets it, beyond the float32 range it computes in (±3.4e38)"
    )


def check_model_files(model: Model) -> None:
    """Refuse (at deploy) a model saved from a directory that the default predictor cannot
    serve: it loads the flavor's one model file in it, and with none or several it would get
    the directory itself."""
    record = model.record
    if record.manifest["saved"]["kind"] == "object":
        return
    names = sorted(record.manifest["files"])
    found = model_files(record.flavor, names)
    if len(found) == 1:
        return
    endings = " or ".join(FLAVORS[record.flavor].files)
    shown = ", ".join(repr(n) for n in (found or names)[:10])
    what = f"holds several model files ({shown})" if found else f"holds {shown}"
    needs = (
        f"exactly one {record.flavor} model file in it (ending {endings}). Save the model "
        "object instead (model.save(obj)), keep one model file in the directory"
        if endings
        else f"the {record.flavor} model saved as an object. Save the model object instead "
        "(model.save(obj))"
    )
    raise FtiError(
        f"model {model.name!r} version {model.version} was saved from a directory that {what}; "
        f"the default predictor needs {needs}, or deploy with predictor=<a class that reads "
        "the directory, given as context.model>"
    )


def reference(cls: type) -> dict[str, Any]:
    """What a deployment records of a custom predictor class."""
    if not inspect.isclass(cls) or not callable(getattr(cls, "predict", None)):
        raise FtiError(f"predictor must be a class with a predict(self, inputs) method: {cls!r}")
    try:
        source = textwrap.dedent(inspect.getsource(cls))
    except (OSError, TypeError) as exc:
        raise FtiError(f"cannot read the source of {cls.__name__}: define it in a file") from exc
    return {
        "name": cls.__name__,
        "source": source,
        "sha256": _catalog_code.sha256(source),
    }


def build(reference: dict[str, Any] | None, trusted: TrustedCode | None = None) -> type:
    """The predictor class of a deployment, rebuilt from its recorded source; refused before
    it is compiled when ``trusted`` (the server's allow-list) lacks its hash."""
    if reference is None:
        return DefaultPredictor
    import pandas as pd

    provided = {"np": np, "pd": pd}
    name = reference["name"]
    cls = _catalog_code.run(
        "predictor", name, reference["source"], reference["sha256"], provided, trusted
    )
    if not inspect.isclass(cls):
        raise FtiError(f"the stored source does not define class {name}")
    return cls
