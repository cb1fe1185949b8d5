"""Machine-readable description of an exported AcT model, so a model is never fed input it was
not trained on (the reference's 39-vs-52 input confusion) and never lies about its labels.

Format 2 (written by ``act-ros export``): the description is JSON embedded in the .tflite itself,
as the TFLite metadata entry ``act_ros.model_spec`` (the way MediaPipe bundles describe their
models), so it travels with the weights. ``<model>.json`` beside it is a readable copy that
also holds the file's SHA-256; when present it must agree with the embedded one.

At load, the description is checked three ways: every value against its allowed range
(:meth:`ModelSpec.validate`), the embedded copy against the sidecar, and the description against
the graph it describes (:mod:`act_ros.model_checks`). Every error names the file, what was
expected and what was found.

Format 1 (a sidecar only, act_ros before the embedding) is refused with the one command that
upgrades it: its description could be edited apart from the model (labels reversed, a window
the graph cannot run), and embedding it is lossless and needs no TensorFlow.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from act_ros.layouts import LAYOUTS
from act_ros.model_sizes import MODEL_SIZES
from act_ros.model_checks import graph_problems
from act_ros.reject import REJECT_RULES
from act_ros.tflite_file import TfliteFileError, TfliteModel, read_tflite, with_metadata

# 3: reject_rule (the unknown threshold may be a calibrated logit); 2: description embedded.
SPEC_FORMAT_VERSION = 3
EMBEDDED_NAME = "act_ros.model_spec"  # the TFLite metadata entry holding the description
PRECISIONS: tuple[str, ...] = ("fp32", "fp16", "int8-dynamic")
SIZES: tuple[str, ...] = MODEL_SIZES + ("custom",)
# Bounds of a sane description. Names go into logs and ROS messages: printable, short.
MAX_CLASSES = 1000
MAX_CLASS_NAME_LENGTH = 64
MAX_NAME_LENGTH = 200
MAX_FEATURE_SPEC_LENGTH = 2000
MAX_WINDOW_LENGTH = 300  # frames: the AcT node's window_length range
MIN_FRAME_RATE, MAX_FRAME_RATE = 1.0, 240.0  # fps: the AcT node's sample_rate range
MAX_ENSEMBLE_SIZE = 32
MIN_TEMPERATURE, MAX_TEMPERATURE = 0.05, 20.0  # the range `act-ros calibrate` searches
MAX_LOGIT_THRESHOLD = 1000.0  # a max_logit threshold beyond this is no calibration
MAX_DESCRIPTION_BYTES = 1 << 20


class ModelMismatchError(ValueError):
    """A model file, or its description, does not match what the caller needs. The message
    names the file, what was expected and what was found."""


def show(value: Any, limit: int = 80) -> str:
    """``value`` for an error message: escaped (repr: no raw control characters) and bounded."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def text_problems(what: str, value: Any, max_length: int) -> list[str]:
    if not isinstance(value, str):
        return [f"{what}: expected text, found {show(value)}"]
    if not value or value != value.strip():
        return [f"{what}: expected non-empty text without surrounding spaces, found {show(value)}"]
    if len(value) > max_length:
        return [f"{what}: expected at most {max_length} characters, found {show(value)}"]
    if not value.isprintable():
        return [
            f"{what}: expected printable characters only (no control or escape "
            f"characters), found {show(value)}"
        ]
    return []


def class_name_problems(names: Any) -> list[str]:
    """Why ``names`` cannot be a model's class names ([] = they can): a list of 2..MAX_CLASSES
    unique, non-empty, printable names of at most MAX_CLASS_NAME_LENGTH characters."""
    if not isinstance(names, (list, tuple)):
        return [f"class_names: expected a list of names, found {show(names)}"]
    if not 2 <= len(names) <= MAX_CLASSES:
        return [f"class_names: expected 2..{MAX_CLASSES} classes, found {len(names)}"]
    problems = []
    for i, name in enumerate(names):
        problems += text_problems(f"class_names[{i}]", name, MAX_CLASS_NAME_LENGTH)
    repeated = sorted({n for n in names if isinstance(n, str) and names.count(n) > 1})
    if repeated:
        problems.append(f"class_names: expected unique names, found {show(repeated)} repeated")
    return problems


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


