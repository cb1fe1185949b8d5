"""What the node benchmarks (bench_transport, bench_pose_node, bench_act_node, bench_latency)
share: the environment (DDS on localhost, a private domain, the Fast DDS profile), the machine
header, statistics and tables, child processes, a host for in-process nodes, and real data.

Not a benchmark itself (run_all.py runs ``bench_*.py``). Child processes the benchmarks start
(echo, camera, nodes on a chosen executor) are in ``node_servers.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
for _path in (ROOT, HERE):  # runnable from a source checkout; bench_pose is a sibling script
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from act_ros import environment  # noqa: E402  (ROS-free: safe before rclpy)
from act_ros.parameters import ros_arg_value  # noqa: E402

CONFIG = ROOT / "config" / "act_ros.yaml"
LZQ_DIR = ROOT / "act_ros" / "data" / "lzq_openpose_har"  # the bundled real recordings
STAMP0_NS = 1_000_000_000_000  # message stamps of the flow-controlled runs (any positive time)
EXECUTOR_NAMES = {"multi": "MultiThreadedExecutor", "single": "SingleThreadedExecutor"}


# --- command line and the run ------------------------------------------------------------------
def add_common_arguments(
    ap: argparse.ArgumentParser, *, pose_variant: bool = False, act_model: bool = False
) -> None:
    """The options every node benchmark takes (and, when asked, the pose model / AcT model)."""
    if pose_variant:
        from act_ros.pose.variants import POSE_VARIANTS

        ap.add_argument(
            "--variant",
            choices=POSE_VARIANTS,
            help="pose model (default: config/act_ros.yaml's model_variant, '' = the backend's default)",
        )
    if act_model:
        ap.add_argument("--act-model", help="a .tflite AcT model (default: the shipped micro)")
    ap.add_argument(
        "--quick", action="store_true", help="a few frames/messages (smoke test); numbers are rough"
    )
    ap.add_argument("--json", type=Path, help="save the results here")
    ap.add_argument("--png", type=Path, help="save a chart of the results here")
    ap.add_argument(
        "--dds-profile",
        choices=("project", "default-transports"),
        default="project",
        help="Fast DDS profile of every process: the project's, or the same without "
        "its shared-memory segment (see bench_transport.py)",
    )
    ap.add_argument(
        "--encoding", choices=("rgb8", "bgr8"), default="rgb8", help="image encoding the camera publishes"
    )


def begin(args: argparse.Namespace, title: str) -> tuple[Path, dict[str, Any]]:
    """Set the environment up (before rclpy is imported) and print the run's header."""
    run_dir = Path(tempfile.mkdtemp(prefix="act_ros_bench_nodes_"))
    setup_environment(args.dds_profile, run_dir)
    info = machine_info()
    print(f"## {title}{' (--quick: rough numbers)' if args.quick else ''}")
    print(header_line(info))
    print(
        f"ROS_DOMAIN_ID={os.environ['ROS_DOMAIN_ID']}, ROS_AUTOMATIC_DISCOVERY_RANGE="
        f"{os.environ['ROS_AUTOMATIC_DISCOVERY_RANGE']}, DDS profile '{args.dds_profile}'; "
        f"{load_text()}; logs in {run_dir}\n"
    )
    return run_dir, {
        "machine": info,
        "profile": args.dds_profile,
        "quick": args.quick,
        "domain_id": int(os.environ["ROS_DOMAIN_ID"]),
    }


def run_benchmark(
    args: argparse.Namespace,
    title: str,
    measure: Callable[[Path, dict[str, Any]], None],
    plot: Callable[[Any, dict[str, Any]], str] | None = None,
) -> int:
    """A node benchmark's main: the header, ``measure(run_dir, results)`` (which prints its
    tables and fills ``results``), every child stopped however it ends, JSON and chart."""
    run_dir, results = begin(args, title)
    try:
        measure(run_dir, results)
    finally:
        stop_all_children()
    return finish(args, results, plot)


