"""The launch arguments of ``launch/act.launch.py`` and the node parameters they set.

Kept here (ROS-free) so the launch file and the tests read one table: a test checks that every
argument lands on a parameter the node really declares, without needing `launch` installed.
An argument left at '' changes nothing, so the params file (and presets) keep their values.
"""

from __future__ import annotations

from dataclasses import dataclass

from act_ros.model_sizes import MODEL_SIZES
from act_ros.pose.variants import POSE_BACKENDS, POSE_VARIANTS


@dataclass(frozen=True)
class LaunchArgument:
    name: str
    description: str
    node: str | None = None  # "pose_node" | "act_node" | None (not a node parameter)
    parameter: str | None = None
    type: type = str
    choices: tuple[str, ...] | None = None
    default: str = ""


NODE_ARGUMENTS: tuple[LaunchArgument, ...] = (
    LaunchArgument("model_size", "AcT model size", "act_node", "model_size", choices=("", *MODEL_SIZES)),
    LaunchArgument("model_path", "a .tflite AcT model of your own", "act_node", "model_path"),
    LaunchArgument("num_threads", "AcT (TFLite) CPU threads", "act_node", "num_threads", int),
    LaunchArgument(
        "pose_backend",
        "pose estimator: topdown (person detector + landmarks per person) or mediapipe (MediaPipe Tasks)",
        "pose_node",
        "backend",
        choices=("", *POSE_BACKENDS),
    ),
    LaunchArgument(
        "pose_model", "pose model variant", "pose_node", "model_variant", choices=("", *POSE_VARIANTS)
    ),
    LaunchArgument("num_poses", "most people per image", "pose_node", "num_poses", int),
    LaunchArgument(
        "debug_image",
        "publish ~/debug_image",
        "pose_node",
        "publish_debug_image",
        bool,
        choices=("", "true", "false"),
    ),
    LaunchArgument(
        "use_compressed",
        "subscribe to <image_topic>/compressed",
        "pose_node",
        "use_compressed",
        bool,
        choices=("", "true", "false"),
    ),
)

GRAPH_ARGUMENTS: tuple[LaunchArgument, ...] = (
    LaunchArgument(
        "image_topic", "camera image topic the pose node subscribes to", default="/camera/image_raw"
    ),
    LaunchArgument(
        "params_file", "parameter YAML applied on top of config/act_ros.yaml (e.g. a preset from config/)"
    ),
    LaunchArgument("namespace", "namespace of both nodes and their topics"),
    LaunchArgument(
        "use_sim_time",
        "use /clock (bag replay with `ros2 bag play --clock`)",
        default="false",
        choices=("true", "false"),
    ),
    LaunchArgument(
        "autostart",
        "configure and activate both (managed) nodes at start; false: "
        "they wait unconfigured for their lifecycle transitions",
        default="true",
        choices=("true", "false"),
    ),
    # Off by default: a node that fails at start (a bad model path) would be restarted every
    # respawn_delay for ever, burying the error; a crash of a running node is rarer and
    # deserves an operator's attention unless the deployment asks for respawn.
    LaunchArgument(
        "respawn",
        "restart a node whose process died (crash, kill -9) after "
        "respawn_delay; off: a dead node stays dead and launch reports it",
        default="false",
        choices=("true", "false"),
    ),
    LaunchArgument("respawn_delay", "seconds before a dead node is restarted (with respawn)", default="2.0"),
)


@dataclass(frozen=True)
class GraphSettings:
    """The launch arguments that shape the processes rather than a node parameter."""

    namespace: str
    image_topic: str
    params_file: str
    autostart: bool
    respawn: bool
    respawn_delay: float


def graph_settings(values: dict[str, str]) -> GraphSettings:
    """Launch argument values -> typed settings, with a clear message for a bad value."""

    def flag(name: str) -> bool:
        raw = values.get(name, "").strip().lower() or _DEFAULTS[name]
        if raw not in ("true", "false"):
            raise ValueError(f"launch argument {name}:={raw} must be true or false")
        return raw == "true"

    raw_delay = values.get("respawn_delay", "").strip() or _DEFAULTS["respawn_delay"]
    try:
        delay = float(raw_delay)
    except ValueError:
        raise ValueError(f"launch argument respawn_delay:={raw_delay} must be a number of seconds") from None
    if not 0.0 <= delay <= 3600.0:
        raise ValueError(f"launch argument respawn_delay:={raw_delay} must be 0..3600 s")
    return GraphSettings(
        values.get("namespace", ""),
        values.get("image_topic", "") or _DEFAULTS["image_topic"],
        values.get("params_file", ""),
        flag("autostart"),
        flag("respawn"),
        delay,
    )


def parameter_overrides(values: dict[str, str]) -> dict[str, dict[str, object]]:
    """Launch argument values -> {node: {parameter: typed value}}, skipping empty ones."""
    out: dict[str, dict[str, object]] = {"pose_node": {}, "act_node": {}}
    for arg in NODE_ARGUMENTS:
        raw = values.get(arg.name, "").strip()
        if not raw:
            continue
        if arg.choices and raw not in arg.choices:
            raise ValueError(
                f"launch argument {arg.name}:={raw} must be one of {', '.join(c for c in arg.choices if c)}"
            )
        if arg.type is bool:
            value: object = raw.lower() == "true"
        elif arg.type is int:
            try:
                value = int(raw)
            except ValueError:
                raise ValueError(f"launch argument {arg.name}:={raw} must be an integer") from None
        else:
            value = raw
        out[arg.node][arg.parameter] = value
    sim = values.get("use_sim_time", "false").strip().lower() == "true"
    for node in out.values():
        node["use_sim_time"] = sim
    return out


# Fast DDS RMW implementations, and the variables that name a profile file (the FASTRTPS_ one
# is the pre-2.x name Fast DDS still reads).
_FASTDDS_RMWS = ("", "rmw_fastrtps_cpp", "rmw_fastrtps_dynamic_cpp")
_PROFILE_VARIABLES = ("FASTDDS_DEFAULT_PROFILES_FILE", "FASTRTPS_DEFAULT_PROFILES_FILE")


def node_environment(environ: dict[str, str], profile: str) -> dict[str, str]:
    """Extra environment of the launched nodes: the project's Fast DDS profile (a 32 MB
    shared-memory segment, so that raw images and the debug image reach other processes; Fast
    DDS's default 512 KB segment loses them when sent best effort), unless the user chose a
    profile of their own or another middleware. {} = nothing to add."""
    if environ.get("RMW_IMPLEMENTATION", "") not in _FASTDDS_RMWS:
        return {}
    if any(environ.get(v) for v in _PROFILE_VARIABLES):
        return {}
    return {"FASTDDS_DEFAULT_PROFILES_FILE": profile}


_DEFAULTS = {a.name: a.default for a in GRAPH_ARGUMENTS}