@dataclass(frozen=True)
class ModelSpec:
    name: str
    size: str  # micro | small | medium | large | custom
    class_names: tuple[str, ...]
    keypoint_layout: str  # layout of the poses the features were computed from
    window_length: int  # T the model was trained with
    num_features: int  # 52
    feature_spec: str  # preprocessing.FEATURE_SPEC at export time
    preprocessing_version: int  # preprocessing.PREPROCESSING_VERSION at export time
    dynamic_length: bool  # accepts 1..T frames
    dynamic_batch: bool  # accepts any batch size in one invoke
    precision: str  # fp32 | fp16 | int8-dynamic
    sha256: str  # of the .tflite file (sidecar only: a file cannot hash itself)
    frame_rate: float | None = None  # fps of the training data; None = unknown/as recorded
    ensemble_size: int = 1  # models whose logits the file averages internally
    # Calibration (act-ros calibrate): probabilities = softmax(logits / temperature), fitted on
    # validation subjects; a window whose ``reject_rule`` score (act_ros.reject) is below
    # ``unknown_threshold`` is "unknown" (max_probability: a probability, 0 = never; max_logit:
    # a calibrated logit). Part of the embedded description like every field.
    temperature: float = 1.0
    unknown_threshold: float = 0.0
    reject_rule: str = "max_probability"
    format_version: int = SPEC_FORMAT_VERSION
    training: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["class_names"] = list(self.class_names)
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=False) + "\n"

    def problems(self) -> list[str]:
        """Every value outside its allowed range or type ([] = a valid description)."""
        p = text_problems("name", self.name, MAX_NAME_LENGTH)
        if self.size not in SIZES:
            p.append(f"size: expected one of {list(SIZES)}, found {show(self.size)}")
        p += class_name_problems(list(self.class_names))
        if self.keypoint_layout not in LAYOUTS:
            p.append(f"keypoint_layout: expected one of {list(LAYOUTS)}, found {show(self.keypoint_layout)}")
        for key, low, high in (
            ("window_length", 1, MAX_WINDOW_LENGTH),
            ("num_features", 1, 10_000),
            ("preprocessing_version", 1, 10_000),
            ("ensemble_size", 1, MAX_ENSEMBLE_SIZE),
            ("format_version", 1, 10_000),
        ):
            value = getattr(self, key)
            if not _is_int(value) or not low <= value <= high:
                p.append(f"{key}: expected an integer in {low}..{high}, found {show(value)}")
        p += text_problems("feature_spec", self.feature_spec, MAX_FEATURE_SPEC_LENGTH)
        for key in ("dynamic_length", "dynamic_batch"):
            if not isinstance(getattr(self, key), bool):
                p.append(f"{key}: expected true or false, found {show(getattr(self, key))}")
        if self.precision not in PRECISIONS:
            p.append(f"precision: expected one of {list(PRECISIONS)}, found {show(self.precision)}")
        fr = self.frame_rate
        if fr is not None and not (_is_number(fr) and MIN_FRAME_RATE <= fr <= MAX_FRAME_RATE):
            p.append(
                f"frame_rate: expected {MIN_FRAME_RATE:g}..{MAX_FRAME_RATE:g} frames per "
                f"second (or null = unknown), found {show(fr)}"
            )
        t = self.temperature
        if not (_is_number(t) and MIN_TEMPERATURE <= t <= MAX_TEMPERATURE):
            p.append(
                f"temperature: expected {MIN_TEMPERATURE:g}..{MAX_TEMPERATURE:g} (1 = not "
                f"calibrated), found {show(t)}"
            )
        u, rule = self.unknown_threshold, self.reject_rule
        if rule not in REJECT_RULES:
            p.append(f"reject_rule: expected one of {', '.join(REJECT_RULES)}, found {show(rule)}")
        elif rule == "max_probability" and not (_is_number(u) and 0.0 <= u <= 1.0):
            p.append(
                f"unknown_threshold: expected a probability in 0..1 (0 = never 'unknown'), found {show(u)}"
            )
        elif rule == "max_logit" and not (_is_number(u) and abs(u) <= MAX_LOGIT_THRESHOLD):
            p.append(
                f"unknown_threshold: expected a calibrated logit within +-{MAX_LOGIT_THRESHOLD:g} "
                f"(reject_rule max_logit), found {show(u)}"
            )
        if not isinstance(self.sha256, str) or (
            self.sha256 and (len(self.sha256) != 64 or any(c not in "0123456789abcdef" for c in self.sha256))
        ):
            p.append(f"sha256: expected 64 lowercase hex digits, found {show(self.sha256)}")
        if not isinstance(self.training, dict):
            p.append(f"training: expected an object, found {show(self.training)}")
        return p

    def validate(self, source: str) -> ModelSpec:
        """``self`` if valid, else ModelMismatchError naming ``source`` and every problem."""
        problems = self.problems()
        if problems:
            raise ModelMismatchError(f"{source}: invalid model description: " + "; ".join(problems))
        return self

    @classmethod
    def from_dict(cls, data: Any, source: str = "<dict>") -> ModelSpec:
        """The description in ``data`` (parsed JSON), validated."""
        if not isinstance(data, dict):
            raise ModelMismatchError(
                f"{source}: expected a JSON object describing the model, found {show(data)}"
            )
        names = {f.name for f in dataclasses.fields(cls)}
        required = {
            f.name
            for f in dataclasses.fields(cls)
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        }
        missing = sorted(required - set(data))
        if missing:
            raise ModelMismatchError(
                f"{source}: model description lacks the fields {missing} "
                f"(expected an act_ros model description, format {SPEC_FORMAT_VERSION})"
            )
        version = data.get("format_version", SPEC_FORMAT_VERSION)
        if _is_int(version) and version > SPEC_FORMAT_VERSION:
            raise ModelMismatchError(
                f"{source}: description format {version} is newer than this "
                f"act_ros understands ({SPEC_FORMAT_VERSION}); update act_ros"
            )
        kwargs = {k: v for k, v in data.items() if k in names}
        problems = class_name_problems(kwargs["class_names"])
        if problems:  # before the tuple conversion below hides non-text names
            raise ModelMismatchError(f"{source}: invalid model description: " + "; ".join(problems))
        kwargs["class_names"] = tuple(kwargs["class_names"])
        return cls(**kwargs).validate(source)

    def check(
        self,
        source: str,
        *,
        keypoint_layout: str | None = None,
        num_features: int | None = None,
        preprocessing_version: int | None = None,
        class_names: tuple[str, ...] | None = None,
        window_length: int | None = None,
    ) -> None:
        """Raise ModelMismatchError naming ``source`` if the model does not fit the caller
        (``window_length``: the caller's windows, at most the model's T)."""
        problems = []
        if keypoint_layout is not None and self.keypoint_layout != keypoint_layout:
            problems.append(
                f"keypoint layout: caller feeds {keypoint_layout!r}, model expects {self.keypoint_layout!r}"
            )
        if num_features is not None and self.num_features != num_features:
            problems.append(
                f"features per frame: caller feeds {num_features}, model expects {self.num_features}"
            )
        if preprocessing_version is not None and self.preprocessing_version != preprocessing_version:
            problems.append(
                f"preprocessing version: this act_ros computes version "
                f"{preprocessing_version}, the model was trained on version "
                f"{self.preprocessing_version} (re-export or retrain it)"
            )
        if class_names is not None and tuple(class_names) != self.class_names:
            problems.append(f"class names: expected {list(class_names)}, model has {list(self.class_names)}")
        if window_length is not None and window_length > self.window_length:
            problems.append(
                f"window length: caller feeds {window_length} frames, model takes "
                f"at most {self.window_length}"
            )
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


