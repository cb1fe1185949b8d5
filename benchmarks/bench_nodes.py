"""Node benchmarks (issue 4, "Performance"): the real nodes over real DDS, on real data.

    .venv/bin/python benchmarks/bench_nodes.py [--quick] [--json PATH] [--png PATH]
        [--only transport,pose,act,latency] [--act-model FILE.tflite] [--dds-profile project]

Sections, each printed as a table (machine, versions and load average in the header):

transport  sensor_msgs/Image between two processes, best effort (the pose node's sensor-data
           QoS), with the project's Fast DDS profile and with Fast DDS's default transports.
pose       pose node throughput (frames/s) on ``image_raw`` -> ``human_poses`` with flow control
           (each frame's poses awaited before the next is sent), the node in its own process,
           vs ``bench_pose.measure_estimator`` on the same frames and variant in the same run;
           plus where the difference goes (measured piece by piece).
act        AcT node time per message with 1, 5 and 20 people (real LZQ pose sequences): the real
           callback timed in-process, and the DDS round trip poses -> actions to the node in
           its own process; median / p90 / p99, a breakdown, and a cProfile when over target.
latency    image stamp -> /human_poses and -> /human_actions percentiles with both nodes running
           (separate processes, params from config/act_ros.yaml) and a camera process
           publishing the demo clip at 30 fps in real time without flow control (the pose node
           drops what it cannot keep up with; drops are counted).

Other processes on the machine (training jobs) inflate these numbers: compare the rows of one
run, and look at the load average printed with them. Every process started here uses
``act_ros.ros.environment.apply`` (DDS discovery on localhost only) and a private ROS domain.
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

from act_ros.pose.variants import POSE_VARIANTS  # noqa: E402
from act_ros.ros import environment  # noqa: E402  (ROS-free: safe before rclpy)

CONFIG = ROOT / "config" / "act_ros.yaml"
LZQ_DIR = ROOT / "act_ros" / "data" / "lzq_openpose_har"  # the bundled real recordings
ACT_TARGET_MS = 2.0          # issue 4: AcT node, 5 people, micro, 1 thread
POSE_OVERHEAD_TARGET = 0.15  # issue 4: pose node vs the raw estimator
STAMP0_NS = 1_000_000_000_000  # message stamps of the flow-controlled runs (any positive time)

_CHILDREN: list[Child] = []


# --- environment ---------------------------------------------------------------------------------
def project_profile() -> Path:
    """The project's Fast DDS profile (what tests, the demo and robots use)."""
    return Path(environment.FASTDDS_PROFILE)


def default_transports_profile(path: Path) -> Path:
    """The project profile without its transport settings: Fast DDS's default transports
    (a 512 KB shared-memory segment), kept to show what the project's segment buys."""
    import xml.etree.ElementTree as ET

    ns = "http://www.eprosima.com"
    ET.register_namespace("", ns)
    tree = ET.parse(project_profile())
    for parent in tree.getroot().iter():
        for child in list(parent):
            if child.tag in (f"{{{ns}}}transport_descriptors", f"{{{ns}}}userTransports"):
                parent.remove(child)
    tree.write(path, encoding="UTF-8", xml_declaration=True)
    return path


def setup_environment(profile: str, run_dir: Path) -> dict[str, str]:
    """Localhost-only DDS, a private domain and log folder, and the chosen Fast DDS profile, in
    os.environ (children inherit it). Must run before rclpy is imported."""
    domain = int(os.environ.get("ACT_ROS_BENCH_DOMAIN_ID",
                                random.Random(os.getpid()).randint(101, 199)))
    environment.apply(os.environ, domain_id=domain, log_dir=run_dir / "ros_log")
    os.environ["FASTDDS_DEFAULT_PROFILES_FILE"] = profile_path(profile, run_dir)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("GLOG_minloglevel", "2")
    return dict(os.environ)


def profile_path(profile: str, run_dir: Path) -> str:
    if profile == "project":
        return str(project_profile())
    if profile == "default-transports":
        path = run_dir / "fastdds_default_transports.xml"
        if not path.is_file():
            default_transports_profile(path)
        return str(path)
    raise ValueError(f"unknown DDS profile {profile!r} (project, default-transports)")


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
        hexgroup = line.split()[0]
        ip = ".".join(str(b) for b in bytes.fromhex(hexgroup)[::-1])
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


def ros_distro(rclpy_version: str) -> str:
    if os.environ.get("ROS_DISTRO"):
        return os.environ["ROS_DISTRO"]
    major = rclpy_version.split(".")[0]
    return {"3": "humble", "4": "iron", "7": "jazzy", "9": "kilted"}.get(major, "unknown")


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
    litert = _version("ai-edge-litert")
    return {
        "cpu": cpu, "cores": os.cpu_count(), "arch": platform.machine(),
        "python": platform.python_version(), "numpy": np.__version__,
        "mediapipe": _version("mediapipe"),
        "tflite_runtime": f"ai-edge-litert {litert}" if litert != "not installed"
        else f"tflite-runtime {_version('tflite-runtime')}",
        "rclpy": rclpy_version, "ros_distro": ros_distro(rclpy_version),
        "fastdds": _version("ros-fastdds"), "rmw": os.environ.get("RMW_IMPLEMENTATION", ""),
    }


def load_text() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min) / {five:.2f} (5 min)"


def header_line(info: dict[str, Any]) -> str:
    return (f"{info['cpu']} ({info['cores']} cores, {info['arch']}); Python {info['python']}, "
            f"mediapipe {info['mediapipe']}, {info['tflite_runtime']}, rclpy {info['rclpy']} "
            f"(ROS 2 {info['ros_distro']}, Fast DDS {info['fastdds']}, {info['rmw']})")


# --- statistics and tables -----------------------------------------------------------------------
def stats_ms(seconds: Sequence[float]) -> dict[str, float]:
    ms = np.asarray(seconds, dtype=np.float64) * 1e3
    if ms.size == 0:
        return {"n": 0, "median": float("nan"), "p90": float("nan"), "p99": float("nan"),
                "mean": float("nan"), "max": float("nan")}
    return {"n": int(ms.size), "median": float(np.median(ms)),
            "p90": float(np.percentile(ms, 90)), "p99": float(np.percentile(ms, 99)),
            "mean": float(ms.mean()), "max": float(ms.max())}


def fmt(value: Any, digits: int = 2) -> str:
    if isinstance(value, float):
        if not np.isfinite(value):
            return "n/a"
        return f"{value:.{digits}f}"
    return str(value)


def print_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], digits: int = 2) -> None:
    print("| " + " | ".join(headers) + " |")
    print("|" + "|".join("---" for _ in headers) + "|")
    for row in rows:
        print("| " + " | ".join(fmt(v, digits) for v in row) + " |")
    print()


# --- processes -----------------------------------------------------------------------------------
class Child:
    """A process started by this benchmark (a node, the echo or the camera); logs to a file."""

    def __init__(self, cmd: list[str], log_path: Path, env: dict[str, str] | None = None,
                 capture_stdout: bool = False) -> None:
        self.cmd = cmd
        self.log_path = log_path
        self._log = open(log_path, "w")
        self.proc = subprocess.Popen(
            cmd, env=env, stderr=self._log,
            stdout=subprocess.PIPE if capture_stdout else self._log, text=capture_stdout)
        _CHILDREN.append(self)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def log_tail(self, lines: int = 15) -> str:
        self._log.flush()
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self, timeout: float = 10.0) -> int | None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        if self in _CHILDREN:
            _CHILDREN.remove(self)
        return self.proc.returncode


def node_process(module: str, run_dir: Path, params: dict[str, Any]) -> Child:
    """``python -m act_ros.ros.<module>`` with config/act_ros.yaml and ``params`` on top."""
    cmd = [sys.executable, "-m", f"act_ros.ros.{module}", "--ros-args", "--params-file",
           str(CONFIG)]
    for key, value in params.items():
        text = ("true" if value else "false") if isinstance(value, bool) else str(value)
        cmd += ["-p", f"{key}:={text}"]
    return Child(cmd, run_dir / f"{module}_{time.monotonic_ns()}.log")


def self_process(mode: str, run_dir: Path, args: list[str], env: dict[str, str] | None = None,
                 capture_stdout: bool = True) -> Child:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--serve", mode, *args]
    return Child(cmd, run_dir / f"{mode}_{time.monotonic_ns()}.log", env=env,
                 capture_stdout=capture_stdout)


def stop_all_children() -> None:
    for child in list(reversed(_CHILDREN)):
        child.stop()


