"""`act-ros run`: the whole pipeline in one process, on real ROS 2.

    act-ros run --source VIDEO | CAMERA_INDEX | BAG [--output annotated.mp4] [options]

Starts the pose node and the AcT node in one executor (the same nodes, topics and parameters as
``ros2 launch act_ros act.launch.py``) plus a small source node that publishes the frames on
``image_raw``. Prints each person's action when it changes and can write an annotated video.

Files and bags are processed frame by frame, as fast as the machine allows, without dropping
any: the source waits for a frame's /human_actions before publishing the next one. Their stamps
are the media time (first frame at the start time), so the windows see the video's real frame
rate whatever the processing speed. A camera runs in real time and the pose node drops frames
while busy (counted in /diagnostics).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from act_ros import environment
from act_ros.messages import header_stamp_ns, message_to_bgr
from act_ros.model_sizes import MODEL_SIZES
from act_ros.pose.variants import POSE_BACKENDS, POSE_VARIANTS

# rclpy and everything importing it are imported after environment.apply (see main).


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="act-ros run", description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--source", required=True,
                    help="a video file, a camera index (0, 1, ...) or a ROS 2 bag with images")
    ap.add_argument("--output", type=Path, help="write the annotated video here (.mp4)")
    ap.add_argument("--params-file", type=Path, default=None,
                    help="ROS parameter YAML for pose_node / act_node (default: config/act_ros.yaml)")
    ap.add_argument("--model-size", choices=MODEL_SIZES)
    ap.add_argument("--model-path", help="a .tflite AcT model (overrides --model-size)")
    ap.add_argument("--num-threads", type=int, help="AcT (TFLite) threads")
    ap.add_argument("--pose-backend", choices=POSE_BACKENDS,
                    help="pose estimator (default: the pose node's backend parameter, topdown)")
    ap.add_argument("--pose-variant", choices=POSE_VARIANTS)
    ap.add_argument("--num-poses", type=int, help="most people per frame")
    ap.add_argument("--max-frames", type=int, default=0, help="stop after this many frames")
    ap.add_argument("--image-topic", default="", help="for a bag: the image topic to play "
                    "(default: the first Image/CompressedImage topic)")
    ap.add_argument("--discovery-range", default="LOCALHOST",
                    choices=("LOCALHOST", "SUBNET", "SYSTEM_DEFAULT"),
                    help="ROS_AUTOMATIC_DISCOVERY_RANGE for this process (default LOCALHOST: "
                         "other machines cannot see the topics)")
    ap.add_argument("--quiet", action="store_true", help="no per-person action lines")
    return ap.parse_args(argv)


# --- frame sources ------------------------------------------------------------------------------
@dataclass
class Frame:
    index: int
    stamp_ns: int
    bgr: np.ndarray


@dataclass
class Source:
    name: str
    fps: float
    total: int | None           # frames, when known
    live: bool                  # a camera: real time, frames may be dropped
    frames: Iterator[Frame] = field(repr=False)


def open_source(spec: str, image_topic: str = "") -> Source:
    start_ns = time.time_ns()
    if spec.isdigit():
        cap = cv2.VideoCapture(int(spec))
        if not cap.isOpened():
            raise SystemExit(f"act-ros run: cannot open camera {spec}")
        fps = cap.get(cv2.CAP_PROP_FPS) or 30.0

        def camera() -> Iterator[Frame]:
            i = 0
            while True:
                ok, bgr = cap.read()
                if not ok:
                    return
                yield Frame(i, time.time_ns(), bgr)
                i += 1

        return Source(f"camera {spec}", fps, None, True, camera())
    path = Path(spec)
    if not path.exists():
        raise SystemExit(f"act-ros run: no such file or bag: {path}")
    if path.is_dir() or path.suffix in (".mcap", ".db3"):
        return _bag_source(path, image_topic, start_ns)
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise SystemExit(f"act-ros run: cannot read video {path}")
    fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
    total = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) or None

    def video() -> Iterator[Frame]:
        i = 0
        while True:
            ok, bgr = cap.read()
            if not ok:
                cap.release()
                return
            yield Frame(i, start_ns + round(i * 1e9 / fps), bgr)
            i += 1

    return Source(str(path), fps, total, False, video())


def _bag_source(path: Path, image_topic: str, start_ns: int) -> Source:
    from act_ros.bag.bag_io import BagError, inspect_bag, iter_messages

    try:
        info = inspect_bag(path, input_topic=image_topic or None, require_ground_truth=False)
    except BagError as exc:
        raise SystemExit(f"act-ros run: {exc}") from None
    if info.is_pose_bag:
        raise SystemExit(f"act-ros run: {path} holds pose arrays, not images; replay it with "
                         f"`act-ros evaluate {path}` (AcT node only)")
    fps = (info.n_frames - 1) / info.duration_s if info.duration_s > 0 else 30.0

    def bag() -> Iterator[Frame]:
        first = None
        for i, (_, msg) in enumerate(iter_messages(path, info.input_topic, info.input_type)):
            stamp = header_stamp_ns(msg)
            first = stamp if first is None else first
            yield Frame(i, start_ns + (stamp - first), message_to_bgr(msg))

    return Source(f"{path} ({info.input_topic})", fps, info.n_frames, False, bag())


# --- the run ------------------------------------------------------------------------------------
def node_parameters(args: argparse.Namespace) -> tuple[dict, dict]:
    """(pose_node, act_node) parameter overrides from the params file and the flags."""
    from act_ros.parameters import default_params_file, load_params_file

    pose, act = load_params_file(args.params_file or default_params_file())
    flags = {"model_size": args.model_size, "model_path": args.model_path,
             "num_threads": args.num_threads}
    act.update({k: v for k, v in flags.items() if v is not None})
    pose_flags = {"backend": args.pose_backend, "model_variant": args.pose_variant,
                  "num_poses": args.num_poses}
    pose.update({k: v for k, v in pose_flags.items() if v is not None})
    pose["no_input_warning"] = 0.0  # the source starts when we say so
    act["no_input_warning"] = 0.0
    return pose, act


def apply_network_rule(discovery_range: str) -> None:
    """Loopback only unless asked otherwise, before rclpy starts (the network rule)."""
    environment.apply(force_localhost=discovery_range == "LOCALHOST")
    if discovery_range != "LOCALHOST":
        os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = discovery_range


@dataclass
class Graph:
    """Both nodes on one host, and this program's end of their topics."""

    host: Any                   # act_ros.ros.host.NodeHost, spinning in the background
    pose_node: Any
    act_node: Any
    driver: Any                 # this program's node
    images: Any                 # publisher on image_raw
    poses: Any                  # StampedMessages of human_poses
    actions: Any                # StampedMessages of human_actions

    def connected(self) -> bool:
        from act_ros.messages import ACTIONS_TOPIC

        return (self.images.get_subscription_count() >= 1
                and self.driver.count_publishers("/" + ACTIONS_TOPIC) >= 1)

    def publish(self, frame: Frame) -> None:
        from std_msgs.msg import Header

        from act_ros.messages import set_stamp
        from act_ros.ros.conversions import image_msg

        header = Header(frame_id="camera")
        set_stamp(header, frame.stamp_ns)
        self.images.publish(image_msg(frame.bgr, "bgr8", header))