def finish(
    args: argparse.Namespace,
    results: dict[str, Any],
    plot: Callable[[Any, dict[str, Any]], str] | None = None,
) -> int:
    """Check multicast (after every child stopped), write the JSON and the chart."""
    groups = multicast_groups()
    results["multicast_groups_seen"] = groups
    if groups:
        print(
            f"WARNING: multicast groups joined on network interfaces during the run: {groups} "
            f"(other processes on the machine may have joined them)",
            file=sys.stderr,
        )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2, default=str) + "\n")
        print(f"results: {args.json}")
    if args.png and plot is not None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6.4, 4.2))
        title = plot(ax, results)
        fig.suptitle(f"{title}, {time.strftime('%Y-%m-%d %H:%M')}", fontsize=9)
        fig.tight_layout()
        fig.savefig(args.png, dpi=120)
        plt.close(fig)
        print(f"chart: {args.png}")
    return 0


# --- environment ---------------------------------------------------------------------------------
def default_transports_profile(path: Path) -> Path:
    """The project profile without its transport settings: Fast DDS's default transports
    (a 512 KB shared-memory segment), kept to show what the project's segment buys."""
    import xml.etree.ElementTree as ET

    ns = "http://www.eprosima.com"
    ET.register_namespace("", ns)
    tree = ET.parse(environment.FASTDDS_PROFILE)
    for parent in tree.getroot().iter():
        for child in list(parent):
            if child.tag in (f"{{{ns}}}transport_descriptors", f"{{{ns}}}userTransports"):
                parent.remove(child)
    tree.write(path, encoding="UTF-8", xml_declaration=True)
    return path


def profile_path(profile: str, run_dir: Path) -> str:
    if profile == "project":
        return str(environment.FASTDDS_PROFILE)
    if profile == "default-transports":
        path = run_dir / "fastdds_default_transports.xml"
        if not path.is_file():
            default_transports_profile(path)
        return str(path)
    raise ValueError(f"unknown DDS profile {profile!r} (project, default-transports)")


def setup_environment(profile: str, run_dir: Path) -> None:
    """Localhost-only DDS, a private domain and log folder, and the chosen Fast DDS profile, in
    os.environ (children inherit it). Must run before rclpy is imported."""
    domain = int(os.environ.get("ACT_ROS_BENCH_DOMAIN_ID", random.Random(os.getpid()).randint(101, 199)))
    environment.apply(os.environ, domain_id=domain, log_dir=run_dir / "ros_log")
    os.environ["FASTDDS_DEFAULT_PROFILES_FILE"] = profile_path(profile, run_dir)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("GLOG_minloglevel", "2")


def multicast_groups() -> list[str]:
    """IPv4 multicast groups joined on non-loopback interfaces other than all-hosts (224.0.0.1):
    DDS multicast discovery (239.255.0.1) would show here."""
    try:
        lines = Path("/proc/net/igmp").read_text().splitlines()
    except OSError:
        return []
    groups, device = [], ""
    for line in lines[1:]:
        if not line.startswith("\t"):
            device = line.split()[1] if len(line.split()) > 1 else ""
            continue
        ip = ".".join(str(b) for b in bytes.fromhex(line.split()[0])[::-1])
        if device != "lo" and ip != "224.0.0.1":
            groups.append(f"{device}:{ip}")
    return groups


# --- machine and versions ------------------------------------------------------------------------
def _version(dist: str) -> str:
    from importlib import metadata

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def machine_info() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    rclpy_version = _version("rclpy")
    distro = os.environ.get("ROS_DISTRO") or {"3": "humble", "4": "iron", "7": "jazzy", "9": "kilted"}.get(
        rclpy_version.split(".")[0], "?"
    )
    litert = _version("ai-edge-litert")
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "arch": platform.machine(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "mediapipe": _version("mediapipe"),
        "tflite_runtime": f"ai-edge-litert {litert}"
        if litert != "not installed"
        else f"tflite-runtime {_version('tflite-runtime')}",
        "rclpy": rclpy_version,
        "ros_distro": distro,
        "fastdds": _version("ros-fastdds"),
        "rmw": os.environ.get("RMW_IMPLEMENTATION", ""),
    }