# --- ROS helpers ---------------------------------------------------------------------------------
class RosSession:
    """One rclpy context, one node and a single-threaded executor spun by the caller's thread
    (no extra Python thread competing for the GIL while something is timed)."""

    def __init__(self, name: str, args: list[str] | None = None) -> None:
        import rclpy
        from rclpy.executors import SingleThreadedExecutor

        self.context = rclpy.Context()
        rclpy.init(args=args, context=self.context)
        self.node = rclpy.create_node(name, context=self.context)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self._extra: list[Any] = []

    def add(self, node: Any) -> Any:
        self._extra.append(node)
        return node

    def spin_until(self, predicate: Callable[[], bool], timeout: float, what: str = "",
                   watch: Sequence[Child] = ()) -> bool:
        """Spin until ``predicate``; False on timeout (or raise if ``what`` is given). A watched
        child that exits raises with its log."""
        deadline = time.monotonic() + timeout
        while not predicate():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                if what:
                    raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
                return False
            for child in watch:
                if not child.alive():
                    raise RuntimeError(f"{' '.join(child.cmd[:4])} exited "
                                       f"({child.proc.returncode}):\n{child.log_tail()}")
            self.executor.spin_once(timeout_sec=min(remaining, 0.05))
        return True

    def close(self) -> None:
        for node in reversed(self._extra):
            close = getattr(node, "close", None)
            if close:
                close()
            node.destroy_node()
        self.executor.shutdown(timeout_sec=1.0)
        self.node.destroy_node()
        self.context.try_shutdown()


def reliable(depth: int = 10):
    from rclpy.qos import QoSProfile, ReliabilityPolicy

    return QoSProfile(depth=depth, reliability=ReliabilityPolicy.RELIABLE)


def stamp_ns(msg: Any) -> int:
    return int(msg.header.stamp.sec) * 1_000_000_000 + int(msg.header.stamp.nanosec)


def set_stamp(msg: Any, ns: int) -> None:
    """Set the stamp of a message with a header, or of a std_msgs/Header itself."""
    header = getattr(msg, "header", msg)
    header.stamp.sec, header.stamp.nanosec = divmod(int(ns), 1_000_000_000)


def image_message(rgb: np.ndarray, encoding: str = "rgb8", stamp: int = 0) -> Any:
    """A sensor_msgs/Image as a camera driver publishes it (rgb8 or bgr8)."""
    import cv2
    from sensor_msgs.msg import Image

    pixels = rgb if encoding == "rgb8" else cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    msg = Image()
    set_stamp(msg, stamp)
    msg.header.frame_id = "camera"
    msg.height, msg.width = int(pixels.shape[0]), int(pixels.shape[1])
    msg.encoding = encoding
    msg.step = int(pixels.shape[1] * 3)
    msg.data = np.ascontiguousarray(pixels).tobytes()
    return msg


def diagnostic_values(array_msg: Any, name_part: str) -> dict[str, str] | None:
    for status in array_msg.status:
        if name_part in status.name:
            return {kv.key: kv.value for kv in status.values}
    return None


class Timed:
    """Wraps a callable and accumulates its wall time (the instrumented breakdown passes)."""

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.fn = fn
        self.times: list[float] = []

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return self.fn(*args, **kwargs)
        finally:
            self.times.append(time.perf_counter() - start)

    def reset(self) -> None:
        self.times.clear()


class TimedPublisher:
    """Stands in for a node's publisher (rclpy publishers take no new attributes)."""

    def __init__(self, publisher: Any) -> None:
        self.publisher = publisher
        self.publish = Timed(publisher.publish)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.publisher, name)


# --- frames and poses ----------------------------------------------------------------------------
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

        _RECORDINGS = [to_coco17(r.frames, COCO18).astype(np.float32)
                       for r in read_recordings(LZQ_DIR) if len(r.frames) >= 60]
    return _RECORDINGS


