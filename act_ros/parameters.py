"""The parameters of the two nodes, as data (ROS-free).

The nodes declare exactly these (with descriptors and ranges, `act_ros.ros.params`); the
launch arguments, the config tests, the README tables and the non-ROS evaluation path read the
same tables, so a parameter exists in one place only. The defaults here ARE the deployment
values: config/act_ros.yaml holds only deliberate deviations (none today). Choices come from the
tables they name (`act_ros.model_sizes`, `act_ros.pose.variants`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from act_ros.model_sizes import MODEL_SIZES
from act_ros.model_spec import MAX_FRAME_RATE, MAX_WINDOW_LENGTH
from act_ros.pose.variants import BACKEND_VARIANTS, DEFAULT_VARIANT, POSE_VARIANTS


@dataclass(frozen=True)
class ParamSpec:
    name: str
    default: Any
    description: str
    range: tuple[float, float] | None = None
    choices: tuple[str, ...] | None = None
    read_only: bool = True  # most parameters shape the pipeline at start-up

    def check(self, value: Any) -> str | None:
        """Why ``value`` is not acceptable, or None (the same rules rcl applies to the node)."""
        if self.choices and value not in self.choices:
            return f"parameter '{self.name}' must be one of {', '.join(self.choices)}; got '{value}'"
        expected = type(self.default)
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            return f"parameter '{self.name}' must be a {expected.__name__}; got {value!r}"
        if self.range is not None and not self.range[0] <= value <= self.range[1]:
            return f"parameter '{self.name}' must be in {self.range[0]} .. {self.range[1]}; got {value}"
        return None


POSE_NODE_PARAMETERS: tuple[ParamSpec, ...] = (
    ParamSpec(
        "backend",
        "topdown",
        "pose estimator backend: topdown (a person detector, then "
        "the BlazePose landmark model on each person: finds people from behind, far away "
        "and in groups) or mediapipe (MediaPipe Tasks PoseLandmarker, whose detector needs "
        "a face), or one added with act_ros.pose.register_estimator",
    ),
    ParamSpec(
        "model_variant",
        "",
        "landmark model variant of the backend, fastest to most "
        "accurate: "
        + "; ".join(f"{b}: {', '.join(v)}" for b, v in BACKEND_VARIANTS.items())
        + "; '' = the backend's default ("
        + ", ".join(f"{b}: {v}" for b, v in DEFAULT_VARIANT.items())
        + ")",
        choices=("", *POSE_VARIANTS),
    ),
    ParamSpec(
        "model_path",
        "",
        "a custom model: a BlazePose landmark .tflite (topdown) or a "
        "MediaPipe PoseLandmarker .task bundle (mediapipe); '' = the cached model of "
        "model_variant",
    ),
    ParamSpec(
        "num_poses",
        10,
        "most people per image (the top-down cost grows with each person found)",
        range=(1, 100),
    ),
    ParamSpec(
        "detector_threshold",
        0.25,
        "topdown: person detector score threshold (false boxes "
        "are rejected by the landmark model's presence)",
        range=(0.05, 0.95),
    ),
    ParamSpec(
        "detection_interval",
        5,
        "topdown: run the person detector at least every this "
        "many frames (and whenever nobody is tracked or a tracked person was lost); in "
        "between, each person's crop follows their last pose. 1 = every frame",
        range=(1, 300),
    ),
    ParamSpec(
        "crop_margin",
        1.25,
        "topdown: side of a new person's crop = the detector box's longer side x this",
        range=(1.0, 3.0),
    ),
    ParamSpec(
        "num_threads",
        1,
        "topdown: TFLite CPU threads of its models (mediapipe: its Tasks "
        "API runs on one thread whatever this says)",
        range=(1, 64),
    ),
    ParamSpec(
        "min_detection_confidence", 0.5, "mediapipe: face-keyed pose detector threshold", range=(0.0, 1.0)
    ),
    ParamSpec(
        "min_presence_confidence",
        0.5,
        "pose presence threshold of the landmark model (both backends)",
        range=(0.0, 1.0),
    ),
    ParamSpec(
        "min_tracking_confidence", 0.5, "mediapipe: frame-to-frame tracking threshold", range=(0.0, 1.0)
    ),
    # 1920: full HD passes untouched (the pose models see 224-256 px crops, more pixels only
    # cost), anything larger is downscaled while it is decoded, which bounds the node's memory
    # (an 8000x8000 image: see the README's reliability section).
    ParamSpec(
        "max_image_width",
        1920,
        "downscale wider images to this width while decoding, "
        "before estimation (keypoints are still published in full-image pixels); 0 = never",
        range=(0, 16384),
    ),
    ParamSpec(
        "track_max_age",
        1.0,
        "seconds a person may be unseen (occluded) and keep their track ID",
        range=(0.0, 60.0),
    ),
    ParamSpec(
        "image_qos",
        "sensor_data",
        "image subscription QoS: sensor_data (best effort, "
        "depth 1: matches every camera driver) or reliable (depth 1, lossless for large "
        "images across processes; needs a RELIABLE publisher, e.g. bag replay)",
        choices=("sensor_data", "reliable"),
    ),
    ParamSpec(
        "use_compressed",
        False,
        "subscribe to image_raw/compressed (sensor_msgs/CompressedImage) instead of image_raw",
    ),
    ParamSpec(
        "publish_debug_image", False, "publish ~/debug_image with skeletons, IDs and the latest action labels"
    ),
    ParamSpec(
        "debug_image_max_width",
        960,
        "width of ~/debug_image (downscaled to save bandwidth)",
        range=(64, 16384),
    ),
    ParamSpec(
        "no_input_warning",
        5.0,
        "warn when no image arrived for this many seconds (0 = never)",
        range=(0.0, 3600.0),
    ),
)

ACT_NODE_PARAMETERS: tuple[ParamSpec, ...] = (
    ParamSpec(
        "model_size",
        "micro",
        "AcT size of the shipped model to load (ignored when model_path is set)",
        choices=MODEL_SIZES,
    ),
    ParamSpec(
        "model_path",
        "",
        "path of a .tflite model exported by act-ros export (its "
        "description embedded); several comma-separated paths = an ensemble (scores "
        "averaged); '' = shipped model of model_size",
    ),
    ParamSpec(
        "num_threads",
        1,
        "TFLite CPU threads (AcT-micro is fastest on 1: one batched call "
        "for all people beats threading a tiny model)",
        range=(1, 64),
    ),
    ParamSpec(
        "window_length", 0, "frames per window; 0 = the model's own length", range=(0, MAX_WINDOW_LENGTH)
    ),
    ParamSpec(
        "min_frames",
        10,
        "first prediction for a person once their window holds this "
        "many frames (shorter windows are less reliable)",
        range=(1, MAX_WINDOW_LENGTH),
    ),
    ParamSpec(
        "stride",
        1,
        "re-run the model for a person every `stride` sampled frames (results are repeated in between)",
        range=(1, 100),
    ),
    ParamSpec(
        "sample_rate",
        0.0,
        "frames per second put into the windows; 0 = the model's "
        "training frame rate (from its description), so a window spans the same time "
        "whatever the camera rate",
        range=(0.0, MAX_FRAME_RATE),
    ),
    ParamSpec(
        "track_timeout",
        2.0,
        "forget a person not seen for this many seconds (message time)",
        range=(0.05, 600.0),
    ),
    # Off: consecutive windows already share all but one frame, so smoothing changed neither
    # accuracy nor label switches on the demo clip (0 / 0.5 / 0.8: 50.0 / 50.0 / 50.0 %, 8 / 8 / 9
    # switches) while it delays every label change.
    ParamSpec(
        "smoothing",
        0.0,
        "exponential smoothing of each person's scores: weight of the previous scores (0 = none)",
        range=(0.0, 0.99),
        read_only=False,
    ),
    ParamSpec(
        "unknown_threshold",
        -1.0,
        "publish the label 'unknown' (label_index -1) when the "
        "best calibrated probability is below this; -1 = the model's own reject rule and "
        "threshold from its description (chosen on held-out actions), 0 = never",
        range=(-1.0, 1.0),
        read_only=False,
    ),
    ParamSpec(
        "max_people",
        64,
        "people tracked at once (memory bound); more are dropped and counted",
        range=(1, 1000),
    ),
    ParamSpec(
        "no_input_warning",
        5.0,
        "warn when no pose message arrived for this many seconds (0 = never)",
        range=(0.0, 3600.0),
    ),
)


def resolve(table: tuple[ParamSpec, ...], overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Defaults of ``table`` with ``overrides`` applied, checked (for use without ROS).

    ``use_sim_time`` (a parameter of every ROS node) is accepted and ignored.
    """
    values = {spec.name: spec.default for spec in table}
    overrides = dict(overrides or {})
    overrides.pop("use_sim_time", None)
    unknown = sorted(set(overrides) - set(values))
    if unknown:
        raise ValueError(f"unknown parameter(s) {unknown}; known: {sorted(values)}")
    values.update(overrides)
    for spec in table:
        problem = spec.check(values[spec.name])
        if problem:
            raise ValueError(problem)
    return values