def load_text() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min) / {five:.2f} (5 min)"


def header_line(info: dict[str, Any]) -> str:
    return (
        f"{info['cpu']} ({info['cores']} cores, {info['arch']}); Python {info['python']}, "
        f"mediapipe {info['mediapipe']}, {info['tflite_runtime']}, rclpy {info['rclpy']} "
        f"(ROS 2 {info['ros_distro']}, Fast DDS {info['fastdds']}, {info['rmw']})"
    )


# --- statistics and tables -----------------------------------------------------------------------
def stats_ms(seconds: Sequence[float]) -> dict[str, float]:
    ms = np.asarray(seconds, dtype=np.float64) * 1e3
    if ms.size == 0:
        return {
            "n": 0,
            "median": float("nan"),
            "p90": float("nan"),
            "p99": float("nan"),
            "mean": float("nan"),
            "max": float("nan"),
        }
    return {
        "n": int(ms.size),
        "median": float(np.median(ms)),
        "p90": float(np.percentile(ms, 90)),
        "p99": float(np.percentile(ms, 99)),
        "mean": float(ms.mean()),
        "max": float(ms.max()),
    }


def fmt(value: Any, digits: int = 2) -> str:
    if isinstance(value, float):
        return f"{value:.{digits}f}" if np.isfinite(value) else "n/a"
    return str(value)


def print_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], digits: int = 2) -> None:
    print("| " + " | ".join(headers) + " |")
    print("|" + "|".join("---" for _ in headers) + "|")
    for row in rows:
        print("| " + " | ".join(fmt(v, digits) for v in row) + " |")
    print()


def durations(marks: dict[str, float], order: Sequence[str]) -> dict[str, float]:
    """Consecutive differences of a node's ``last_timing`` marks: {"a->b" name: seconds}."""
    return {b: marks[b] - marks[a] for a, b in zip(order, order[1:])}


# --- processes -----------------------------------------------------------------------------------
_CHILDREN: list[Child] = []


