"""Run exported AcT models with the TFLite runtime: one model or an ensemble, many people per
invoke. No TensorFlow here: ai-edge-litert (preferred) or tflite-runtime (fallback).

Ensembles (paper's AcT-mu xN) come in two forms and both work here: a list of model files whose
logits are averaged, or a single file exported with the averaging inside (``ensemble_size`` in
its description).

An ``ActClassifier`` is not thread-safe (TFLite interpreters are not): use one per thread.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from act_ros.model_sizes import MODEL_SIZES
from act_ros.model_spec import ModelMismatchError, ModelSpec, load_model_spec
from act_ros.preprocessing import NUM_FEATURES, PREPROCESSING_VERSION, pad_front

MODELS_DIR = Path(__file__).resolve().parent / "models"


def _shipped() -> tuple[str, ...]:
    return tuple(s for s in MODEL_SIZES if (MODELS_DIR / f"act_{s}.tflite").is_file())


SHIPPED_SIZES: tuple[str, ...] = _shipped()


def shipped_model_path(size: str) -> Path:
    """Path of the default model of ``size`` shipped in ``act_ros/models``."""
    path = MODELS_DIR / f"act_{size}.tflite"
    if not path.is_file():
        shipped = ", ".join(_shipped()) or "none"
        raise FileNotFoundError(
            f"no shipped AcT model of size {size!r} (expected {path}); shipped sizes: {shipped}. "
            f"Train and export one with `act-ros train` / `act-ros export`, or pass a model path"
        )
    return path


def load_interpreter_class():
    """The TFLite Interpreter class: ai-edge-litert if installed, else tflite-runtime."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        try:
            from tflite_runtime.interpreter import Interpreter
        except ImportError as exc:
            raise ImportError(
                "no TFLite runtime: install ai-edge-litert (preferred) or tflite-runtime"
            ) from exc
    return Interpreter


class _Member:
    """One .tflite model: interpreters allocated for the input shapes it recently ran.

    Resizing an interpreter re-plans the graph (allocate_tensors): for AcT-micro and 4-5 people
    that cost more than the inference itself, and the number of people ready changes from one
    message to the next as people come and go. So each recent (N, t) keeps its own interpreter
    (at most ``MAX_SHAPES``; the least recently used one is resized when a new shape comes).
    """

    MAX_SHAPES = 4

    def __init__(self, path: Path, spec: ModelSpec, num_threads: int) -> None:
        self.path = path
        self.num_threads = int(num_threads)
        interpreter = self._new_interpreter()
        inp = interpreter.get_input_details()
        out = interpreter.get_output_details()
        # load_model_spec checked the shapes against the description from the file itself.
        self.input_index = inp[0]["index"]
        self.output_index = out[0]["index"]
        signature = [int(d) for d in inp[0].get("shape_signature", inp[0]["shape"])]
        self.dynamic_batch = signature[0] == -1 and spec.dynamic_batch
        self.dynamic_length = signature[1] == -1 and spec.dynamic_length
        self._by_shape: OrderedDict[tuple[int, ...], Any] = OrderedDict(
            {tuple(int(d) for d in inp[0]["shape"]): interpreter}
        )

    def _new_interpreter(self) -> Any:
        interpreter_cls = load_interpreter_class()
        try:
            # The default op resolver applies XNNPACK (6x faster than without it here).
            interpreter = interpreter_cls(model_path=str(self.path), num_threads=self.num_threads)
            interpreter.allocate_tensors()
        except (ValueError, RuntimeError) as exc:
            raise ModelMismatchError(
                f"{self.path}: the TFLite runtime cannot load it: {_first_line(exc)}"
            ) from None
        return interpreter

    def _interpreter_for(self, shape: tuple[int, ...]) -> Any:
        interpreter = self._by_shape.get(shape)
        if interpreter is not None:
            self._by_shape.move_to_end(shape)
            return interpreter
        if len(self._by_shape) < self.MAX_SHAPES:
            interpreter = self._new_interpreter()
        else:
            interpreter = self._by_shape.popitem(last=False)[1]
        interpreter.resize_tensor_input(self.input_index, list(shape), strict=False)
        interpreter.allocate_tensors()
        self._by_shape[shape] = interpreter
        return interpreter

    def run(self, x: np.ndarray) -> np.ndarray:
        interpreter = self._interpreter_for(tuple(x.shape))
        interpreter.set_tensor(self.input_index, x)
        interpreter.invoke()
        return np.array(interpreter.get_tensor(self.output_index), dtype=np.float32)