def start_graph(pose_params: dict, act_params: dict, live: bool) -> Graph:
    """The pose node, the AcT node and this program's node on one host, spinning. Raises what
    a node raised when it could not start (after tearing down what had started)."""
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import Image

    from act_ros.messages import ACTIONS_TOPIC, IMAGE_TOPIC, POSES_TOPIC
    from act_ros.msg import PersonActionArray, PersonPose2DArray
    from act_ros.ros.act_node import ActNode
    from act_ros.ros.host import NodeHost, StampedMessages
    from act_ros.ros.pose_node import PoseNode

    host = NodeHost()
    try:
        pose_node = host.create(PoseNode, pose_params)
        act_node = host.create(ActNode, act_params)
        driver = host.node("act_ros_run")
    except BaseException:
        host.close()
        raise
    reliable = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
    images = driver.create_publisher(Image, IMAGE_TOPIC, QoSProfile(
        depth=1 if live else 5, reliability=ReliabilityPolicy.RELIABLE))
    poses, actions = StampedMessages(), StampedMessages()
    driver.create_subscription(PersonPose2DArray, POSES_TOPIC, poses, reliable)
    driver.create_subscription(PersonActionArray, ACTIONS_TOPIC, actions, reliable)
    host.start()
    return Graph(host, pose_node, act_node, driver, images, poses, actions)


class ActionLog:
    """Prints each person's action when it changes (stdout: the command's output)."""

    def __init__(self, fps: float, write: Callable[[str], None] | None) -> None:
        self.fps = fps
        self.write = write
        self.current: dict[int, str] = {}

    def update(self, frame_index: int, msg: Any) -> None:
        for a in msg.actions:
            if self.current.get(a.track_id) != a.label and self.write is not None:
                self.write(f"[{frame_index / self.fps:6.2f} s] person {a.track_id}: {a.label} "
                           f"({a.confidence:.2f})")
            self.current[a.track_id] = a.label