def upgrade_command(model_path: str | Path) -> str:
    return f"act-ros export --embed-description {model_path}"


def _parse_json(raw: bytes | str, source: str) -> Any:
    if len(raw) > MAX_DESCRIPTION_BYTES:
        raise ModelMismatchError(
            f"{source}: model description of {len(raw)} bytes; expected at most {MAX_DESCRIPTION_BYTES}"
        )
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelMismatchError(
            f"{source}: unreadable model description ({exc}); expected the JSON written by `act-ros export`"
        ) from None


def _read_sidecar(side: Path) -> dict[str, Any]:
    try:
        raw = side.read_bytes()
    except OSError as exc:
        raise ModelMismatchError(f"{side}: unreadable model description ({exc})") from None
    data = _parse_json(raw, str(side))
    if not isinstance(data, dict):
        raise ModelMismatchError(f"{side}: expected a JSON object describing the model, found {show(data)}")
    return data


def _differences(embedded: dict, sidecar: dict, side_name: str) -> list[str]:
    keys = [k for k in dict.fromkeys([*embedded, *sidecar]) if k != "sha256"]
    return [
        f"{k}: embedded {show(embedded.get(k), 200)}, {side_name} {show(sidecar.get(k), 200)}"
        for k in keys
        if embedded.get(k) != sidecar.get(k)
    ]