class ActClassifier:
    """AcT inference on feature windows (from :func:`act_ros.preprocessing.pose_features`).

    ``model_paths``: one .tflite file, or several (an ensemble: logits averaged). Each carries
    its description (``act_ros.model_spec``); all must agree on classes, layout and window
    length. Loading checks each description against its graph and runs a full window once, so a
    model that lies or breaks is refused here (ModelMismatchError), never at the first message.
    """

    def __init__(
        self,
        model_paths: str | Path | Sequence[str | Path],
        num_threads: int = 1,
        expected_layout: str | None = None,
    ) -> None:
        paths = (
            [Path(model_paths)] if isinstance(model_paths, (str, Path)) else [Path(p) for p in model_paths]
        )
        if not paths:
            raise ValueError("ActClassifier needs at least one model path")
        if num_threads < 1:
            raise ValueError(f"num_threads must be >= 1, got {num_threads}")
        self.model_paths: tuple[Path, ...] = tuple(paths)
        self.specs: tuple[ModelSpec, ...] = tuple(load_model_spec(p) for p in paths)
        first = self.specs[0]
        for path, spec in zip(paths, self.specs):
            spec.check(
                str(path),
                keypoint_layout=expected_layout,
                num_features=NUM_FEATURES,
                preprocessing_version=PREPROCESSING_VERSION,
            )
            if (
                spec.class_names != first.class_names
                or spec.keypoint_layout != first.keypoint_layout
                or spec.window_length != first.window_length
            ):
                raise ModelMismatchError(
                    f"{path}: ensemble member does not match {paths[0]}: expected classes "
                    f"{list(first.class_names)}, layout {first.keypoint_layout!r}, T="
                    f"{first.window_length}; got {list(spec.class_names)}, "
                    f"{spec.keypoint_layout!r}, T={spec.window_length}"
                )
        self.spec: ModelSpec = first
        self.class_names: tuple[str, ...] = first.class_names
        self.window_length: int = first.window_length
        self.num_threads = int(num_threads)
        self._members = [_Member(p, s, num_threads) for p, s in zip(paths, self.specs)]
        # Run a full window once, now, instead of failing at the first pose message: a graph
        # that cannot take the described window fails inside the runtime with an op's error.
        probe = np.zeros((1, self.window_length, NUM_FEATURES), np.float32)
        for path, member, spec in zip(paths, self._members, self.specs):
            try:
                out = member.run(probe)
            except (ValueError, RuntimeError) as exc:
                raise ModelMismatchError(
                    f"{path}: expected to classify a window of {spec.window_length} frames as "
                    f"its description says, the TFLite runtime failed: {_first_line(exc)}"
                ) from None
            if out.shape != (1, len(self.class_names)) or not np.isfinite(out).all():
                raise ModelMismatchError(
                    f"{path}: expected {len(self.class_names)} finite scores (one per class of "
                    f"its description), found output {out.shape} on a zero window"
                )

    @property
    def ensemble_size(self) -> int:
        """Number of models averaged (files x models averaged inside each file)."""
        return sum(s.ensemble_size for s in self.specs)

    def _check(self, features: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(features, dtype=np.float32)
        if x.ndim != 3 or x.shape[2] != NUM_FEATURES:
            raise ValueError(f"expected features of shape (N, t, {NUM_FEATURES}), got {x.shape}")
        if not 1 <= x.shape[1] <= self.window_length:
            raise ValueError(f"window length must be 1..{self.window_length} frames, got {x.shape[1]}")
        if not np.isfinite(np.sum(x)):  # one reduction: NaN/inf propagate, no mask allocated
            raise ValueError("features contain NaN or inf (use preprocessing.pose_features)")
        return x

    def predict_logits(self, features: np.ndarray) -> np.ndarray:
        """(N, t, 52) features, 1 <= t <= T -> (N, C) logits, averaged over the ensemble."""
        x = self._check(features)
        n = x.shape[0]
        if n == 0:
            return np.zeros((0, len(self.class_names)), np.float32)
        if len(self._members) == 1 and self._members[0].dynamic_batch and self._members[0].dynamic_length:
            return self._members[0].run(x)  # the hot path: one model, one invoke
        total = None
        for member, spec in zip(self._members, self.specs):
            xm = x if member.dynamic_length else pad_front(x, self.window_length)
            if member.dynamic_batch:
                logits = member.run(xm)
            else:
                logits = np.concatenate([member.run(xm[i : i + 1]) for i in range(n)])
            # A file holding k averaged models weighs k in a list ensemble.
            logits = logits * spec.ensemble_size
            total = logits if total is None else total + logits
        return (total / self.ensemble_size).astype(np.float32)

    @property
    def temperature(self) -> float:
        """The calibration temperature of a single model file (a list ensemble of files was
        not calibrated as a whole: 1)."""
        return float(self.spec.temperature) if len(self.specs) == 1 else 1.0

    @property
    def unknown_threshold(self) -> float:
        """The reject threshold of a single model file's description (list ensemble: 0)."""
        return float(self.spec.unknown_threshold) if len(self.specs) == 1 else 0.0

    @property
    def reject_rule(self) -> str:
        """The rule ``unknown_threshold`` applies to (act_ros.reject; list ensemble: the
        probability rule, at 0 = never)."""
        return str(self.spec.reject_rule) if len(self.specs) == 1 else "max_probability"

    def predict_proba(self, features: np.ndarray) -> np.ndarray:
        """Calibrated class probabilities: softmax(averaged logits / temperature), (N, t, 52)
        -> (N, C), rows sum to 1."""
        return softmax(self.predict_logits(features) / self.temperature)


def _first_line(exc: BaseException) -> str:
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    return " / ".join(lines[:3]) if lines else type(exc).__name__


def softmax(logits: np.ndarray) -> np.ndarray:
    z = np.asarray(logits, dtype=np.float64)
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return (e / e.sum(axis=-1, keepdims=True)).astype(np.float32)