class Child:
    """A process started by a benchmark (a node, the echo or the camera); logs to a file."""

    def __init__(
        self, cmd: list[str], log_path: Path, env: dict[str, str] | None = None, capture_stdout: bool = False
    ) -> None:
        self.cmd = cmd
        self.log_path = log_path
        self._log = open(log_path, "w")
        self.proc = subprocess.Popen(
            cmd,
            env=env,
            stderr=self._log,
            stdout=subprocess.PIPE if capture_stdout else self._log,
            text=capture_stdout,
        )
        _CHILDREN.append(self)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def log_tail(self, lines: int = 15) -> str:
        if not self._log.closed:  # read after stop() too
            self._log.flush()
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def check(self) -> None:
        """Raise with the log when the process has exited."""
        if not self.alive():
            raise RuntimeError(
                f"{' '.join(self.cmd[:4])} exited ({self.proc.returncode}):\n{self.log_tail()}"
            )

    def result(self, timeout: float = 600) -> dict[str, Any]:
        """The JSON line a child printed last on stdout (it was started with capture_stdout)."""
        out, _ = self.proc.communicate(timeout=timeout)
        self.stop()
        if self.proc.returncode != 0:
            raise RuntimeError(f"{' '.join(self.cmd[:4])} failed:\n{self.log_tail()}")
        return json.loads(out.strip().splitlines()[-1])

    def stop(self, timeout: float = 30.0) -> int | None:
        """SIGINT, then SIGKILL after ``timeout`` s (generous: on a loaded machine a node
        finishing its last frame and writing its results took over 10 s once)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                print(f"{self.proc.args[:3]}: no exit {timeout:.0f} s after SIGINT: killed", file=sys.stderr)
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        if self in _CHILDREN:
            _CHILDREN.remove(self)
        return self.proc.returncode


def node_process(module: str, run_dir: Path, params: dict[str, Any]) -> Child:
    """``python -m act_ros.ros.<module>`` (the shipped program) with config/act_ros.yaml and
    ``params`` on top."""
    cmd = [sys.executable, "-m", f"act_ros.ros.{module}", "--ros-args", "--params-file", str(CONFIG)]
    for key, value in params.items():
        cmd += ["-p", f"{key}:={ros_arg_value(value)}"]
    return Child(cmd, run_dir / f"{module}_{time.monotonic_ns()}.log")


def server_process(
    mode: str,
    run_dir: Path,
    args: Sequence[str] = (),
    env: dict[str, str] | None = None,
    capture_stdout: bool = False,
) -> Child:
    """A child of node_servers.py: ``mode`` is echo, camera, pose-node or act-node."""
    cmd = [sys.executable, str(HERE / "node_servers.py"), mode, *args]
    return Child(cmd, run_dir / f"{mode}_{time.monotonic_ns()}.log", env=env, capture_stdout=capture_stdout)


def stop_all_children() -> None:
    for child in list(reversed(_CHILDREN)):
        child.stop()


# --- ROS in this process -------------------------------------------------------------------------
def host(name: str, args: list[str] | None = None):
    """A NodeHost with one plain node (``host.nodes[0]``), spun by the caller's thread
    (``spin_or_fail``): no extra Python thread competes for the GIL while something is timed."""
    from act_ros.ros.host import NodeHost

    h = NodeHost(args=args)
    h.node(name)
    return h


def spin_or_fail(
    h: Any, predicate: Callable[[], bool], timeout: float, what: str, watch: Sequence[Child] = ()
) -> None:
    def check() -> None:
        for child in watch:
            child.check()

    if not h.spin_until(predicate, timeout, check):
        raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")


def flow_controlled(
    host: Any, pub: Any, replies: Any, msgs: list[Any], watch: Any, desc: str, before: Any = None
) -> list[tuple[int, float, float]]:
    """Flow control: publish each image and await its poses (``replies``, StampedMessages) before
    the next; [(index, publish start, publish end)] of the answered images. ``before(i)`` runs
    just before image i is published; ``watch`` (a Child) raises if the node process died."""
    from tqdm import tqdm

    from act_ros.messages import header_stamp_ns

    sent = []
    for i, msg in enumerate(tqdm(msgs, desc=desc, leave=False)):
        if before is not None:
            before(i)
        stamp = header_stamp_ns(msg)
        t0 = time.perf_counter()
        pub.publish(msg)
        t1 = time.perf_counter()
        # Best effort: a lost image is counted and skipped, never re-sent.
        if host.spin_until(lambda stamp=stamp: stamp in replies, 10.0, watch.check):
            sent.append((i, t0, t1))
    return sent


def image_link(host: Any, node_name: str, watch: Any) -> tuple[Any, Any]:
    """This process's image publisher and its stamp-keyed poses subscription, matched."""
    from rclpy.qos import qos_profile_sensor_data
    from sensor_msgs.msg import Image

    from act_ros.messages import IMAGE_TOPIC, POSES_TOPIC
    from act_ros.msg import PersonPose2DArray
    from act_ros.ros.host import StampedMessages

    node = host.nodes[0]
    pub = node.create_publisher(Image, IMAGE_TOPIC, qos_profile_sensor_data)
    replies = StampedMessages()
    sub = node.create_subscription(PersonPose2DArray, POSES_TOPIC, replies, reliable())
    spin_or_fail(
        host,
        lambda: pub.get_subscription_count() >= 1 and sub.get_publisher_count() >= 1,
        120,
        node_name,
        [watch],
    )
    return pub, replies


def reliable(depth: int = 10):
    from rclpy.qos import QoSProfile, ReliabilityPolicy

    return QoSProfile(depth=depth, reliability=ReliabilityPolicy.RELIABLE)


def image_message(rgb: np.ndarray, encoding: str = "rgb8", stamp: int = 0) -> Any:
    """A sensor_msgs/Image as a camera driver publishes it (rgb8 or bgr8)."""
    import cv2
    from std_msgs.msg import Header

    from act_ros.messages import set_stamp
    from act_ros.ros.conversions import image_msg

    header = Header(frame_id="camera")
    set_stamp(header, stamp)
    return image_msg(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), encoding, header)