def _open(model_path: Path):
    if not model_path.is_file():
        raise FileNotFoundError(
            f"AcT model file not found: {model_path} (expected a .tflite file "
            f"exported by `act-ros export`, its description embedded)"
        )
    try:
        return read_tflite(model_path)
    except TfliteFileError as exc:
        raise ModelMismatchError(str(exc)) from None


def load_model_spec(model_path: str | Path, verify_checksum: bool = True) -> ModelSpec:
    """The description embedded in ``model_path``, validated, checked against the file's graph
    and compared with the sidecar when there is one. ``sha256`` is the file's.

    FileNotFoundError if the model file is missing; ModelMismatchError for everything else.
    """
    model_path = Path(model_path)
    graph = _open(model_path)
    side = sidecar_path(model_path)
    sidecar = _read_sidecar(side) if side.is_file() else None
    if EMBEDDED_NAME not in graph.metadata:
        if sidecar is None:
            raise ModelMismatchError(
                f"{model_path}: no model description: expected one embedded in the file (TFLite "
                f"metadata {EMBEDDED_NAME!r}, written by `act-ros export`), found none and no "
                f"{side.name} beside it"
            )
        raise ModelMismatchError(
            f"{model_path}: legacy model: expected its description embedded in the .tflite "
            f"(format {SPEC_FORMAT_VERSION}), found it only in {side} (format "
            f"{show(sidecar.get('format_version'))}), which can be edited apart from the model. "
            f"Embed it once (same weights, checked against the graph): "
            f"{upgrade_command(model_path)}"
        )
    spec, embedded = _embedded(model_path, graph)
    if sidecar is not None:
        differences = _differences(embedded, sidecar, side.name)
        if differences:
            raise ModelMismatchError(
                f"{side} disagrees with the description embedded in {model_path}: "
                + "; ".join(differences)
                + f". The embedded one describes the weights: "
                f"regenerate the copy with `{upgrade_command(model_path)}` or delete it"
            )
        if verify_checksum and sidecar.get("sha256") != graph.sha256:
            raise ModelMismatchError(
                f"{model_path}: checksum mismatch: its description {side.name} expects sha256 "
                f"{show(sidecar.get('sha256'))}, the file has {graph.sha256} (model replaced "
                f"without re-exporting?)"
            )
    return spec


def check_against_graph(spec: ModelSpec, graph: TfliteModel, source: str) -> None:
    """Raise ModelMismatchError naming every way ``spec`` contradicts ``graph``."""
    problems = graph_problems(spec, graph)
    if problems:
        raise ModelMismatchError(
            f"{source}: its description does not match its graph: " + "; ".join(problems)
        )


