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

The run has a ROS graph of its own (a private domain, act_ros.private_domain): another run, or a
robot's camera on /image_raw, cannot feed it or take its results. ``--join-graph`` runs on the
environment's ROS_DOMAIN_ID instead, so other programs see the topics (and can disturb them:
the summary then says so, see act_ros.integrity). SIGINT, SIGTERM and SIGHUP stop it the same
way: summary printed, video finished; exit codes in act_ros.exit_codes.
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

from act_ros import environment, exit_codes
from act_ros.interrupts import GracefulStop, Interrupted
from act_ros.messages import header_stamp_ns, message_to_bgr
from act_ros.model_sizes import MODEL_SIZES
from act_ros.parameters import (
    ACT_NODE_PARAMETERS,
    POSE_NODE_PARAMETERS,
    help_text,
    parse_assignment,
)
from act_ros.pose.variants import POSE_BACKENDS, POSE_VARIANTS
from act_ros.ros.run_output import (
    ActionLog,
    AnnotatedVideo,
    LiveWriter,
    Summary,
    print_summary,
    refuse,
)

# rclpy and everything importing it are imported after environment.apply (see main).


def _assignment(text: str) -> tuple[str, Any]:
    try:
        return parse_assignment(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    from act_ros.runtime import SHIPPED_SIZES
    from act_ros.video import CODECS, INSTALL_H264

    unshipped = [s for s in MODEL_SIZES if s not in SHIPPED_SIZES]
    ap = argparse.ArgumentParser(
        prog="act-ros run",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="exit codes: " + "; ".join(f"{code} {text}" for code, text in exit_codes.TABLE),
    )
    ap.add_argument(
        "--source", required=True, help="a video file, a camera index (0, 1, ...) or a ROS 2 bag with images"
    )
    ap.add_argument("--output", type=Path, help="write the annotated video here (.mp4)")
    ap.add_argument(
        "--video-codec",
        choices=CODECS,
        default="auto",
        help=f"codec of --output: h264 plays everywhere (needs PyAV: {INSTALL_H264}), "
        f"mp4v is OpenCV's; auto = h264 when available (default)",
    )
    ap.add_argument(
        "--params-file",
        type=Path,
        default=None,
        help="ROS parameter YAML for pose_node / act_node (default: config/act_ros.yaml)",
    )
    ap.add_argument(
        "--model-size",
        choices=MODEL_SIZES,
        metavar="{" + ",".join(MODEL_SIZES) + "}",
        help=f"AcT size of the shipped model: shipped are {', '.join(SHIPPED_SIZES)}"
        + (f"; {', '.join(unshipped)} are not shipped (train one, then --model-path)" if unshipped else "")
        + " (default micro)",
    )
    ap.add_argument("--model-path", help="a .tflite AcT model (overrides --model-size)")
    ap.add_argument("--num-threads", type=int, help="AcT (TFLite) threads")
    ap.add_argument("--pose-backend", choices=POSE_BACKENDS, help=help_text(POSE_NODE_PARAMETERS, "backend"))
    ap.add_argument(
        "--pose-variant", choices=POSE_VARIANTS, help=help_text(POSE_NODE_PARAMETERS, "model_variant")
    )
    ap.add_argument("--num-poses", type=int, help="most people per frame")
    ap.add_argument(
        "--unknown-threshold", type=float, help=help_text(ACT_NODE_PARAMETERS, "unknown_threshold")
    )
    ap.add_argument("--smoothing", type=float, help=help_text(ACT_NODE_PARAMETERS, "smoothing"))
    ap.add_argument(
        "--debug-image",
        action="store_true",
        help="publish pose_node/debug_image (skeletons, IDs, labels); to view it "
        "with other programs, add --join-graph",
    )
    ap.add_argument(
        "--pose-param",
        action="append",
        type=_assignment,
        default=[],
        metavar="NAME=VALUE",
        help="any pose node parameter (repeatable)",
    )
    ap.add_argument(
        "--act-param",
        action="append",
        type=_assignment,
        default=[],
        metavar="NAME=VALUE",
        help="any AcT node parameter (repeatable)",
    )
    ap.add_argument("--max-frames", type=int, default=0, help="stop after this many frames")
    ap.add_argument(
        "--image-topic",
        default="",
        help="for a bag: the image topic to play (default: the first Image/CompressedImage topic)",
    )
    ap.add_argument(
        "--join-graph",
        action="store_true",
        help="run on the ROS graph of ROS_DOMAIN_ID (default 0) so that other programs "
        "see the topics; default: a private graph no other program can feed",
    )
    ap.add_argument(
        "--discovery-range",
        default="LOCALHOST",
        choices=("LOCALHOST", "SUBNET", "SYSTEM_DEFAULT"),
        help="ROS_AUTOMATIC_DISCOVERY_RANGE for this process (default LOCALHOST: "
        "other machines cannot see the topics)",
    )
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
    total: int | None  # frames, when known
    live: bool  # a camera: real time, frames may be dropped
    frames: Iterator[Frame] = field(repr=False)


def open_source(spec: str, image_topic: str = "") -> Source:
    start_ns = time.time_ns()
    if spec.isdigit():
        cap = cv2.VideoCapture(int(spec))
        if not cap.isOpened():
            raise refuse(f"cannot open camera {spec}")
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
        raise refuse(f"no such file or bag: {path}")
    if path.is_dir() or path.suffix in (".mcap", ".db3"):
        return _bag_source(path, image_topic, start_ns)
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise refuse(f"cannot read video {path}")
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
        raise refuse(str(exc)) from None
    if info.is_pose_bag:
        raise refuse(
            f"{path} holds pose arrays, not images; replay it with `act-ros evaluate {path}` (AcT node only)"
        )
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
    flags = {
        "model_size": args.model_size,
        "model_path": args.model_path,
        "num_threads": args.num_threads,
        "unknown_threshold": args.unknown_threshold,
        "smoothing": args.smoothing,
    }
    act.update(dict(args.act_param))
    act.update({k: v for k, v in flags.items() if v is not None})
    pose_flags = {
        "backend": args.pose_backend,
        "model_variant": args.pose_variant,
        "num_poses": args.num_poses,
        "publish_debug_image": True if args.debug_image else None,
    }
    pose.update(dict(args.pose_param))
    pose.update({k: v for k, v in pose_flags.items() if v is not None})
    pose["no_input_warning"] = 0.0  # the source starts when we say so
    act["no_input_warning"] = 0.0
    return pose, act


def check_parameters(pose: dict, act: dict) -> None:
    """Unknown or out-of-range parameters are refused before anything starts."""
    from act_ros.parameters import check_node_parameters

    try:
        check_node_parameters(pose, act)
    except ValueError as exc:
        raise refuse(str(exc)) from None


def choose_graph(args: argparse.Namespace) -> tuple[int | None, str]:
    """The network rule, and the ROS domain (None: ROS_DOMAIN_ID's) with a line saying which
    graph; before rclpy starts."""
    from act_ros import private_domain

    environment.apply(force_localhost=args.discovery_range == "LOCALHOST")
    if args.discovery_range != "LOCALHOST":
        os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = args.discovery_range
    if args.join_graph:
        return None, (
            f"ROS graph: domain {os.environ.get('ROS_DOMAIN_ID', '0')} (--join-graph: "
            f"shared with other programs)"
        )
    try:
        domain = private_domain.private_domain()
    except private_domain.NoPrivateDomain as exc:
        raise refuse(str(exc)) from None
    return domain, f"ROS graph: private (domain {domain}; --join-graph to share ROS_DOMAIN_ID's)"


@dataclass
class Graph:
    """Both nodes on one host, and this program's end of their topics."""

    host: Any  # act_ros.ros.host.NodeHost, spinning in the background
    pose_node: Any
    act_node: Any
    driver: Any  # this program's node
    images: Any  # publisher on image_raw
    poses: Any  # StampedMessages of human_poses (our stamps only)
    actions: Any  # StampedMessages of human_actions (our stamps only)
    sent: set = field(default_factory=set)  # stamps published and not yet collected
    published: int = 0  # frames published (resends included)
    resent: int = 0  # of which sent again (no result in time)

    def connected(self) -> bool:
        from act_ros.messages import ACTIONS_TOPIC

        return (
            self.images.get_subscription_count() >= 1
            and self.driver.count_publishers("/" + ACTIONS_TOPIC) >= 1
        )

    def publish(self, frame: Frame) -> None:
        from std_msgs.msg import Header

        from act_ros.messages import set_stamp
        from act_ros.ros.conversions import image_msg

        header = Header(frame_id="camera")
        set_stamp(header, frame.stamp_ns)
        self.sent.add(frame.stamp_ns)
        self.images.publish(image_msg(frame.bgr, "bgr8", header))
        self.published += 1

    def collect(self, stamp: int) -> tuple[Any, Any]:
        """(pose message, actions message) of a frame, removed from the buffers."""
        self.sent.discard(stamp)
        return self.poses.pop(stamp), self.actions.pop(stamp)

    def traffic(self) -> Any:
        from act_ros.integrity import TrafficCheck

        return TrafficCheck(
            sent=self.published,
            received=int(self.pose_node.counters["received"]),
            answered=self.published - self.resent - len(self.sent),
            foreign_results=self.actions.foreign + self.poses.foreign,
            repeated_results=self.actions.repeats,
            expected_repeats=self.resent,
        )


def start_graph(pose_params: dict, act_params: dict, live: bool, domain_id: int | None = None) -> Graph:
    """The pose node, the AcT node and this program's node on one host (on ``domain_id``, default
    ROS_DOMAIN_ID's), spinning. Raises what a node raised when it could not start (after tearing
    down what had started)."""
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import Image

    from act_ros.messages import ACTIONS_TOPIC, IMAGE_TOPIC, POSES_TOPIC
    from act_ros.msg import PersonActionArray, PersonPose2DArray
    from act_ros.ros.act_node import ActNode
    from act_ros.ros.host import NodeHost, StampedMessages
    from act_ros.ros.pose_node import PoseNode

    host = NodeHost(domain_id=domain_id)
    try:
        pose_node = host.create(PoseNode, pose_params)
        act_node = host.create(ActNode, act_params)
        driver = host.node("act_ros_run")
    except BaseException:
        host.close()
        raise
    reliable = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
    images = driver.create_publisher(
        Image, IMAGE_TOPIC, QoSProfile(depth=1 if live else 5, reliability=ReliabilityPolicy.RELIABLE)
    )
    sent: set[int] = set()
    # Results for stamps this run did not send are counted, never used (act_ros.integrity).
    poses = StampedMessages(accept=sent.__contains__)
    actions = StampedMessages(accept=sent.__contains__)
    driver.create_subscription(PersonPose2DArray, POSES_TOPIC, poses, reliable)
    driver.create_subscription(PersonActionArray, ACTIONS_TOPIC, actions, reliable)
    host.start()
    return Graph(host, pose_node, act_node, driver, images, poses, actions, sent)


def play(source: Source, graph: Graph, args: argparse.Namespace, stop: GracefulStop) -> Summary:
    """Every frame of ``source`` through the nodes. Files and bags: each frame's result awaited
    before the next, printed and drawn; a camera: real time (the pose node drops while busy),
    results printed and drawn as they come."""
    from tqdm import tqdm

    summary = Summary()
    total = source.total if not args.max_frames else min(source.total or args.max_frames, args.max_frames)
    progress = tqdm(total=total, unit="frame", desc="act-ros run", dynamic_ncols=True, disable=None)
    log = ActionLog(source.fps, None if args.quiet else progress.write)
    video = AnnotatedVideo(args.output, source.fps, args.video_codec) if args.output else None
    live = LiveWriter(graph, log, video) if source.live else None
    start = time.monotonic()
    try:
        with stop.interruptible():
            _wait(graph.connected, 30, "the nodes to connect")
            for frame in source.frames:
                if args.max_frames and frame.index >= args.max_frames:
                    break
                if frame.index == 0:
                    summary.small_warning = graph.pose_node.pipeline.small_image_warning(
                        frame.bgr.shape[1], frame.bgr.shape[0]
                    )
                graph.publish(frame)
                if live is None and not _await_result(graph, frame):
                    summary.unanswered_frame = frame.index
                    print(
                        f"act-ros run: no result for frame {frame.index} within "
                        f"{FRAME_TIMEOUT_S:.0f} s; stopping",
                        file=sys.stderr,
                    )
                    break
                with stop.shielded():  # a frame counted is a frame in the video, and back
                    if live is not None:
                        live.add(frame)
                    else:
                        pose_msg, action_msg = graph.collect(frame.stamp_ns)
                        log.update(frame.index, action_msg)
                        if video is not None:
                            video.write(frame.bgr, pose_msg, action_msg)
                    summary.frames += 1
                    progress.update(1)
            if live is not None:
                live.finish()
    except Interrupted as exc:
        summary.stopped_by = str(exc)
    finally:
        # Not interruptible: a signal now is remembered, the video is finished first.
        progress.close()
        if live is not None:
            live.finish(wait_s=0.0)  # frames captured before a signal still go in
        if video is not None:
            codec = video.close()
            if codec:
                summary.video, summary.video_codec = video.path, codec
        summary.seconds = time.monotonic() - start
    summary.people = len(log.current)
    summary.counters = dict(graph.pose_node.counters)
    summary.traffic = graph.traffic()
    return summary


# A file's frame is sent again when no result came within FRAME_RESEND_S (on a shared graph
# another publisher's image can replace it in the pose node's one-slot mailbox), and given up
# after FRAME_TIMEOUT_S (the first frame waits for the models to load).
FRAME_RESEND_S, FRAME_TIMEOUT_S = 5.0, 60.0


def _await_result(graph: Graph, frame: Frame) -> bool:
    deadline = time.monotonic() + FRAME_TIMEOUT_S
    while (
        graph.actions.wait(frame.stamp_ns, timeout=min(FRAME_RESEND_S, max(0.0, deadline - time.monotonic())))
        is None
    ):
        if time.monotonic() >= deadline:
            return False
        graph.publish(frame)
        graph.resent += 1
    return True


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with GracefulStop("act-ros run") as stop:
        try:
            with stop.interruptible():
                source = open_source(args.source, args.image_topic)
                pose_params, act_params = node_parameters(args)
                check_parameters(pose_params, act_params)
                domain, graph_line = choose_graph(args)
                graph = _start(pose_params, act_params, source.live, domain)
        except Interrupted as exc:
            print(f"act-ros run: stopped by {exc} before the first frame", file=sys.stderr)
            return stop.exit_code
        except SystemExit as exc:
            return int(exc.code or 0)
        classifier = graph.act_node.classifier
        print(
            f"act-ros run: {source.name} at {source.fps:.1f} fps; model '{classifier.spec.name}' "
            f"classes: {', '.join(classifier.class_names)}; {graph_line}",
            file=sys.stderr,
        )
        with graph.host:  # torn down once, however the run ends
            try:
                summary = play(source, graph, args, stop)
            except SystemExit as exc:  # the video could not be opened
                return int(exc.code or 0)
        print_summary(summary)
        return summary.exit_code(stop)


def _start(pose_params: dict, act_params: dict, live: bool, domain_id: int | None) -> Graph:
    from act_ros.model_spec import ModelMismatchError

    try:
        return start_graph(pose_params, act_params, live=live, domain_id=domain_id)
    except KeyboardInterrupt:
        raise
    except (ModelMismatchError, FileNotFoundError, ValueError) as exc:
        print(f"act-ros run: cannot start: {type(exc).__name__}: {exc}", file=sys.stderr)
        raise SystemExit(exit_codes.BAD_INPUT) from None
    except Exception as exc:
        print(f"act-ros run: cannot start: {type(exc).__name__}: {exc}", file=sys.stderr)
        raise SystemExit(exit_codes.ERROR) from None


def _wait(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    from act_ros.ros.host import wait_until

    if not wait_until(predicate, timeout):
        print(f"act-ros run: timed out waiting for {what}", file=sys.stderr)
        raise SystemExit(exit_codes.INCOMPLETE)


if __name__ == "__main__":
    sys.exit(main())
