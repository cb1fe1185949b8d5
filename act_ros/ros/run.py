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
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from act_ros.model_sizes import MODEL_SIZES
from act_ros.pose.variants import POSE_VARIANTS
from act_ros.ros import environment


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
    from act_ros.bag.images import compressed_msg_to_bgr, image_msg_to_bgr, stamp_to_ns

    try:
        info = inspect_bag(path, input_topic=image_topic or None, require_ground_truth=False)
    except BagError as exc:
        raise SystemExit(f"act-ros run: {exc}") from None
    if info.is_pose_bag:
        raise SystemExit(f"act-ros run: {path} holds pose arrays, not images; replay it with "
                         f"`act-ros evaluate {path}` (AcT node only)")
    decode = compressed_msg_to_bgr if info.input_type.endswith("CompressedImage") else image_msg_to_bgr
    fps = (info.n_frames - 1) / info.duration_s if info.duration_s > 0 else 30.0

    def bag() -> Iterator[Frame]:
        first = None
        for i, (_, msg) in enumerate(iter_messages(path, info.input_topic, info.input_type)):
            stamp = stamp_to_ns(msg.header.stamp)
            first = stamp if first is None else first
            yield Frame(i, start_ns + (stamp - first), decode(msg))

    return Source(f"{path} ({info.input_topic})", fps, info.n_frames, False, bag())