def _embedded(model_path: Path, graph) -> tuple[ModelSpec, dict[str, Any]]:
    """The embedded description (validated, checked against the graph) and its raw JSON."""
    source = f"{model_path} (embedded description)"
    data = _parse_json(graph.metadata[EMBEDDED_NAME], source)
    spec = ModelSpec.from_dict(data, source)
    check_against_graph(spec, graph, str(model_path))
    return dataclasses.replace(spec, sha256=graph.sha256), data


def embedded_model_spec(model_path: str | Path) -> ModelSpec | None:
    """The description embedded in ``model_path`` (validated, checked against the graph),
    whatever the sidecar says; None if the file has none."""
    model_path = Path(model_path)
    graph = _open(model_path)
    return _embedded(model_path, graph)[0] if EMBEDDED_NAME in graph.metadata else None


def legacy_model_spec(model_path: str | Path) -> ModelSpec:
    """The sidecar-only (format 1) description of ``model_path``, valid and written for this
    very file (its checksum), in the current format: what ``--embed-description`` embeds."""
    model_path = Path(model_path)
    graph = _open(model_path)
    side = sidecar_path(model_path)
    if not side.is_file():
        raise ModelMismatchError(
            f"{model_path}: nothing to embed: expected its description {side}, found no such file"
        )
    data = _read_sidecar(side)
    if data.get("sha256") != graph.sha256:
        raise ModelMismatchError(
            f"{model_path}: checksum mismatch: {side.name} expects sha256 "
            f"{show(data.get('sha256'))}, the file has {graph.sha256}: the description was not "
            f"written for this file"
        )
    data = {**data, "format_version": SPEC_FORMAT_VERSION}
    return ModelSpec.from_dict(data, str(side))


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def write_model_spec(model_path: str | Path, spec: ModelSpec, sidecar: bool = True) -> Path:
    """Embed ``spec`` (validated) into ``model_path`` and, with ``sidecar``, write the readable
    copy beside it; return the copy's path. The weights are not touched."""
    model_path = Path(model_path)
    spec = dataclasses.replace(spec, sha256="", format_version=SPEC_FORMAT_VERSION)
    spec.validate(f"{model_path} (description to embed)")
    _open(model_path)  # a whole TFLite file, or the error saying why not
    _atomic_write(model_path, with_metadata(model_path.read_bytes(), EMBEDDED_NAME, spec.to_json().encode()))
    return write_sidecar(model_path, spec) if sidecar else sidecar_path(model_path)


def rewrite_description(model_path: str | Path, spec: ModelSpec, probe=None) -> Path:
    """Embed ``spec`` into ``model_path`` in place of its description and rewrite the readable
    copy; return the copy's path. The weights stay byte-identical: a staged copy is compared
    with the file (every tensor's name, shape and dtype, the SHA-256 of all constant data)
    before it replaces the file. ``probe(staged_path)`` (e.g. ``ActClassifier``: a full window
    run) may refuse it first. Nothing is written when anything fails."""
    model_path = Path(model_path)
    before = _open(model_path)
    staged = model_path.with_name(f".{model_path.stem}.rewrite{os.getpid()}.tflite")  # no copy beside it
    try:
        staged.write_bytes(model_path.read_bytes())
        write_model_spec(staged, spec, sidecar=False)
        after = _open(staged)
        if (after.weights_sha256, after.tensors) != (before.weights_sha256, before.tensors):
            raise ModelMismatchError(
                f"{model_path}: its weights changed while its description "
                f"was rewritten; the file was left as it was"
            )  # never seen
        if probe is not None:
            try:
                probe(staged)
            except ModelMismatchError as exc:
                raise ModelMismatchError(str(exc).replace(str(staged), str(model_path))) from None
        os.replace(staged, model_path)
    finally:
        staged.unlink(missing_ok=True)
    return write_sidecar(model_path, spec)


def write_sidecar(model_path: str | Path, spec: ModelSpec) -> Path:
    """The readable copy of ``spec`` with the checksum of ``model_path``, beside it."""
    side = sidecar_path(model_path)
    copy = dataclasses.replace(spec, sha256=file_sha256(model_path), format_version=SPEC_FORMAT_VERSION)
    _atomic_write(side, copy.to_json().encode())
    return side
