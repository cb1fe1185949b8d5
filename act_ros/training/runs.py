"""A training run folder: ``model.keras`` (best-validation checkpoint), ``run.json`` (what the
model expects and how it was trained), ``parity_features.npy`` (real validation windows for the
export parity check), ``history.csv``, ``curves.png``, ``confusion_*.png``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from act_ros.model_spec import ModelSpec

RUN_FILE = "run.json"
MODEL_FILE = "model.keras"


def load_run_info(run_dir: str | Path) -> dict[str, Any]:
    run_dir = Path(run_dir)
    path = run_dir / RUN_FILE
    if not path.is_file():
        raise FileNotFoundError(
            f"{run_dir} is not a training run folder: no {RUN_FILE} (made by `act-ros train`)"
        )
    return json.loads(path.read_text())


def load_run(run_dir: str | Path):
    """(Keras model, run info) of a training run folder."""
    import keras

    import act_ros.training.model  # noqa: F401  (registers the custom layers)

    info = load_run_info(run_dir)
    model = keras.saving.load_model(Path(run_dir) / MODEL_FILE, compile=False)
    return model, info


def run_model_spec(run_dir: str | Path, info: dict[str, Any]) -> ModelSpec:
    """The description of a run's Keras model, in the same form as an exported model's (not a
    file: ``precision`` is "keras" and there is no checksum), so both are checked alike."""
    from act_ros.preprocessing import FEATURE_SPEC, NUM_FEATURES, PREPROCESSING_VERSION

    return ModelSpec(
        name=Path(run_dir).name,
        size=info["size"],
        class_names=tuple(info["class_names"]),
        keypoint_layout=info["keypoint_layout"],
        window_length=int(info["window_length"]),
        num_features=NUM_FEATURES,
        feature_spec=FEATURE_SPEC,
        preprocessing_version=PREPROCESSING_VERSION,
        dynamic_length=True,
        dynamic_batch=True,
        precision="keras",
        sha256="",
        frame_rate=info.get("frame_rate"),
    )


def save_run_info(run_dir: str | Path, info: dict[str, Any]) -> Path:
    path = Path(run_dir) / RUN_FILE
    path.write_text(json.dumps(info, indent=2, default=_jsonable) + "\n")
    return path


def _jsonable(value):
    import numpy as np

    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value)}")