def diagnostic_values(array_msg: Any, name_part: str) -> dict[str, str] | None:
    for status in array_msg.status:
        if name_part in status.name:
            return {kv.key: kv.value for kv in status.values}
    return None


def spin_executor_name() -> str:
    """The executor the project's programs spin on (act_ros.ros.host.NodeHost)."""
    from act_ros.ros.host import EXECUTOR

    return EXECUTOR.__name__


# --- frames, poses and models --------------------------------------------------------------------
def parse_size(text: str) -> tuple[int, int] | None:
    if text == "native":
        return None
    w, _, h = text.partition("x")
    return int(w), int(h)


_RECORDINGS: list[np.ndarray] | None = None


def lzq_recordings() -> list[np.ndarray]:
    """Real pose sequences: each de-duplicated LZQ recording as (F, 17, 3) COCO-17 pixels."""
    global _RECORDINGS
    if _RECORDINGS is None:
        if not LZQ_DIR.is_dir():
            raise FileNotFoundError(f"the LZQ pose data is not at {LZQ_DIR}")
        from act_ros.datasets.lzq import read_recordings
        from act_ros.layouts import COCO18, to_coco17

        _RECORDINGS = [
            to_coco17(r.frames, COCO18).astype(np.float32)
            for r in read_recordings(LZQ_DIR)
            if len(r.frames) >= 60
        ]
    return _RECORDINGS


def people_poses(people: int, frames: int) -> np.ndarray:
    """(frames, people, 17, 3): person k replays recording k % R from its own offset (wrapping
    around at the end of the recording), so no two people move alike."""
    recs = lzq_recordings()
    out = np.empty((frames, people) + recs[0].shape[1:], np.float32)
    for k in range(people):
        rec = recs[k % len(recs)]
        offset = (k // len(recs)) * 97 + 13 * k
        out[:, k] = rec[(offset + np.arange(frames)) % len(rec)]
    return out


def pose_messages(poses: np.ndarray, first_id: int, start_ns: int, period_ns: int) -> list[Any]:
    """PersonPose2DArray messages built by the pose node's own converter (boxes, scores, IDs)."""
    from std_msgs.msg import Header

    from act_ros.messages import set_stamp
    from act_ros.pose.base import PoseDetections, boxes_from_keypoints
    from act_ros.ros.conversions import detections_to_msg

    people = poses.shape[1]
    ids = np.arange(first_id, first_id + people, dtype=np.uint32)
    out = []
    for i, kp in enumerate(poses):
        header = Header(frame_id="camera")
        set_stamp(header, start_ns + i * period_ns)
        det = PoseDetections(kp, boxes_from_keypoints(kp), np.full(people, 0.9, np.float32), ids)
        out.append(detections_to_msg(det, header, 640, 480))
    return out


def pose_node_params() -> dict[str, Any]:
    """The pose node's parameters as the shipped config sets them (defaults + config YAML)."""
    from act_ros.parameters import POSE_NODE_PARAMETERS, load_params_file, resolve

    return resolve(POSE_NODE_PARAMETERS, load_params_file(CONFIG)[0])


def pose_variant(requested: str | None = None) -> str:
    """The landmark variant the pose node runs: ``requested``, else its configured one (for '':
    its backend's default)."""
    from act_ros.pose.variants import variant_or_default

    params = pose_node_params()
    return requested or variant_or_default(params["backend"], params["model_variant"])


def resolve_act_model(path: str | None) -> tuple[Path, str]:
    """(model path, description for the tables): --act-model, else the shipped micro model, else
    an untrained random-weight micro export (same graph and cost; needs TensorFlow or a cache)."""
    if path:
        return Path(path), f"{Path(path).name} (--act-model)"
    from act_ros.runtime import shipped_model_path

    try:
        shipped = shipped_model_path("micro")
        return shipped, f"shipped {shipped.name}"
    except FileNotFoundError:
        from act_ros.bench import random_model

        model = random_model("micro", 30, "fp32")
        return model, (
            f"{model.name}: untrained random-weight AcT-micro (NO shipped model yet; same graph, 20 classes)"
        )
