"""Fast single-row prediction: XGBoost and scikit-learn models compiled to ONNX Runtime.

XGBoost spends ~250 µs on the overhead of one ``predict`` call (configuration parsing, thread
set-up), scikit-learn ~300 µs on a one-row DataFrame (validation): most of the time of an
online prediction. In ONNX Runtime one row takes ~10 µs. The conversion is the ONNX project's
(onnxmltools for XGBoost, skl2onnx for scikit-learn) and it is trusted only after checking: the
compiled model must give the native model's answers on probe rows. For trees these are built
from their own split thresholds (on, just below and just above each, and missing values), so
every branch is taken both ways; for scikit-learn, values of every magnitude. A model that
fails the check, or one that cannot be converted, is served natively (``runtime="auto"``) or
refused (``runtime="onnx"``). scikit-learn refuses missing values; so does its compiled form
(a row with one goes to the native model, which raises as it would have).

Probabilities agree to float32 rounding (summation order differs); a class can differ only
where the probability is within 1e-5 of a decision boundary, which the check allows.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import numpy as np

from fti.errors import FtiError

log = logging.getLogger("fti.serving")

RUNTIMES = ("auto", "native", "onnx")
PROBE_ROWS = 2_048
TOLERANCE = 1e-5

Predict = Callable[[np.ndarray], np.ndarray]


def compile_model(model: Any, runtime: str = "auto", threads: int = 1) -> Predict | None:
    """``model.predict`` as a compiled function of a float32 matrix, or None to run natively."""
    if runtime not in RUNTIMES:
        raise FtiError(f"runtime must be one of {list(RUNTIMES)}, got {runtime!r}")
    if runtime == "native":
        return None
    try:
        compiled = _xgboost_onnx(model, threads) or _sklearn_onnx(model, threads)
    except ImportError as exc:
        if runtime == "onnx":
            raise FtiError(f"runtime='onnx' needs: pip install fti[onnx] ({exc})") from exc
        return None
    except Exception as exc:  # any converter failure: the native model still serves
        if runtime == "onnx":
            raise FtiError(f"cannot compile {type(model).__name__} to ONNX: {exc}") from exc
        log.warning("serving %s natively: ONNX conversion failed: %s", type(model).__name__, exc)
        return None
    if compiled is None and runtime == "onnx":
        raise FtiError(
            f"runtime='onnx' supports XGBoost and scikit-learn models, not {type(model).__name__}"
        )
    return compiled


def _xgboost_onnx(model: Any, threads: int) -> Predict | None:
    if not type(model).__module__.startswith("xgboost") or not hasattr(model, "get_booster"):
        return None
    from onnxmltools import convert_xgboost
    from onnxmltools.convert.common.data_types import FloatTensorType

    booster = model.get_booster().copy()
    n = booster.num_features()
    booster.feature_names = None  # the converter addresses features as f0, f1, ...
    booster.feature_types = None
    onx = convert_xgboost(
        booster, initial_types=[("x", FloatTensorType([None, n]))], target_opset=15
    )
    return _checked(model, _session(onx, threads), _probes(booster, n))


def _sklearn_onnx(model: Any, threads: int) -> Predict | None:
    """A fitted scikit-learn estimator or pipeline on numeric features (skl2onnx)."""
    if not type(model).__module__.startswith("sklearn") or not hasattr(model, "n_features_in_"):
        return None
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import FloatTensorType

    n = int(model.n_features_in_)
    options = {id(model): {"zipmap": False}} if hasattr(model, "classes_") else None
    onx = to_onnx(
        model,
        initial_types=[("x", FloatTensorType([None, n]))],
        options=options,
        target_opset=15,
    )
    rng = np.random.default_rng(0)
    # no thresholds to aim at: values of every magnitude, and zeros
    scale = 10.0 ** rng.integers(-2, 4, size=(PROBE_ROWS, 1))
    probes = (rng.normal(size=(PROBE_ROWS, n)) * scale).astype(np.float32)
    probes[rng.random(probes.shape) < 0.05] = 0
    compiled = _checked(model, _session(onx, threads), probes, by_probability=True)
    frame = _native_frame(model)

    def predict(x: np.ndarray) -> np.ndarray:
        if np.isnan(x).any():  # scikit-learn refuses missing values: so must we, the same way
            return np.asarray(model.predict(frame(x)))
        return compiled(x)

    return predict


def _native_frame(model: Any) -> Callable[[np.ndarray], Any]:
    names = getattr(model, "feature_names_in_", None)
    if names is None:
        return lambda x: x
    import pandas as pd

    return lambda x: pd.DataFrame(x, columns=list(names))


def _session(onx: Any, threads: int) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    return ort.InferenceSession(
        onx.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )


def _checked(model: Any, session: Any, probes: np.ndarray, by_probability: bool = False) -> Predict:
    """The session as ``model.predict``, once it answered like the model on ``probes``.
    ``by_probability``: classes from the most probable column (the label output of some
    converters is not in the model's label type)."""
    outputs = [o.name for o in session.get_outputs()]
    run = session.run
    native = _native_frame(model)
    if not hasattr(model, "classes_"):

        def predict(x: np.ndarray) -> np.ndarray:
            return np.asarray(run(outputs[:1], {"x": x})[0]).ravel()

        expected = np.asarray(model.predict(native(probes))).ravel()
        if not np.allclose(predict(probes), expected, rtol=TOLERANCE, atol=TOLERANCE):
            raise FtiError("the ONNX model's predictions differ from the native model's")
        return predict
    classes = np.asarray(model.classes_)

    def probabilities(x: np.ndarray) -> np.ndarray:
        return np.asarray(run(outputs[1:2], {"x": x})[0])

    if by_probability:

        def predict(x: np.ndarray) -> np.ndarray:
            return np.asarray(classes[probabilities(x).argmax(axis=1)])

    else:

        def predict(x: np.ndarray) -> np.ndarray:
            return np.asarray(classes[run(outputs[:1], {"x": x})[0]])

    _check_classifier(model, native, predict, probabilities, probes)
    return predict


def _probes(booster: Any, n: int) -> np.ndarray:
    """Rows whose values sit on, just below and just above every split threshold (and are
    missing), mixed at random so each tree sees both sides of its splits."""
    frame = booster.trees_to_dataframe()
    splits = frame[frame["Feature"] != "Leaf"]
    rng = np.random.default_rng(0)
    matrix = np.empty((PROBE_ROWS, n), dtype=np.float32)
    for j in range(n):
        name = f"f{j}"
        values = splits.loc[splits["Feature"] == name, "Split"].to_numpy(np.float32)
        candidates = [np.float32(np.nan), np.float32(0)]
        for v in values:
            candidates += [
                v,
                np.nextafter(v, np.float32(-np.inf)),
                np.nextafter(v, np.float32(np.inf)),
            ]
        matrix[:, j] = rng.choice(np.asarray(candidates, dtype=np.float32), PROBE_ROWS)
    return matrix


def _check_classifier(
    model: Any,
    native_input: Callable[[np.ndarray], Any],
    predict: Predict,
    probabilities: Predict,
    x: np.ndarray,
) -> None:
    native = np.asarray(model.predict_proba(native_input(x)))
    compiled = probabilities(x)
    if compiled.shape != native.shape or not np.allclose(compiled, native, atol=TOLERANCE):
        raise FtiError("the ONNX model's probabilities differ from the native model's")
    margin = np.sort(native, axis=1)
    clear = (margin[:, -1] - margin[:, -2]) > 2 * TOLERANCE  # not a near-tie
    if not np.array_equal(predict(x)[clear], np.asarray(model.predict(native_input(x)))[clear]):
        raise FtiError("the ONNX model's classes differ from the native model's")