class AnnotatedVideo:
    """The frames with skeletons, IDs and labels, written as they come (opened at the first)."""

    def __init__(self, path: Path, fps: float) -> None:
        self.path = path
        self.fps = fps
        self.writer = None

    def write(self, bgr: np.ndarray, pose_msg: Any, action_msg: Any) -> None:
        from act_ros.drawing import draw_poses
        from act_ros.messages import pose_detections

        if self.writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            h, w = bgr.shape[:2]
            self.writer = cv2.VideoWriter(str(self.path), cv2.VideoWriter_fourcc(*"mp4v"),
                                          self.fps, (w, h))
            if not self.writer.isOpened():
                raise SystemExit(f"act-ros run: cannot write {self.path}")
        if pose_msg is None:
            self.writer.write(bgr)
            return
        labels = {a.track_id: (a.label, a.confidence) for a in action_msg.actions}
        self.writer.write(draw_poses(bgr, pose_detections(pose_msg), labels))

    def close(self) -> bool:
        """True when a video was written."""
        if self.writer is None:
            return False
        self.writer.release()
        return True


@dataclass
class Summary:
    frames: int = 0
    seconds: float = 0.0
    people: int = 0             # tracks that got an action
    counters: dict = field(default_factory=dict)
    video: Path | None = None


def play(source: Source, graph: Graph, args: argparse.Namespace) -> Summary:
    """Every frame of ``source`` through the nodes. Files and bags: each frame's result awaited
    before the next, printed and drawn; a camera: real time (the pose node drops while busy)."""
    from tqdm import tqdm

    summary = Summary()
    total = source.total if not args.max_frames else min(source.total or args.max_frames,
                                                         args.max_frames)
    progress = tqdm(total=total, unit="frame", desc="act-ros run", dynamic_ncols=True, disable=None)
    log = ActionLog(source.fps, None if args.quiet else progress.write)
    video = AnnotatedVideo(args.output, source.fps) if args.output else None
    classifier = graph.act_node.classifier
    print(f"act-ros run: {source.name} at {source.fps:.1f} fps; model '{classifier.spec.name}' "
          f"classes: {', '.join(classifier.class_names)}", file=sys.stderr)
    start = time.monotonic()
    try:
        _wait(graph.connected, 30, "the nodes to connect")
        for frame in source.frames:
            if args.max_frames and frame.index >= args.max_frames:
                break
            graph.publish(frame)
            if not source.live:
                if graph.actions.wait(frame.stamp_ns, timeout=60.0) is None:
                    print(f"act-ros run: no result for frame {frame.index} within 60 s; "
                          f"stopping", file=sys.stderr)
                    break
                action_msg = graph.actions.pop(frame.stamp_ns)
                pose_msg = graph.poses.pop(frame.stamp_ns)
                log.update(frame.index, action_msg)
                if video is not None:
                    video.write(frame.bgr, pose_msg, action_msg)
            summary.frames += 1
            progress.update(1)
    except KeyboardInterrupt:
        pass
    finally:
        progress.close()
        if video is not None and video.close():
            summary.video = video.path
        summary.seconds = time.monotonic() - start
    summary.people = len(log.current)
    summary.counters = dict(graph.pose_node.counters)
    return summary


def print_summary(summary: Summary) -> None:
    fps = summary.frames / max(summary.seconds, 1e-9)
    print(f"act-ros run: {summary.frames} frames in {summary.seconds:.1f} s ({fps:.1f} fps), "
          f"{summary.people} people with actions; pose node: {summary.counters}", file=sys.stderr)
    if summary.video is not None:
        print(f"act-ros run: annotated video written to {summary.video}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    apply_network_rule(args.discovery_range)
    source = open_source(args.source, args.image_topic)
    pose_params, act_params = node_parameters(args)
    try:
        graph = start_graph(pose_params, act_params, live=source.live)
    except Exception as exc:
        print(f"act-ros run: cannot start: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    with graph.host:  # torn down once, however the run ends
        summary = play(source, graph, args)
    print_summary(summary)
    return 0


def _wait(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    from act_ros.ros.host import wait_until

    if not wait_until(predicate, timeout):
        raise SystemExit(f"act-ros run: timed out waiting for {what}")


if __name__ == "__main__":
    sys.exit(main())