def people_poses(people: int, frames: int) -> np.ndarray:
    """(frames, people, 17, 3): person k replays recording k % R from its own offset (wrapping
    around at the end of the recording), so no two people move alike."""
    recs = lzq_recordings()
    out = np.empty((frames, people, 17, 3), np.float32)
    for k in range(people):
        rec = recs[k % len(recs)]
        offset = (k // len(recs)) * 97 + 13 * k
        out[:, k] = rec[(offset + np.arange(frames)) % len(rec)]
    return out


def pose_messages(poses: np.ndarray, first_id: int, start_ns: int, period_ns: int) -> list[Any]:
    """PersonPose2DArray messages built by the pose node's own converter (boxes, scores, IDs)."""
    from std_msgs.msg import Header

    from act_ros.pose.base import PoseDetections, boxes_from_keypoints
    from act_ros.ros.conversions import detections_to_msg

    people = poses.shape[1]
    ids = np.arange(first_id, first_id + people, dtype=np.uint32)
    out = []
    for i, kp in enumerate(poses):
        header = Header()
        set_stamp(header, start_ns + i * period_ns)
        header.frame_id = "camera"
        det = PoseDetections(kp, boxes_from_keypoints(kp), np.full(people, 0.9, np.float32), ids)
        out.append(detections_to_msg(det, header, 640, 480))
    return out


# --- model ---------------------------------------------------------------------------------------
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
        return model, (f"{model.name}: untrained random-weight AcT-micro (NO shipped model yet; "
                       f"same graph, 20 classes)")


def model_frame_rate(model: Path) -> float:
    from act_ros.model_spec import load_model_spec

    return float(load_model_spec(model).frame_rate or 0.0)


# =================================================================================================
# transport: one image between two processes
# =================================================================================================
def serve_echo() -> int:
    """Child: acknowledge every image_raw message (sensor-data QoS) with its header."""
    import rclpy
    from rclpy.executors import ExternalShutdownException
    from rclpy.qos import qos_profile_sensor_data
    from sensor_msgs.msg import Image
    from std_msgs.msg import Header

    rclpy.init()
    node = rclpy.create_node("bench_image_echo")
    ack = node.create_publisher(Header, "image_ack", reliable())
    node.create_subscription(Image, "image_raw", lambda msg: ack.publish(msg.header),
                             qos_profile_sensor_data)
    try:
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        node.destroy_node()
        rclpy.try_shutdown()
    return 0


def transport_probe(sizes: Sequence[str], count: int, encoding: str, run_dir: Path,
                    timeout: float = 1.0) -> list[dict[str, Any]]:
    """Send ``count`` images of each size to an echo process (best effort, like a camera to the
    pose node) and time the acknowledgement; a frame not acknowledged within ``timeout`` is lost."""
    from rclpy.qos import qos_profile_sensor_data
    from sensor_msgs.msg import Image
    from std_msgs.msg import Header

    from bench_pose import load_frames

    echo = self_process("echo", run_dir, [], capture_stdout=False)
    session = RosSession("bench_transport")
    try:
        pub = session.node.create_publisher(Image, "image_raw", qos_profile_sensor_data)
        acks: dict[int, float] = {}
        sub = session.node.create_subscription(
            Header, "image_ack",
            lambda h: acks.setdefault(h.stamp.sec * 1_000_000_000 + h.stamp.nanosec,
                                      time.perf_counter()), reliable())
        session.spin_until(lambda: pub.get_subscription_count() >= 1
                           and sub.get_publisher_count() >= 1, 30, "the echo process", [echo])
        frame = load_frames(count=1)[0]
        rows = []
        stamp = STAMP0_NS
        # A small image first: the first sample after matching is sometimes lost while the
        # transports connect; that is not what this table is about.
        warm = image_message(np.zeros((8, 8, 3), np.uint8), encoding)
        for _ in range(20):
            stamp += 1000
            set_stamp(warm, stamp)
            pub.publish(warm)
            if session.spin_until(lambda: stamp in acks, 0.5):  # noqa: B023
                break
        for size in sizes:
            import cv2

            wh = parse_size(size)
            pixels = frame if wh is None else cv2.resize(frame, wh, interpolation=cv2.INTER_AREA)
            msg = image_message(pixels, encoding)
            rtts, publish = [], []
            for _ in range(count):
                stamp += 1000
                set_stamp(msg, stamp)
                t0 = time.perf_counter()
                pub.publish(msg)
                publish.append(time.perf_counter() - t0)
                if session.spin_until(lambda: stamp in acks, timeout):  # noqa: B023
                    rtts.append(acks[stamp] - t0)
            rows.append({"size": f"{pixels.shape[1]}x{pixels.shape[0]}",
                         "megabytes": len(msg.data) / 1e6, "sent": count,
                         "delivered": len(rtts), "rtt_ms": stats_ms(rtts),
                         "publish_ms": stats_ms(publish)})
        return rows
    finally:
        session.close()
        echo.stop()


def run_transport(args: argparse.Namespace, run_dir: Path) -> dict[str, Any]:
    """The probe under both profiles, each in its own process (Fast DDS reads its profile once
    per process)."""
    sizes = args.transport_sizes.split(",")
    results = {}
    for profile in ("project", "default-transports"):
        env = dict(os.environ, FASTDDS_DEFAULT_PROFILES_FILE=profile_path(profile, run_dir))
        child = self_process("probe", run_dir, ["--transport-sizes", ",".join(sizes),
                                                "--transport-count", str(args.transport_count),
                                                "--encoding", args.encoding], env=env)
        out, _ = child.proc.communicate(timeout=600)
        child.stop()
        if child.proc.returncode != 0:
            raise RuntimeError(f"transport probe ({profile}) failed:\n{child.log_tail()}")
        results[profile] = json.loads(out.strip().splitlines()[-1])
    return {"profiles": results, "load": os.getloadavg()}


def print_transport(res: dict[str, Any], profile_in_use: str) -> None:
    print("### DDS transport of one sensor_msgs/Image between two processes (best effort, "
          "sensor-data QoS like the pose node)")
    print(f"rclpy publish -> echo process -> std_msgs/Header back; lost = no answer within 1 s. "
          f"'project' = {project_profile().name} (the project's profile); 'default-transports' "
          f"= the same without its transport settings (Fast DDS's default 512 KB shared-memory "
          f"segment). The node benchmarks below use '{profile_in_use}'.")
    rows = []
    for profile, entries in res["profiles"].items():
        for e in entries:
            rows.append([profile, e["size"], e["megabytes"], f"{e['delivered']}/{e['sent']}",
                         e["rtt_ms"]["median"], e["rtt_ms"]["p90"], e["publish_ms"]["median"]])
    print_table(["DDS profile", "image", "MB", "delivered", "round trip median ms",
                 "round trip p90 ms", "publish() median ms"], rows)


# =================================================================================================
# pose: node throughput vs the raw estimator
# =================================================================================================
def pose_node_params() -> dict[str, Any]:
    from act_ros.parameters import POSE_NODE_PARAMETERS, load_params_file, resolve

    return resolve(POSE_NODE_PARAMETERS, load_params_file(CONFIG)[0])


def estimator_options(params: dict[str, Any], variant: str) -> dict[str, Any]:
    """The options the pose node passes to create_estimator, from the same parameters."""
    return dict(variant=variant, num_poses=params["num_poses"],
                min_detection_confidence=params["min_detection_confidence"],
                min_presence_confidence=params["min_presence_confidence"],
                min_tracking_confidence=params["min_tracking_confidence"],
                model_path=params["model_path"] or None)


def node_over_dds(frames: Sequence[np.ndarray], warmup: int, variant: str, encoding: str,
                  run_dir: Path, options: dict[str, Any], fps: float = 30.0) -> dict[str, Any]:
    """The pose node in its own process, frames on image_raw with flow control, interleaved
    frame by frame with a raw estimator here (same options, same frames, never concurrently), so
    both see the same machine load. The node's own process() time comes from its /diagnostics."""
    from diagnostic_msgs.msg import DiagnosticArray
    from rclpy.qos import qos_profile_sensor_data
    from sensor_msgs.msg import Image
    from tqdm import tqdm

    from act_ros.msg import PersonPose2DArray
    from act_ros.pose import create_estimator

    node = node_process("pose_node", run_dir, {"model_variant": variant, "no_input_warning": 0.0})
    estimator = create_estimator("mediapipe", **options)
    session = RosSession("bench_camera")
    try:
        pub = session.node.create_publisher(Image, "image_raw", qos_profile_sensor_data)
        replies: dict[int, tuple[float, int]] = {}
        sub = session.node.create_subscription(
            PersonPose2DArray, "human_poses",
            lambda m: replies.setdefault(stamp_ns(m), (time.perf_counter(), len(m.people))),
            reliable())
        reports: list[tuple[int, float]] = []  # (processed so far, mean process() ms since last)

        def on_diagnostics(msg: Any) -> None:
            values = diagnostic_values(msg, "pose_node")
            if values is not None:
                reports.append((int(values["processed"]), float(values["processing_mean_ms"])))

        session.node.create_subscription(DiagnosticArray, "/diagnostics", on_diagnostics, 50)
        session.spin_until(lambda: pub.get_subscription_count() >= 1
                           and sub.get_publisher_count() >= 1, 120, "the pose node", [node])
        step = int(round(1e9 / fps))
        msgs = [image_message(f, encoding, STAMP0_NS + i * step) for i, f in enumerate(frames)]
        rtt, est, publish, people, lost = [], [], [], [], 0
        for i, msg in enumerate(tqdm(msgs, desc="pose node over DDS + raw estimator",
                                     leave=False)):
            t0 = time.perf_counter()
            estimator.estimate(frames[i], i * step)
            est_s = time.perf_counter() - t0
            stamp = stamp_ns(msg)
            t0 = time.perf_counter()
            pub.publish(msg)
            t1 = time.perf_counter()
            if not session.spin_until(lambda: stamp in replies, 10.0, watch=[node]):  # noqa: B023
                lost += 1  # best effort: a lost image is counted and skipped, never re-sent
                continue
            if i >= warmup:
                rtt.append(replies[stamp][0] - t0)
                est.append(est_s)
                publish.append(t1 - t0)
                people.append(replies[stamp][1])
        processed = len(msgs) - lost
        session.spin_until(lambda: bool(reports) and reports[-1][0] >= processed, 5.0)
        previous, total_ms, count = 0, 0.0, 0
        for done, mean_ms in reports:  # weighted by the frames each report covers
            total_ms += mean_ms * (done - previous)
            count += done - previous
            previous = done
        ms = stats_ms(rtt)
        return {"round_trip_ms": ms, "fps": 1e3 / ms["mean"] if rtt else float("nan"),
                "estimator_ms": stats_ms(est), "publish_ms": stats_ms(publish),
                "ratio_median": float(np.median(np.divide(rtt, est))) if rtt else float("nan"),
                "node_process_ms": total_ms / count if count else float("nan"),
                "people": float(np.mean(people)) if people else 0.0, "lost": lost,
                "frames": len(rtt)}
    finally:
        estimator.close()
        session.close()
        node.stop()


def spin_executor_name() -> str:
    """The executor class ``act_ros.ros.spin.spin_nodes`` (``python -m act_ros.ros.*``) uses."""
    import inspect

    from act_ros.ros import spin

    source = inspect.getsource(spin.spin_nodes)
    for name in ("MultiThreadedExecutor", "SingleThreadedExecutor", "EventsExecutor"):
        if f"{name}(" in source:
            return name
    return "unknown"


def _executor(kind: str):
    from rclpy.executors import MultiThreadedExecutor, SingleThreadedExecutor

    return SingleThreadedExecutor() if kind == "single" else MultiThreadedExecutor()


def _spin_until_interrupted(node: Any, executor: Any) -> None:
    from rclpy.executors import ExternalShutdownException

    executor.add_node(node)
    try:
        executor.spin()
    except (KeyboardInterrupt, ExternalShutdownException):
        pass


def serve_act_node(args: argparse.Namespace) -> int:
    """Child: the real ActNode (config/act_ros.yaml, 1 thread) on the executor ``--executor``."""
    import rclpy

    from act_ros.ros.act_node import ActNode

    rclpy.init(args=["--ros-args", "--params-file", str(CONFIG), "-p",
                     f"model_path:={args.act_model}", "-p", "num_threads:=1", "-p",
                     "no_input_warning:=0.0"])
    node = ActNode()
    try:
        _spin_until_interrupted(node, _executor(args.executor))
    finally:
        node.destroy_node()
        rclpy.try_shutdown()
    return 0


def serve_pose_node(args: argparse.Namespace) -> int:
    """Child: the real PoseNode on the executor ``--executor``, whose image callback, process()
    and poses publish() also note when they ran (perf_counter = CLOCK_MONOTONIC, the same clock
    in every process). The notes go to ``--marks`` as JSON at exit."""
    import rclpy

    from act_ros.ros.pose_node import PoseNode

    marks: dict[int, dict[str, float]] = {}

    class MarkingPublisher:
        def __init__(self, publisher: Any) -> None:
            self.publisher = publisher

        def publish(self, msg: Any) -> None:
            marks.setdefault(stamp_ns(msg), {})["publish"] = time.perf_counter()
            self.publisher.publish(msg)

        def __getattr__(self, name: str) -> Any:
            return getattr(self.publisher, name)

    class TimedPoseNode(PoseNode):
        def __init__(self) -> None:
            super().__init__()
            self._pub = MarkingPublisher(self._pub)

        def _on_image(self, msg: Any) -> None:
            marks[stamp_ns(msg)] = {"callback": time.perf_counter()}
            super()._on_image(msg)

        def process(self, msg: Any) -> Any:
            marks.setdefault(stamp_ns(msg), {})["start"] = time.perf_counter()
            return super().process(msg)

    rclpy.init(args=["--ros-args", "--params-file", str(CONFIG), "-p",
                     f"model_variant:={args.pose_variant}", "-p", "no_input_warning:=0.0"])
    node = TimedPoseNode()
    try:
        _spin_until_interrupted(node, _executor(args.executor))
    finally:
        Path(args.marks).write_text(json.dumps({str(k): v for k, v in marks.items()}))
        node.close()
        node.destroy_node()
        rclpy.try_shutdown()
    return 0


def node_timeline(frames: Sequence[np.ndarray], warmup: int, variant: str, encoding: str,
                  run_dir: Path, fps: float = 30.0, executor: str = "multi") -> dict[str, Any]:
    """Where one frame's round trip goes, measured: the flow-controlled DDS run again, with the
    node's callback and process() timestamped in the node process (see serve_pose_node)."""
    from rclpy.qos import qos_profile_sensor_data
    from sensor_msgs.msg import Image
    from tqdm import tqdm

    from act_ros.msg import PersonPose2DArray

    marks_path = run_dir / f"pose_marks_{time.monotonic_ns()}.json"
    node = self_process("pose-node", run_dir, ["--marks", str(marks_path), "--pose-variant",
                                               variant, "--executor", executor],
                        capture_stdout=False)
    session = RosSession("bench_camera_timeline")
    sent: dict[int, tuple[float, float]] = {}
    replies: dict[int, float] = {}
    try:
        pub = session.node.create_publisher(Image, "image_raw", qos_profile_sensor_data)
        sub = session.node.create_subscription(
            PersonPose2DArray, "human_poses",
            lambda m: replies.setdefault(stamp_ns(m), time.perf_counter()), reliable())
        session.spin_until(lambda: pub.get_subscription_count() >= 1
                           and sub.get_publisher_count() >= 1, 120, "the pose node", [node])
        step = int(round(1e9 / fps))
        msgs = [image_message(f, encoding, STAMP0_NS + i * step) for i, f in enumerate(frames)]
        for i, msg in enumerate(tqdm(msgs, desc="pose node timeline", leave=False)):
            stamp = stamp_ns(msg)
            t0 = time.perf_counter()
            pub.publish(msg)
            t1 = time.perf_counter()
            if session.spin_until(lambda: stamp in replies, 10.0, watch=[node]) and i >= warmup:  # noqa: B023
                sent[stamp] = (t0, t1)
    finally:
        session.close()
        node.stop()
    marks = {int(k): v for k, v in json.loads(marks_path.read_text()).items()}
    segments: dict[str, list[float]] = {k: [] for k in (
        "publish", "delivery", "handoff", "process", "back", "total")}
    for stamp, (t0, t1) in sent.items():
        mark = marks.get(stamp, {})
        if {"callback", "start", "publish"} - set(mark) or stamp not in replies:
            continue
        segments["publish"].append(t1 - t0)
        segments["delivery"].append(mark["callback"] - t0)
        segments["handoff"].append(mark["start"] - mark["callback"])
        segments["process"].append(mark["publish"] - mark["start"])
        segments["back"].append(replies[stamp] - mark["publish"])
        segments["total"].append(replies[stamp] - t0)
    return {f"{k}_ms": stats_ms(v) for k, v in segments.items()}


def node_in_process(frames: Sequence[np.ndarray], warmup: int, variant: str, encoding: str,
                    fps: float = 30.0) -> dict[str, Any]:
    """PoseNode.process() called synchronously, each piece of it timed (no DDS transport of the
    image); the node's worker thread idles."""
    from rclpy.parameter import Parameter
    from rclpy.serialization import deserialize_message, serialize_message
    from sensor_msgs.msg import Image

    import act_ros.ros.pose_node as pose_node_module
    from act_ros.msg import PersonPose2DArray

    session = RosSession("bench_pose_inprocess", ["--ros-args", "--params-file", str(CONFIG)])
    originals = {name: getattr(pose_node_module, name) for name in ("image_to_rgb",
                                                                    "detections_to_msg")}
    try:
        node = session.add(pose_node_module.PoseNode(
            context=session.context, parameter_overrides=[
                Parameter("model_variant", value=variant),
                Parameter("no_input_warning", value=0.0)]))
        # A matched subscriber, so publish() does its real work (never spun: no GIL contention).
        session.node.create_subscription(PersonPose2DArray, "human_poses", lambda m: None,
                                         reliable())
        session.spin_until(lambda: node._pub.get_subscription_count() >= 1, 10,
                           "the in-process poses subscriber")
        timers = {name: Timed(fn) for name, fn in originals.items()}
        for name, timer in timers.items():
            setattr(pose_node_module, name, timer)
        parts = getattr(node, "pipeline", node)  # estimator and tracker (PosePipeline or node)
        timers["estimate"] = parts.estimator.estimate = Timed(parts.estimator.estimate)
        timers["tracker"] = parts.tracker.update = Timed(parts.tracker.update)
        node._pub = TimedPublisher(node._pub)
        timers["publish"] = node._pub.publish
        step = int(round(1e9 / fps))
        msgs = [image_message(f, encoding, STAMP0_NS + i * step) for i, f in enumerate(frames)]
        process, serialize, deserialize = [], [], []
        from tqdm import tqdm

        for i, msg in enumerate(tqdm(msgs, desc="pose node in-process", leave=False)):
            if i == warmup:
                for timer in timers.values():
                    timer.reset()
            t0 = time.perf_counter()
            node.process(msg)
            if i >= warmup:
                process.append(time.perf_counter() - t0)
                t1 = time.perf_counter()
                data = serialize_message(msg)
                t2 = time.perf_counter()
                deserialize_message(data, Image)
                t3 = time.perf_counter()
                serialize.append(t2 - t1)
                deserialize.append(t3 - t2)
        out = {"process_ms": stats_ms(process),
               "serialize_ms": stats_ms(serialize), "deserialize_ms": stats_ms(deserialize)}
        out.update({f"{name}_ms": stats_ms(t.times) for name, t in timers.items()})
        return out
    finally:
        for name, fn in originals.items():
            setattr(pose_node_module, name, fn)
        session.close()


def run_pose(args: argparse.Namespace, run_dir: Path, transport: dict[str, Any] | None,
             size: str) -> dict[str, Any]:
    from bench_pose import load_frames, measure_estimator

    params = pose_node_params()
    variant = args.pose_variant or params["model_variant"]
    frames = load_frames(count=args.pose_frames + args.pose_warmup, size=parse_size(size))
    options = estimator_options(params, variant)
    load0 = os.getloadavg()
    est_a = measure_estimator(frames, warmup=args.pose_warmup, **options)
    dds = node_over_dds(frames, args.pose_warmup, variant, args.encoding, run_dir, options)
    # The timeline on the executor `python -m act_ros.ros.pose_node` uses, then on the other.
    spin_kind = "multi" if spin_executor_name() == "MultiThreadedExecutor" else "single"
    other_kind = "single" if spin_kind == "multi" else "multi"
    timeline = node_timeline(frames, args.pose_warmup, variant, args.encoding, run_dir,
                             executor=spin_kind)
    timeline_other = node_timeline(frames, args.pose_warmup, variant, args.encoding, run_dir,
                                   executor=other_kind)
    inproc = node_in_process(frames, args.pose_warmup, variant, args.encoding)
    est_b = measure_estimator(frames, warmup=args.pose_warmup, **options)
    h, w = frames[0].shape[:2]
    echo = None
    for entry in (transport or {}).get("profiles", {}).get(args.dds_profile, []):
        if entry["size"] == f"{w}x{h}" and entry["delivered"]:
            echo = entry["rtt_ms"]["mean"]
    return {"variant": variant, "image": f"{w}x{h}", "encoding": args.encoding,
            "num_poses": params["num_poses"], "frames": args.pose_frames,
            "warmup": args.pose_warmup, "estimator_before": est_a, "estimator_after": est_b,
            "node_dds": dds, "node_timeline": timeline, "node_in_process": inproc,
            "executors": {spin_kind: timeline, other_kind: timeline_other},
            "spin_executor": spin_kind,
            "image_echo_ms": echo,
            "load": [load0, os.getloadavg()]}


def print_pose(res: dict[str, Any]) -> None:
    dds, inproc = res["node_dds"], res["node_in_process"]
    before, after = res["estimator_before"], res["estimator_after"]
    est_ms = dds["estimator_ms"]["mean"]  # the raw estimator interleaved with the node
    node_ms = dds["round_trip_ms"]["mean"]
    print(f"### Pose node throughput vs the raw estimator (MediaPipe {res['variant']}, "
          f"{res['image']} {res['encoding']} frames of the demo clip from frame 0, "
          f"num_poses {res['num_poses']}, {res['frames']} timed frames after {res['warmup']})")
    print(f"{load_text()} (at the start: {res['load'][0][0]:.2f}). Node = `python -m "
          f"act_ros.ros.pose_node` (config/act_ros.yaml) in its own process; each frame is sent "
          f"on image_raw and its human_poses awaited before the next. 'interleaved': a raw "
          f"estimator in this process runs each frame just before the node gets it (same "
          f"load for both); measure_estimator ran before and after. frames/s = 1000 / mean ms.")
    rows = [
        ["measure_estimator, before", before["fps"], before["mean_ms"], before["median_ms"],
         before["p90_ms"], before["people"]],
        ["measure_estimator, after", after["fps"], after["mean_ms"], after["median_ms"],
         after["p90_ms"], after["people"]],
        ["raw estimator, interleaved", 1e3 / est_ms, est_ms, dds["estimator_ms"]["median"],
         dds["estimator_ms"]["p90"], float("nan")],
        [f"pose node over DDS, interleaved ({dds['lost']} images lost)", dds["fps"], node_ms,
         dds["round_trip_ms"]["median"], dds["round_trip_ms"]["p90"], dds["people"]],
        ["node.process() called in-process (no DDS)", 1e3 / inproc["process_ms"]["mean"],
         inproc["process_ms"]["mean"], inproc["process_ms"]["median"],
         inproc["process_ms"]["p90"], float("nan")],
    ]
    print_table(["path", "frames/s", "mean ms", "median ms", "p90 ms", "people/frame"], rows)
    overhead = node_ms / est_ms - 1
    verdict = "within" if overhead <= POSE_OVERHEAD_TARGET else "OVER"
    ref = (before["mean_ms"] + after["mean_ms"]) / 2
    print(f"Node over DDS vs raw estimator, interleaved: throughput ratio {est_ms / node_ms:.3f}, "
          f"{overhead * 100:+.1f}% time per frame (median of per-frame ratios "
          f"{dds['ratio_median']:.3f}); target overhead < {POSE_OVERHEAD_TARGET:.0%}: {verdict} "
          f"target. Against measure_estimator (mean of before/after, {ref:.1f} ms): "
          f"{(node_ms / ref - 1) * 100:+.1f}%.\n")

    tl = res["node_timeline"]
    total = tl["total_ms"]["mean"]
    print(f"Where a frame's round trip goes, measured: a second flow-controlled run of the same "
          f"node code with its image callback, process() and poses publish() timestamped in the "
          f"node process ({tl['total_ms']['n']} frames; one monotonic clock across processes). "
          f"'share' = of the mean round trip. Rows marked 'in-process' come from a third pass "
          f"calling node.process() directly, with each piece timed:")

    def row(label: str, stats: dict[str, float] | None, mean: float | None = None) -> list:
        if stats is None:
            return [label, mean, float("nan"), float("nan"), mean / total]
        return [label, stats["mean"], stats["median"], stats["p90"], stats["mean"] / total]

    rows = [
        row("image: publish() starts -> node callback runs (serialize, DDS delivery, take, "
            "executor dispatch)", tl["delivery_ms"]),
        row("  of which publish() in the camera process", tl["publish_ms"]),
        row("  of which rclpy deserialize_message of the image (in-process)",
            inproc["deserialize_ms"]),
        row("mailbox hand-off: callback -> worker thread starts process()", tl["handoff_ms"]),
        row("node.process() up to publishing the poses", tl["process_ms"]),
    ]
    for key, label in (("estimate_ms", "estimator.estimate()"),
                       ("image_to_rgb_ms", "image conversion (image_to_rgb)"),
                       ("tracker_ms", "tracker (PoseTracker.update)"),
                       ("detections_to_msg_ms", "message building (detections_to_msg)")):
        rows.append(row(f"  of which {label} (in-process)", inproc[key]))
    rows.append(row("poses back: publish() + DDS + take + this process's executor", tl["back_ms"]))
    rows.append(row("  of which the node's publish() of the poses (in-process)",
                    inproc["publish_ms"]))
    rows.append(row("= round trip (this run)", tl["total_ms"]))
    rows.append(row("raw estimator (interleaved run), for comparison", dds["estimator_ms"]))
    print_table(["part", "mean ms", "median ms", "p90 ms", "share"], rows)
    echo = res.get("image_echo_ms")
    if echo is not None:
        print(f"(For scale: the same image to an echo process and a small answer back took "
              f"{echo:.2f} ms on average in the transport table.)\n")
    print_executors(res, est_ms)


EXECUTOR_NAMES = {"multi": "MultiThreadedExecutor", "single": "SingleThreadedExecutor"}


def print_executors(res: dict[str, Any], est_ms: float) -> None:
    print("The same timestamped node on each rclpy executor (flow-controlled runs, same frames); "
          "'spin' marks the one `python -m act_ros.ros.pose_node` uses (act_ros.ros.spin):")
    rows = []
    for kind, tl in res["executors"].items():
        delivery, total = tl["delivery_ms"], tl["total_ms"]
        rows.append([EXECUTOR_NAMES[kind] + (" (spin)" if kind == res["spin_executor"] else ""),
                     delivery["median"], delivery["p90"], delivery["max"], total["mean"],
                     total["median"], total["p90"], f"{(total['mean'] / est_ms - 1) * 100:+.1f}%"])
    print_table(["executor", "image publish -> callback median ms", "p90 ms", "max ms",
                 "round trip mean ms", "median ms", "p90 ms",
                 "mean overhead vs raw estimator (interleaved run)"], rows)


# =================================================================================================
# act: AcT node time per message
# =================================================================================================
def act_in_process(model: Path, people: int, warmup: int, count: int, period_ns: int,
                   profile: bool) -> dict[str, Any]:
    """Time the real ``ActNode._on_poses`` on real messages (clean pass), then once more with
    each piece timed (instrumented pass) and, if asked, under cProfile."""
    from rclpy.parameter import Parameter
    from rclpy.serialization import deserialize_message, serialize_message

    import act_ros.recognizer as recognizer_module
    import act_ros.ros.act_node as act_node_module
    from act_ros.msg import PersonActionArray, PersonPose2DArray

    poses = people_poses(people, warmup + count)
    msgs = pose_messages(poses, 1, STAMP0_NS, period_ns)
    session = RosSession("bench_act_inprocess", ["--ros-args", "--params-file", str(CONFIG)])
    originals = {"msg_to_arrays": act_node_module.msg_to_arrays,
                 "actions_to_msg": act_node_module.actions_to_msg,
                 "pose_features": recognizer_module.pose_features}
    overrides = [Parameter("model_path", value=str(model)), Parameter("num_threads", value=1),
                 Parameter("no_input_warning", value=0.0)]

    current: list[Any] = []

    def fresh_node():
        # One ActNode at a time (two nodes of one name would share a /rosout publisher).
        while current:
            current.pop().destroy_node()
        node = act_node_module.ActNode(context=session.context, parameter_overrides=overrides)
        current.append(node)
        session.spin_until(lambda: node._pub.get_subscription_count() >= 1, 10,
                           "the in-process actions subscriber")
        return node

    try:
        # A matched subscriber (never spun), so publish() does its real work.
        session.node.create_subscription(PersonActionArray, "human_actions", lambda m: None,
                                         reliable())
        node = fresh_node()
        callback = []
        for i, msg in enumerate(msgs):
            if i == warmup:
                inferences0 = node.recognizer.stats.inferences
            t0 = time.perf_counter()
            node._on_poses(msg)
            if i >= warmup:
                callback.append(time.perf_counter() - t0)
        inferences = node.recognizer.stats.inferences - inferences0
        last_out = node.recognizer.num_tracks
        # The take side of "receiving": rclpy turns the serialized message into Python objects.
        deserialize = []
        for msg in msgs[warmup:]:
            data = serialize_message(msg)
            t0 = time.perf_counter()
            deserialize_message(data, PersonPose2DArray)
            deserialize.append(time.perf_counter() - t0)

        node = fresh_node()
        timers = {name: Timed(fn) for name, fn in originals.items()}
        act_node_module.msg_to_arrays = timers["msg_to_arrays"]
        act_node_module.actions_to_msg = timers["actions_to_msg"]
        recognizer_module.pose_features = timers["pose_features"]
        timers["update"] = node.recognizer.update = Timed(node.recognizer.update)
        predict = Timed(node.classifier.predict_proba)
        timers["predict_proba"] = node.classifier.predict_proba = predict
        node._pub = TimedPublisher(node._pub)
        timers["publish"] = node._pub.publish
        total = []
        for i, msg in enumerate(msgs):
            if i == warmup:
                for timer in timers.values():
                    timer.reset()
            t0 = time.perf_counter()
            node._on_poses(msg)
            if i >= warmup:
                total.append(time.perf_counter() - t0)
        out = {"people": people, "callback_ms": stats_ms(callback),
               "deserialize_ms": stats_ms(deserialize),
               "instrumented_ms": stats_ms(total), "tracks": last_out,
               "inferences_per_message": inferences / count,
               "parts_ms": {name: stats_ms(t.times) for name, t in timers.items()}}
        if profile:
            out["profile"] = profile_callback(fresh_node(), msgs, warmup)
        return out
    finally:
        act_node_module.msg_to_arrays = originals["msg_to_arrays"]
        act_node_module.actions_to_msg = originals["actions_to_msg"]
        recognizer_module.pose_features = originals["pose_features"]
        while current:
            current.pop().destroy_node()
        session.close()


def profile_callback(node: Any, msgs: list[Any], warmup: int, top: int = 14) -> list[dict]:
    """cProfile of the callback over the timed messages: the functions with the most own time."""
    import cProfile
    import pstats

    for msg in msgs[:warmup]:
        node._on_poses(msg)
    profiler = cProfile.Profile()
    profiler.enable()
    for msg in msgs[warmup:]:
        node._on_poses(msg)
    profiler.disable()
    stats = pstats.Stats(profiler)
    n = len(msgs) - warmup
    rows = []
    for (file, line, func), (_, nc, tt, ct, _) in stats.stats.items():  # type: ignore
        rows.append({"function": f"{Path(file).name}:{line}({func})", "calls_per_message": nc / n,
                     "own_us_per_message": tt / n * 1e6, "cumulative_us_per_message": ct / n * 1e6})
    rows.sort(key=lambda r: -r["own_us_per_message"])
    return rows[:top]


def act_over_dds(model: Path, people_counts: Sequence[int], warmup: int, count: int,
                 period_ns: int, run_dir: Path, executor: str | None = None
                 ) -> dict[int, dict[str, Any]]:
    """Round trip poses -> actions per message, the AcT node in its own process: ``python -m
    act_ros.ros.act_node``, or with ``executor`` the same node on that executor. One node for
    every crowd size: each set has its own IDs and starts after the track timeout."""
    from act_ros.msg import PersonActionArray, PersonPose2DArray

    if executor is None:
        node = node_process("act_node", run_dir, {"model_path": str(model), "num_threads": 1,
                                                  "no_input_warning": 0.0})
    else:
        node = self_process("act-node", run_dir, ["--act-model", str(model), "--executor",
                                                  executor], capture_stdout=False)
    session = RosSession("bench_act_dds")
    results = {}
    try:
        pub = session.node.create_publisher(PersonPose2DArray, "human_poses", reliable())
        replies: dict[int, tuple[float, int]] = {}
        sub = session.node.create_subscription(
            PersonActionArray, "human_actions",
            lambda m: replies.setdefault(stamp_ns(m), (time.perf_counter(), len(m.actions))),
            reliable())
        session.spin_until(lambda: pub.get_subscription_count() >= 1
                           and sub.get_publisher_count() >= 1, 60, "the AcT node", [node])
        start = STAMP0_NS
        first_id = 1
        from tqdm import tqdm

        for people in people_counts:
            msgs = pose_messages(people_poses(people, warmup + count), first_id, start, period_ns)
            rtt, actions, lost = [], [], 0
            for i, msg in enumerate(tqdm(msgs, desc=f"AcT node over DDS, {people} people",
                                         leave=False)):
                stamp = stamp_ns(msg)
                t0 = time.perf_counter()
                pub.publish(msg)
                if not session.spin_until(lambda: stamp in replies, 10.0, watch=[node]):  # noqa: B023
                    lost += 1
                    continue
                if i >= warmup:
                    rtt.append(replies[stamp][0] - t0)
                    actions.append(replies[stamp][1])
            results[people] = {"round_trip_ms": stats_ms(rtt), "lost": lost,
                               "actions_per_message": float(np.mean(actions)) if actions else 0.0}
            first_id += people
            start = stamp_ns(msgs[-1]) + 10 * 1_000_000_000  # beyond track_timeout: fresh windows
        return results
    finally:
        session.close()
        node.stop()


def run_act(args: argparse.Namespace, run_dir: Path) -> dict[str, Any]:
    from act_ros.model_spec import load_model_spec

    model, description = resolve_act_model(args.act_model)
    spec = load_model_spec(model)
    rate = model_frame_rate(model) or 30.0
    period_ns = int(round(1e9 / rate))
    counts = [int(c) for c in args.act_people.split(",")]
    # Full windows before timing: every person's window holds window_length frames (--quick:
    # just past the first prediction, the numbers are not steady-state anyway).
    warmup = spec.window_length + 5 if not args.quick else 12
    load0 = os.getloadavg()
    in_process = {}
    for people in counts:
        in_process[people] = act_in_process(model, people, warmup, args.act_messages, period_ns,
                                            profile=False)
    target_people = 5 if 5 in in_process else counts[0]
    over = in_process[target_people]["callback_ms"]["median"] > ACT_TARGET_MS
    if over or args.profile:
        in_process[target_people]["profile"] = act_in_process(
            model, target_people, warmup, args.act_messages, period_ns, profile=True)["profile"]
    dds = act_over_dds(model, counts, warmup, args.act_messages, period_ns, run_dir)
    other_kind = "single" if spin_executor_name() == "MultiThreadedExecutor" else "multi"
    dds_other = act_over_dds(model, counts, warmup, args.act_messages, period_ns, run_dir,
                             executor=other_kind)
    return {"model": str(model), "model_description": description, "window_length":
            spec.window_length, "frame_rate": rate, "classes": spec.num_classes,
            "messages": args.act_messages, "warmup": warmup, "in_process": in_process,
            "dds": dds, "dds_other_executor": {"executor": other_kind, "results": dds_other},
            "spin_executor": spin_executor_name(), "load": [load0, os.getloadavg()]}


def print_act(res: dict[str, Any]) -> None:
    print(f"### AcT node time per message (model {res['model_description']}, window "
          f"{res['window_length']} frames, 1 TFLite thread, config/act_ros.yaml)")
    print(f"{load_text()} (at the start: {res['load'][0][0]:.2f}). Real LZQ pose sequences, one "
          f"per person; messages {1e3 / res['frame_rate']:.1f} ms apart (the model's "
          f"{res['frame_rate']:g} fps), so every message puts a frame in every window and runs "
          f"the model for every person (the worst case; a faster camera skips frames between "
          f"samples). Timed: {res['messages']} messages after {res['warmup']} that fill the "
          f"windows.")
    rows = []
    for people, r in res["in_process"].items():
        people = int(people)
        cb, de = r["callback_ms"], r["deserialize_ms"]
        rows.append([people, cb["median"], cb["p90"], cb["p99"], de["median"],
                     cb["median"] + de["median"], r["inferences_per_message"]])
    print("In-process: the real ActNode._on_poses (message -> arrays, recognizer, TFLite, "
          "actions message, publish to a matched subscriber) timed around the call; "
          "'take' = rclpy deserialize_message of the same message (the executor's receive).")
    print_table(["people", "callback median ms", "p90 ms", "p99 ms", "take median ms",
                 "take + callback median ms", "inferences/message"], rows, digits=3)
    rows = []
    other = res["dds_other_executor"]
    for label, results in ((f"`python -m act_ros.ros.act_node` ({res['spin_executor']})",
                            res["dds"]),
                           (f"same node on {EXECUTOR_NAMES[other['executor']]}",
                            other["results"])):
        for people, r in results.items():
            rt = r["round_trip_ms"]
            rows.append([label, int(people), rt["median"], rt["p90"], rt["p99"], r["lost"],
                         r["actions_per_message"]])
    print("Over DDS: publish PersonPose2DArray -> the AcT node in its own process -> "
          "PersonActionArray received here (both serializations included).")
    print_table(["node process", "people", "round trip median ms", "p90 ms", "p99 ms", "lost",
                 "actions/message"], rows, digits=3)
    r5 = res["in_process"].get(5) or res["in_process"].get("5")
    if r5:
        median = r5["callback_ms"]["median"] + r5["deserialize_ms"]["median"]
        verdict = "within" if median <= ACT_TARGET_MS else "OVER"
        print(f"5 people, take + callback median {median:.3f} ms; target < {ACT_TARGET_MS} ms: "
              f"{verdict} target.\n")
    names = [("msg_to_arrays", "message -> arrays (msg_to_arrays)"),
             ("update", "recognizer.update (all of it)"),
             ("pose_features", "  of which pose_features"),
             ("predict_proba", "  of which TFLite predict_proba"),
             ("actions_to_msg", "actions message (actions_to_msg)"),
             ("publish", "publish human_actions")]
    headers = ["part (mean ms per message)"] + [f"{int(p)} people" for p in res["in_process"]]
    rows = [[label] + [r["parts_ms"][key]["mean"] for r in res["in_process"].values()]
            for key, label in names]
    rows.append(["= instrumented callback"] + [r["instrumented_ms"]["mean"]
                                               for r in res["in_process"].values()])
    print("Where the callback's time goes (instrumented pass, each piece timed around the real "
          "call):")
    print_table(headers, rows, digits=3)
    for people, r in res["in_process"].items():
        if r.get("profile"):
            print(f"cProfile of the callback, {int(people)} people (top functions by own time, "
                  f"per message; cProfile itself slows Python code down):")
            print_table(["function", "calls/message", "own us/message", "cumulative us/message"],
                        [[p["function"], p["calls_per_message"], p["own_us_per_message"],
                          p["cumulative_us_per_message"]] for p in r["profile"]], digits=1)


# =================================================================================================
# latency: camera at 30 fps -> pose node -> AcT node
# =================================================================================================
def serve_camera(args: argparse.Namespace) -> int:
    """Child: publish the demo clip on image_raw at ``fps`` in real time (stamp = publish time),
    without waiting for anything; print a JSON summary on stdout."""
    import rclpy
    from rclpy.qos import qos_profile_sensor_data
    from sensor_msgs.msg import Image

    from bench_pose import load_frames

    frames = load_frames(count=args.latency_frames, size=parse_size(args.latency_size))
    msgs = [image_message(f, args.encoding) for f in frames]
    rclpy.init()
    node = rclpy.create_node("bench_camera")
    pub = node.create_publisher(Image, "image_raw", qos_profile_sensor_data)
    deadline = time.monotonic() + 60
    while pub.get_subscription_count() < 1:
        if time.monotonic() > deadline:
            print(json.dumps({"error": "no subscriber on image_raw"}), flush=True)
            return 1
        time.sleep(0.01)  # a publisher needs no spinning; this polls the graph
    period = 1.0 / args.fps
    publish, late = [], 0
    start = time.perf_counter()
    total = len(msgs) * args.latency_loops
    for i in range(total):
        target = start + i * period
        now = time.perf_counter()
        if target > now:
            time.sleep(target - now)
        elif now - target > period:
            late += 1
        msg = msgs[i % len(msgs)]
        set_stamp(msg, time.time_ns())  # ROS system time, the clock the nodes stamp with
        t0 = time.perf_counter()
        pub.publish(msg)
        publish.append(time.perf_counter() - t0)
    elapsed = time.perf_counter() - start
    print(json.dumps({"published": total, "late": late, "seconds": elapsed,
                      "rate": total / elapsed, "publish_ms": stats_ms(publish)}), flush=True)
    node.destroy_node()
    rclpy.try_shutdown()
    return 0


def run_latency(args: argparse.Namespace, run_dir: Path, executor: str | None = None
                ) -> dict[str, Any]:
    """Camera -> pose node -> AcT node in real time. ``executor`` None: the nodes as `python -m
    act_ros.ros.<node>`; "single"/"multi": the same nodes on that rclpy executor."""
    from diagnostic_msgs.msg import DiagnosticArray

    from act_ros.msg import PersonActionArray, PersonPose2DArray

    model, description = resolve_act_model(args.act_model)
    params = pose_node_params()
    variant = args.pose_variant or params["model_variant"]
    load0 = os.getloadavg()
    if executor is None:
        nodes = f"python -m act_ros.ros.* ({spin_executor_name()})"
        act = node_process("act_node", run_dir, {"model_path": str(model),
                                                 "no_input_warning": 0.0})
        pose = node_process("pose_node", run_dir, {"model_variant": variant,
                                                   "no_input_warning": 0.0})
    else:
        nodes = f"both nodes on {EXECUTOR_NAMES[executor]}"
        act = self_process("act-node", run_dir, ["--act-model", str(model), "--executor",
                                                 executor], capture_stdout=False)
        pose = self_process("pose-node", run_dir, [
            "--marks", str(run_dir / f"latency_marks_{time.monotonic_ns()}.json"),
            "--pose-variant", variant, "--executor", executor], capture_stdout=False)
    session = RosSession("bench_observer")
    camera = None
    try:
        poses_lat, actions_lat, busy_actions_lat = [], [], []
        poses_seen, diag = [0], {}

        def on_poses(msg: Any) -> None:
            poses_lat.append(time.time_ns() - stamp_ns(msg))
            poses_seen[0] += 1

        def on_actions(msg: Any) -> None:
            latency = time.time_ns() - stamp_ns(msg)
            actions_lat.append(latency)
            if len(msg.actions):
                busy_actions_lat.append(latency)

        def on_diagnostics(msg: Any) -> None:
            values = diagnostic_values(msg, "pose_node")
            if values is not None:
                diag["pose"] = (time.monotonic(), values)

        p_sub = session.node.create_subscription(PersonPose2DArray, "human_poses", on_poses,
                                                 reliable(100))
        a_sub = session.node.create_subscription(PersonActionArray, "human_actions", on_actions,
                                                 reliable(100))
        session.node.create_subscription(DiagnosticArray, "/diagnostics", on_diagnostics, 50)
        session.spin_until(lambda: p_sub.get_publisher_count() >= 1
                           and a_sub.get_publisher_count() >= 1, 120, "both nodes", [act, pose])
        # Windows need poses from the pose node: it must see the AcT node's subscription too.
        session.spin_until(lambda: session.node.count_subscribers("/human_poses") >= 2, 30,
                           "the AcT node's poses subscription", [act, pose])
        camera = self_process("camera", run_dir, [
            "--latency-frames", str(args.latency_frames), "--latency-loops",
            str(args.latency_loops), "--fps", str(args.fps), "--encoding", args.encoding,
            "--latency-size", args.latency_size])
        session.spin_until(lambda: not camera.alive(), 60 + 2 * args.latency_frames *
                           args.latency_loops / args.fps, "the camera to finish", [act, pose])
        out, _ = camera.proc.communicate()
        camera.stop()
        cam = json.loads(out.strip().splitlines()[-1])
        if "error" in cam:
            raise RuntimeError(f"camera: {cam['error']}")
        ended = time.monotonic()

        def drained() -> bool:
            if "pose" not in diag or diag["pose"][0] < ended + 1.0:
                return False  # a report made after the last image could have arrived
            values = diag["pose"][1]
            return (int(values.get("processed", -1)) == poses_seen[0]
                    and len(actions_lat) == poses_seen[0])

        session.spin_until(drained, 30, "the nodes to finish the last frames", [act, pose])
        values = diag["pose"][1]
        received = int(values["received"])
        ms = lambda ns: stats_ms(np.asarray(ns, dtype=np.float64) / 1e9)  # noqa: E731
        return {"nodes": nodes, "variant": variant, "model_description": description,
                "camera": cam, "output_fps": int(values["processed"]) / cam["seconds"],
                "received": received, "processed": int(values["processed"]),
                "dropped_busy": int(values["dropped_busy"]),
                "lost_in_transport": int(values["lost_in_transport"]),
                "not_received": cam["published"] - received,
                "poses_ms": ms(poses_lat), "actions_ms": ms(actions_lat),
                "actions_with_people_ms": ms(busy_actions_lat), "load": [load0, os.getloadavg()],
                "fps": args.fps, "frames": args.latency_frames, "loops": args.latency_loops}
    finally:
        if camera is not None:
            camera.stop()
        session.close()
        pose.stop()
        act.stop()


def print_latency(runs: list[dict[str, Any]]) -> None:
    res = runs[0]
    cam = res["camera"]
    print(f"### Image stamp -> /human_actions latency, both nodes running (pose: MediaPipe "
          f"{res['variant']}; AcT: {res['model_description']})")
    print(f"{load_text()} (at the start: {res['load'][0][0]:.2f}). A camera process publishes "
          f"the demo clip from frame 0 ({res['frames']} frames x {res['loops']} loop(s)) on "
          f"image_raw at {res['fps']:g} fps in real time (achieved {cam['rate']:.1f} fps, "
          f"{cam['late']} frames published > 1 period late, publish() "
          f"{cam['publish_ms']['median']:.1f} ms median), stamp = publish time; pose node and "
          f"AcT node in their own processes with config/act_ros.yaml; latency = arrival here - "
          f"image stamp. The first run is the shipped programs; the second the same nodes on "
          f"the other rclpy executor.")
    rows = []
    for run in runs:
        for key, label in (("poses_ms", "image stamp -> /human_poses"),
                           ("actions_ms", "image stamp -> /human_actions (every message)"),
                           ("actions_with_people_ms", "image stamp -> /human_actions with >= 1 "
                                                      "labelled person")):
            s = run[key]
            rows.append([run["nodes"], label, s["n"], s["median"], s["p90"], s["p99"], s["max"]])
    print_table(["nodes", "path", "messages", "p50 ms", "p90 ms", "p99 ms", "max ms"], rows,
                digits=1)
    print("Frames:")
    rows = []
    for run in runs:
        published = run["camera"]["published"]
        rows.append([run["nodes"], published, run["received"], run["processed"],
                     run["dropped_busy"], run["not_received"],
                     run["processed"] / max(1, published), run["output_fps"]])
    print_table(["nodes", "published", "received by the pose node", "processed",
                 "dropped (node busy, replaced in the 1-slot mailbox)",
                 "never received (lost in transport)", "processed share",
                 "pose node output frames/s"], rows, digits=3)


# =================================================================================================
def plot(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [k for k in ("pose", "act", "latency") if k in results]
    if not panels:
        return
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 4))
    axes = np.atleast_1d(axes)
    for ax, key in zip(axes, panels):
        res = results[key]
        if key == "pose":
            x = np.arange(len(res))
            bars = [("raw estimator (interleaved)", "tab:gray",
                     lambda r: 1e3 / r["node_dds"]["estimator_ms"]["mean"]),
                    ("pose node over DDS (python -m)", "tab:orange",
                     lambda r: r["node_dds"]["fps"])]
            for kind, color in (("single", "tab:green"), ("multi", "tab:red")):
                if kind != res[0]["spin_executor"]:
                    bars.append((f"same node, {EXECUTOR_NAMES[kind]}", color,
                                 lambda r, k=kind: 1e3 / r["executors"][k]["total_ms"]["mean"]))
            width = 0.8 / len(bars)
            for i, (label, color, value) in enumerate(bars):
                ax.bar(x + (i - (len(bars) - 1) / 2) * width, [value(r) for r in res],
                       width=width, color=color, label=label)
            ax.set_xticks(x, [r["image"] for r in res])
            ax.set_ylabel("frames/s (flow control)")
            ax.set_title(f"pose node vs raw estimator (MediaPipe {res[0]['variant']})")
            ax.legend(fontsize=7)
        elif key == "act":
            people = [int(p) for p in res["in_process"]]
            x = np.arange(len(people))
            other = res["dds_other_executor"]
            series = (("callback in-process", res["in_process"], "callback_ms"),
                      (f"over DDS, python -m ({res['spin_executor']})", res["dds"],
                       "round_trip_ms"),
                      (f"over DDS, {EXECUTOR_NAMES[other['executor']]}", other["results"],
                       "round_trip_ms"))
            width = 0.8 / len(series)
            for i, (label, data, field) in enumerate(series):
                med = [data[p if p in data else str(p)][field]["median"] for p in people]
                p90 = [data[p if p in data else str(p)][field]["p90"] for p in people]
                offset = (i - (len(series) - 1) / 2) * width
                ax.bar(x + offset, med, width=width, label=f"{label} (median, p90 bar)")
                ax.errorbar(x + offset, med, yerr=[np.zeros(len(med)), np.subtract(p90, med)],
                            fmt="none", ecolor="black", capsize=3)
            ax.axhline(ACT_TARGET_MS, color="red", linestyle="--", label="target (5 people)")
            ax.set_yscale("log")
            ax.set_xticks(x, [f"{p} people" for p in people])
            ax.set_ylabel("ms per message (log)")
            ax.set_title("AcT node per message (1 TFLite thread)")
            ax.legend(fontsize=7)
        else:
            names = ["published", "received", "processed", "dropped busy"]
            x = np.arange(len(names))
            width = 0.8 / len(res)
            lines = []
            for i, run in enumerate(res):
                values = [run["camera"]["published"], run["received"], run["processed"],
                          run["dropped_busy"]]
                ax.bar(x + (i - (len(res) - 1) / 2) * width, values, width=width,
                       label=run["nodes"])
                lines.append(f"{run['nodes']}: actions p50 {run['actions_ms']['median']:.0f} / "
                             f"p90 {run['actions_ms']['p90']:.0f} / p99 "
                             f"{run['actions_ms']['p99']:.0f} ms")
            ax.set_xticks(x, names)
            ax.set_ylabel("frames")
            ax.set_title(f"camera {res[0]['fps']:g} fps -> both nodes\n" + "\n".join(lines),
                         fontsize=8)
            ax.legend(fontsize=7, loc="best")
    fig.suptitle(f"act_ros node benchmarks, {time.strftime('%Y-%m-%d %H:%M')}", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true",
                    help="a few frames/messages per section (smoke test); numbers are rough")
    ap.add_argument("--json", type=Path, help="save the results here")
    ap.add_argument("--png", type=Path, help="save a chart of the results here")
    ap.add_argument("--only", default="transport,pose,act,latency",
                    help="comma-separated sections to run")
    ap.add_argument("--dds-profile", choices=("project", "default-transports"),
                    default="project",
                    help="Fast DDS profile of every process: the project's, or the same without "
                         "its shared-memory segment (see the transport table)")
    ap.add_argument("--encoding", choices=("rgb8", "bgr8"), default="rgb8",
                    help="image encoding the camera publishes")
    ap.add_argument("--pose-variant", choices=POSE_VARIANTS,
                    help="default: the pose node's model_variant")
    ap.add_argument("--pose-sizes", default="native,640x360",
                    help="image sizes of the pose section: 'native' (1768x994) and/or WxH")
    ap.add_argument("--latency-size", default="native", help="camera image size (latency)")
    ap.add_argument("--pose-frames", type=int, default=120, help="timed frames")
    ap.add_argument("--pose-warmup", type=int, default=5)
    ap.add_argument("--act-model", help="a .tflite AcT model (default: the shipped micro)")
    ap.add_argument("--act-people", default="1,5,20")
    ap.add_argument("--act-messages", type=int, default=500, help="timed messages per size")
    ap.add_argument("--profile", action="store_true",
                    help="cProfile the AcT callback even when within target")
    ap.add_argument("--latency-frames", type=int, default=230, help="clip frames (from frame 0)")
    ap.add_argument("--latency-loops", type=int, default=2, help="times the clip is played")
    ap.add_argument("--fps", type=float, default=30.0, help="camera rate (latency section)")
    ap.add_argument("--transport-sizes", default="640x360,640x480,1280x720,native")
    ap.add_argument("--transport-count", type=int, default=20)
    ap.add_argument("--serve", choices=("echo", "probe", "camera", "pose-node", "act-node"),
                    help=argparse.SUPPRESS)
    ap.add_argument("--marks", help=argparse.SUPPRESS)
    ap.add_argument("--executor", choices=("multi", "single"), default="multi",
                    help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.quick:
        args.pose_frames, args.pose_warmup = min(args.pose_frames, 8), min(args.pose_warmup, 3)
        args.act_messages = min(args.act_messages, 20)
        args.latency_frames, args.latency_loops = min(args.latency_frames, 45), 1
        args.transport_count = min(args.transport_count, 3)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.serve:  # a child of this benchmark: the environment came from the parent
        environment.apply(os.environ)
        if args.serve == "echo":
            return serve_echo()
        if args.serve == "camera":
            return serve_camera(args)
        if args.serve == "pose-node":
            return serve_pose_node(args)
        if args.serve == "act-node":
            return serve_act_node(args)
        rows = transport_probe(args.transport_sizes.split(","), args.transport_count,
                               args.encoding, Path(os.environ["ROS_LOG_DIR"]).parent)
        print(json.dumps(rows), flush=True)
        return 0

    sections = [s for s in args.only.split(",") if s]
    unknown = set(sections) - {"transport", "pose", "act", "latency"}
    if unknown:
        raise SystemExit(f"unknown sections {sorted(unknown)} (transport, pose, act, latency)")
    run_dir = Path(tempfile.mkdtemp(prefix="act_ros_bench_nodes_"))
    setup_environment(args.dds_profile, run_dir)
    info = machine_info()
    results: dict[str, Any] = {"machine": info, "profile": args.dds_profile,
                               "domain_id": int(os.environ["ROS_DOMAIN_ID"]),
                               "quick": args.quick}
    print(f"## act_ros node benchmarks{' (--quick: rough numbers)' if args.quick else ''}")
    print(f"{header_line(info)}")
    print(f"ROS_DOMAIN_ID={os.environ['ROS_DOMAIN_ID']}, ROS_AUTOMATIC_DISCOVERY_RANGE="
          f"{os.environ['ROS_AUTOMATIC_DISCOVERY_RANGE']}, DDS profile '{args.dds_profile}'; "
          f"{load_text()}; logs in {run_dir}\n")
    code = 0
    try:
        if "transport" in sections:
            results["transport"] = run_transport(args, run_dir)
            print_transport(results["transport"], args.dds_profile)
        if "pose" in sections:
            results["pose"] = []
            for size in args.pose_sizes.split(","):
                results["pose"].append(run_pose(args, run_dir, results.get("transport"), size))
                print_pose(results["pose"][-1])
        if "act" in sections:
            results["act"] = run_act(args, run_dir)
            print_act(results["act"])
        if "latency" in sections:
            other = "single" if spin_executor_name() == "MultiThreadedExecutor" else "multi"
            results["latency"] = [run_latency(args, run_dir),
                                  run_latency(args, run_dir, executor=other)]
            print_latency(results["latency"])
    finally:
        stop_all_children()
    groups = multicast_groups()
    results["multicast_groups_seen"] = groups
    if groups:
        print(f"WARNING: multicast groups joined on network interfaces during the run: {groups} "
              f"(other processes on the machine may have joined them)", file=sys.stderr)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2, default=str) + "\n")
        print(f"results: {args.json}")
    if args.png:
        plot(results, args.png)
        print(f"chart: {args.png}")
    return code


if __name__ == "__main__":
    sys.exit(main())
