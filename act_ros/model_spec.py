"""Machine-readable description of an exported AcT model: a JSON sidecar ``<model>.json`` next
to ``<model>.tflite``, written at export and checked at load time, so a model is never fed input
it was not trained on (the reference's 39-vs-52 input confusion).
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SPEC_FORMAT_VERSION = 1


class ModelMismatchError(ValueError):
    """A model file, or its description, does not match what the caller needs. The message
    names the file, what was expected and what was found."""


@dataclass(frozen=True)
class ModelSpec:
    name: str
    size: str                        # micro | small | medium | large | custom
    class_names: tuple[str, ...]
    keypoint_layout: str             # layout of the poses the features were computed from
    window_length: int               # T the model was trained with
    num_features: int                # 52
    feature_spec: str                # preprocessing.FEATURE_SPEC at export time
    preprocessing_version: int       # preprocessing.PREPROCESSING_VERSION at export time
    dynamic_length: bool             # accepts 1..T frames
    dynamic_batch: bool              # accepts any batch size in one invoke
    precision: str                   # fp32 | fp16 | int8-dynamic
    sha256: str                      # of the .tflite file
    frame_rate: float | None = None  # fps of the training data; None = unknown/as recorded
    ensemble_size: int = 1           # models whose logits the file averages internally
    format_version: int = SPEC_FORMAT_VERSION
    training: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def to_json(self) -> str:
        data = dataclasses.asdict(self)
        data["class_names"] = list(self.class_names)
        return json.dumps(data, indent=2, sort_keys=False) + "\n"

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "<dict>") -> ModelSpec:
        names = {f.name for f in dataclasses.fields(cls)}
        required = {f.name for f in dataclasses.fields(cls)
                    if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING}
        missing = sorted(required - set(data))
        if missing:
            raise ModelMismatchError(
                f"{source}: model description lacks the fields {missing} "
                f"(expected an act_ros model description, format {SPEC_FORMAT_VERSION})")
        kwargs = {k: v for k, v in data.items() if k in names}
        kwargs["class_names"] = tuple(str(c) for c in kwargs["class_names"])
        try:
            spec = cls(**kwargs)
        except TypeError as exc:  # pragma: no cover - defensive
            raise ModelMismatchError(f"{source}: invalid model description: {exc}") from exc
        if spec.format_version > SPEC_FORMAT_VERSION:
            raise ModelMismatchError(
                f"{source}: description format {spec.format_version} is newer than this "
                f"act_ros understands ({SPEC_FORMAT_VERSION}); update act_ros")
        return spec

    def check(self, source: str, *, keypoint_layout: str | None = None,
              num_features: int | None = None, preprocessing_version: int | None = None,
              class_names: tuple[str, ...] | None = None,
              window_length: int | None = None) -> None:
        """Raise ModelMismatchError naming ``source`` if the model does not fit the caller
        (``window_length``: the caller's windows, at most the model's T)."""
        problems = []
        if keypoint_layout is not None and self.keypoint_layout != keypoint_layout:
            problems.append(f"keypoint layout: caller feeds {keypoint_layout!r}, model expects "
                            f"{self.keypoint_layout!r}")
        if num_features is not None and self.num_features != num_features:
            problems.append(f"features per frame: caller feeds {num_features}, model expects "
                            f"{self.num_features}")
        if preprocessing_version is not None and self.preprocessing_version != preprocessing_version:
            problems.append(f"preprocessing version: this act_ros computes version "
                            f"{preprocessing_version}, the model was trained on version "
                            f"{self.preprocessing_version} (re-export or retrain it)")
        if class_names is not None and tuple(class_names) != self.class_names:
            problems.append(f"class names: expected {list(class_names)}, model has "
                            f"{list(self.class_names)}")
        if window_length is not None and window_length > self.window_length:
            problems.append(f"window length: caller feeds {window_length} frames, model takes "
                            f"at most {self.window_length}")
        if problems:
            raise ModelMismatchError(f"{source}: model does not match: " + "; ".join(problems))


def sidecar_path(model_path: str | Path) -> Path:
    """``model.tflite`` -> ``model.json``."""
    return Path(model_path).with_suffix(".json")


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def write_model_spec(model_path: str | Path, spec: ModelSpec) -> Path:
    """Write ``spec`` (with the checksum of ``model_path``) as the sidecar; return its path."""
    spec = dataclasses.replace(spec, sha256=file_sha256(model_path))
    path = sidecar_path(model_path)
    path.write_text(spec.to_json())
    return path


def load_model_spec(model_path: str | Path, verify_checksum: bool = True) -> ModelSpec:
    """Read the sidecar of ``model_path`` and check that it describes this very file.

    Raises FileNotFoundError if the model file is missing, ModelMismatchError if the sidecar is
    missing, unreadable, or its checksum does not match the file.
    """
    model_path = Path(model_path)
    if not model_path.is_file():
        raise FileNotFoundError(f"AcT model file not found: {model_path} (expected a .tflite file "
                                f"with its description {sidecar_path(model_path).name} beside it)")
    side = sidecar_path(model_path)
    if not side.is_file():
        raise ModelMismatchError(
            f"{model_path}: no model description found; expected {side} (written by "
            f"`act-ros export`) with class names, keypoint layout, window length and features")
    try:
        data = json.loads(side.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelMismatchError(f"{side}: unreadable model description ({exc}); expected the "
                                 f"JSON written by `act-ros export`") from exc
    if not isinstance(data, dict):
        raise ModelMismatchError(f"{side}: expected a JSON object describing the model")
    spec = ModelSpec.from_dict(data, source=str(side))
    if verify_checksum:
        actual = file_sha256(model_path)
        if actual != spec.sha256:
            raise ModelMismatchError(
                f"{model_path}: checksum mismatch: its description {side.name} expects sha256 "
                f"{spec.sha256}, the file has {actual} (model replaced without re-exporting?)")
    return spec