def check_node_parameters(pose: Mapping[str, Any], act: Mapping[str, Any]) -> None:
    """Refuse unknown or out-of-range overrides of either node before anything starts (a ROS
    node would silently ignore an override it does not declare): ValueError naming the node."""
    for name, table, values in (
        ("pose node", POSE_NODE_PARAMETERS, pose),
        ("AcT node", ACT_NODE_PARAMETERS, act),
    ):
        try:
            resolve(table, values)
        except ValueError as exc:
            raise ValueError(f"{name}: {exc}") from None


def spec(table: tuple[ParamSpec, ...], name: str) -> ParamSpec:
    """The ParamSpec called ``name`` in ``table``."""
    return next(s for s in table if s.name == name)


def help_text(table: tuple[ParamSpec, ...], name: str) -> str:
    """A command-line help text from a parameter's description and default (argparse-escaped)."""
    s = spec(table, name)
    return f"{s.description} (default {s.default})".replace("%", "%%")


def ros_arg_value(value: Any) -> str:
    """``value`` as the text of ``--ros-args -p name:=TEXT`` (which reads it as YAML): booleans
    lower case, lists in brackets, the empty string quoted (``name:=`` alone does not parse)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(ros_arg_value(v) for v in value) + "]"
    return "''" if value == "" else str(value)


def parse_assignment(text: str) -> tuple[str, Any]:
    """``name=value`` with the value read as YAML (numbers, booleans, lists stay typed), as
    ``--pose-param`` / ``--act-param`` take them; ValueError when there is no ``=``."""
    import yaml

    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise ValueError(f"expected NAME=VALUE, got {text!r}")
    return name.strip(), yaml.safe_load(value) if value.strip() else ""


def markdown_table(table: tuple[ParamSpec, ...]) -> str:
    """The README's parameter table."""
    rows = ["| parameter | default | range / choices | description |", "|---|---|---|---|"]
    for s in table:
        limits = (
            ", ".join(c or "''" for c in s.choices)
            if s.choices
            else (f"{s.range[0]} .. {s.range[1]}" if s.range else "")
        )
        dynamic = "" if s.read_only else " (settable at run time)"
        default = (
            repr(s.default)
            if isinstance(s.default, str)
            else str(s.default).lower()
            if isinstance(s.default, bool)
            else s.default
        )
        rows.append(f"| `{s.name}` | `{default}` | {limits} | {s.description}{dynamic} |")
    return "\n".join(rows)


def default_params_file() -> Path | None:
    """config/act_ros.yaml: in the source tree (editable installs), else in the package's share
    folder of a colcon install (found with ament_index when it is importable)."""
    source = Path(__file__).resolve().parents[1] / "config" / "act_ros.yaml"
    if source.is_file():
        return source
    try:
        from ament_index_python.packages import get_package_share_directory

        installed = Path(get_package_share_directory("act_ros")) / "config" / "act_ros.yaml"
        return installed if installed.is_file() else None
    except Exception:  # not a ROS install, or the package is not in the index
        return None


def load_params_file(path: str | Path | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """(pose_node, act_node) parameters of a ROS parameter YAML file (node sections by name,
    with or without a namespace, and `/**` for both); ``None`` reads nothing."""
    import yaml

    pose: dict[str, Any] = {}
    act: dict[str, Any] = {}
    if path is None:
        return pose, act
    try:
        data = yaml.safe_load(Path(path).read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"cannot read the parameters file {path}: {exc}") from None
    for node, target in (("pose_node", pose), ("act_node", act)):
        for name, section in data.items():
            if str(name).strip("/").split("/")[-1] == node or name == "/**":
                target.update((section or {}).get("ros__parameters", {}))
    return pose, act