# --- the run ------------------------------------------------------------------------------------
def node_parameters(args: argparse.Namespace) -> tuple[dict, dict]:
    """(pose_node, act_node) parameter overrides from the params file and the flags."""
    from act_ros.parameters import default_params_file, load_params_file

    pose, act = load_params_file(args.params_file or default_params_file())
    flags = {"model_size": args.model_size, "model_path": args.model_path,
             "num_threads": args.num_threads}
    act.update({k: v for k, v in flags.items() if v is not None})
    pose_flags = {"model_variant": args.pose_variant, "num_poses": args.num_poses}
    pose.update({k: v for k, v in pose_flags.items() if v is not None})
    pose["no_input_warning"] = 0.0  # the source starts when we say so
    act["no_input_warning"] = 0.0
    return pose, act


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # The network rule for everything this project starts itself: loopback unless asked.
    environment.apply(force_localhost=args.discovery_range == "LOCALHOST")
    if args.discovery_range != "LOCALHOST":
        import os

        os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = args.discovery_range

    import rclpy
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.parameter import Parameter
    from tqdm import tqdm

    from act_ros.drawing import draw_poses
    from act_ros.msg import PersonActionArray, PersonPose2DArray
    from act_ros.ros.act_node import ActNode
    from act_ros.ros.conversions import image_from_array, msg_to_detections, stamp_to_ns
    from act_ros.ros.pose_node import PoseNode
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import Image
    from builtin_interfaces.msg import Time

    source = open_source(args.source, args.image_topic)
    pose_params, act_params = node_parameters(args)
    context = rclpy.Context()
    rclpy.init(context=context)
    nodes = []
    try:
        pose_node = PoseNode(context=context, parameter_overrides=[
            Parameter(k, value=v) for k, v in pose_params.items()])
        nodes.append(pose_node)
        act_node = ActNode(context=context, parameter_overrides=[
            Parameter(k, value=v) for k, v in act_params.items()])
        nodes.append(act_node)
        driver = rclpy.create_node("act_ros_run", context=context)
        nodes.append(driver)
    except Exception as exc:
        for node in nodes:
            getattr(node, "close", lambda: None)()
            node.destroy_node()
        rclpy.try_shutdown(context=context)
        print(f"act-ros run: cannot start: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1

    reliable = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
    image_pub = driver.create_publisher(Image, "image_raw", QoSProfile(
        depth=1 if source.live else 5, reliability=ReliabilityPolicy.RELIABLE))
    poses: dict[int, PersonPose2DArray] = {}
    actions: dict[int, PersonActionArray] = {}
    done = threading.Condition()

    def on_poses(msg):
        with done:
            poses[stamp_to_ns(msg.header.stamp)] = msg

    def on_actions(msg):
        with done:
            actions[stamp_to_ns(msg.header.stamp)] = msg
            done.notify_all()

    driver.create_subscription(PersonPose2DArray, "human_poses", on_poses, reliable)
    driver.create_subscription(PersonActionArray, "human_actions", on_actions, reliable)
    # One executor for both nodes and the source (see act_ros/ros/spin.py for why single-threaded).
    executor = SingleThreadedExecutor(context=context)
    for node in nodes:
        executor.add_node(node)
    spinner = threading.Thread(target=executor.spin, daemon=True)
    spinner.start()

    writer = None
    current: dict[int, str] = {}
    seen_tracks: set[int] = set()
    processed = 0
    t_start = time.monotonic()
    total = source.total if not args.max_frames else min(source.total or args.max_frames, args.max_frames)
    progress = tqdm(total=total, unit="frame", desc="act-ros run", dynamic_ncols=True,
                    disable=None)
    print(f"act-ros run: {source.name} at {source.fps:.1f} fps; model "
          f"'{act_node.classifier.spec.name}' classes: {', '.join(act_node.classifier.class_names)}",
          file=sys.stderr)
    try:
        _wait(lambda: image_pub.get_subscription_count() >= 1
              and driver.count_publishers("/human_actions") >= 1, 30, "the nodes to connect")
        for frame in source.frames:
            if args.max_frames and frame.index >= args.max_frames:
                break
            header_stamp = Time(sec=frame.stamp_ns // 1_000_000_000, nanosec=frame.stamp_ns % 1_000_000_000)
            msg = image_from_array(frame.bgr, "bgr8")
            msg.header.stamp = header_stamp
            msg.header.frame_id = "camera"
            image_pub.publish(msg)
            if source.live:
                processed += 1
                progress.update(1)
                continue
            with done:
                if not done.wait_for(lambda: frame.stamp_ns in actions, timeout=60.0):  # noqa: B023
                    print(f"act-ros run: no result for frame {frame.index} within 60 s; "
                          f"stopping", file=sys.stderr)
                    break
                pose_msg = poses.pop(frame.stamp_ns, None)
                action_msg = actions.pop(frame.stamp_ns)
            processed += 1
            progress.update(1)
            labels = {a.track_id: (a.label, a.confidence) for a in action_msg.actions}
            t = frame.index / source.fps
            for a in action_msg.actions:
                seen_tracks.add(a.track_id)
                if current.get(a.track_id) != a.label and not args.quiet:
                    progress.write(f"[{t:6.2f} s] person {a.track_id}: {a.label} ({a.confidence:.2f})")
                current[a.track_id] = a.label
            if args.output:
                if writer is None:
                    args.output.parent.mkdir(parents=True, exist_ok=True)
                    h, w = frame.bgr.shape[:2]
                    writer = cv2.VideoWriter(str(args.output), cv2.VideoWriter_fourcc(*"mp4v"),
                                             source.fps, (w, h))
                    if not writer.isOpened():
                        raise SystemExit(f"act-ros run: cannot write {args.output}")
                if pose_msg is not None:
                    writer.write(draw_poses(frame.bgr, msg_to_detections(pose_msg), labels))
                else:
                    writer.write(frame.bgr)
    except KeyboardInterrupt:
        pass
    finally:
        progress.close()
        if writer is not None:
            writer.release()
        elapsed = time.monotonic() - t_start
        counters = dict(pose_node.counters)
        executor.shutdown(timeout_sec=2.0)
        for node in nodes:
            getattr(node, "close", lambda: None)()
            node.destroy_node()
        rclpy.try_shutdown(context=context)
    print(f"act-ros run: {processed} frames in {elapsed:.1f} s ({processed / max(elapsed, 1e-9):.1f} "
          f"fps), {len(seen_tracks)} people with actions; pose node: {counters}", file=sys.stderr)
    if args.output and writer is not None:
        print(f"act-ros run: annotated video written to {args.output}", file=sys.stderr)
    return 0


def _wait(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"act-ros run: timed out waiting for {what}")
        time.sleep(0.01)


if __name__ == "__main__":
    sys.exit(main())
