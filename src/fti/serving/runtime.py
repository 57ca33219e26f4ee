"""Fast single-row prediction for tree ensembles: the model compiled to ONNX Runtime.

XGBoost spends ~250 µs on the overhead of one ``predict`` call (configuration parsing, thread
set-up), most of the time of an online prediction. The same trees in ONNX Runtime answer one
row in ~10 µs. The conversion is onnxmltools' (the ONNX project's converter) and it is trusted
only after checking: the compiled model must give the native model's answers on probe rows
built from the trees' own split thresholds (on, just below and just above each, and missing
values), so every branch is taken both ways. A model that fails the check, or a framework that
cannot be converted, is served natively (``runtime="auto"``) or refused (``runtime="onnx"``).

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
        compiled = _xgboost_onnx(model, threads)
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
        raise FtiError(f"runtime='onnx' supports XGBoost models, not {type(model).__name__}")
    return compiled


def _xgboost_onnx(model: Any, threads: int) -> Predict | None:
    if not type(model).__module__.startswith("xgboost") or not hasattr(model, "get_booster"):
        return None
    import onnxruntime as ort
    from onnxmltools import convert_xgboost
    from onnxmltools.convert.common.data_types import FloatTensorType

    booster = model.get_booster().copy()
    n = booster.num_features()
    booster.feature_names = None  # the converter addresses features as f0, f1, ...
    booster.feature_types = None
    classifier = hasattr(model, "classes_")
    onx = convert_xgboost(
        booster, initial_types=[("x", FloatTensorType([None, n]))], target_opset=15
    )
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    session = ort.InferenceSession(
        onx.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )
    outputs = [o.name for o in session.get_outputs()]
    run = session.run

    if classifier:
        classes = np.asarray(model.classes_)

        def predict(x: np.ndarray) -> np.ndarray:
            return np.asarray(classes[run(outputs[:1], {"x": x})[0]])

        def probabilities(x: np.ndarray) -> np.ndarray:
            return np.asarray(run(outputs[1:2], {"x": x})[0])

        _check_classifier(model, predict, probabilities, _probes(booster, n))
    else:

        def predict(x: np.ndarray) -> np.ndarray:
            return np.asarray(run(outputs[:1], {"x": x})[0]).ravel()

        probes = _probes(booster, n)
        expected = np.asarray(model.predict(probes)).ravel()
        got = predict(probes)
        if not np.allclose(got, expected, rtol=TOLERANCE, atol=TOLERANCE):
            raise FtiError("the ONNX model's predictions differ from the native model's")
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


def _check_classifier(model: Any, predict: Predict, probabilities: Predict, x: np.ndarray) -> None:
    native = np.asarray(model.predict_proba(x))
    compiled = probabilities(x)
    if compiled.shape != native.shape or not np.allclose(compiled, native, atol=TOLERANCE):
        raise FtiError("the ONNX model's probabilities differ from the native model's")
    margin = np.sort(native, axis=1)
    clear = (margin[:, -1] - margin[:, -2]) > 2 * TOLERANCE  # not a near-tie
    if not np.array_equal(predict(x)[clear], np.asarray(model.predict(x))[clear]):
        raise FtiError("the ONNX model's classes differ from the native model's")
