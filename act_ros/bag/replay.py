"""Replay a bag's input topic into the running nodes over DDS and collect what they publish.

The serialized bytes from the bag are published as they are (rclpy accepts serialized
messages), after waiting on the ROS graph until the nodes are connected (no fixed sleeps).

Pacing: as fast as possible, or at ``rate`` x the recorded speed. Flow control (default on):
frame k+1 is published only when fewer than ``max_in_flight`` frames await their
/human_actions message (matched by header stamp), so the nodes never have to drop a frame.
Without flow control the nodes drop frames as they would live; those frames show up as
missing results.

Stamps: ``original`` keeps the recorded header stamps (the pose estimator sees the real frame
timing) and latency is measured from the moment the frame was published to the moment its
result was received. ``wall`` rewrites each header stamp to the wall clock at publish time, so
latency is literally "receive time - image stamp". Both measure the same interval.
"""
from __future__ import annotations

import struct
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from act_ros.bag.bag_io import BagError, BagInfo, iter_raw
from act_ros.bag.images import stamp_to_ns
from act_ros.bag.scoring import FrameOutput, Prediction
from act_ros.bag.types import (
    ACTIONS_TOPIC,
    COMPRESSED_IMAGE_TOPIC,
    COMPRESSED_IMAGE_TYPE,
    IMAGE_TOPIC,
    IMAGE_TYPE,
    POSE_ARRAY_TYPE,
    POSES_TOPIC,
)


# The nodes' /diagnostics counters worth a place in the report (frames in, out, and every kind
# of drop or rejection). Matched as substrings of the key names.
DIAGNOSTIC_COUNTER_WORDS = ("drop", "lost", "reject", "error", "received", "processed", "frames",
                            "inferences", "invalid", "duplicate", "capacity", "repeated",
                            "untracked", "jumps")


class ReplayError(RuntimeError):
    """The replay could not run (nodes never connected, no result at all...)."""


@dataclass
class ReplayOptions:
    rate: float | None = None          # None = as fast as possible
    flow_control: bool = True
    max_in_flight: int = 1
    stamps: str = "original"           # "original" | "wall"
    use_sim_time: bool = False         # publish /clock from bag time
    namespace: str = ""
    connect_timeout_s: float = 30.0
    first_result_timeout_s: float = 120.0  # the first frame loads models
    frame_timeout_s: float = 10.0      # then: a frame with no result by this time is lost
    drain_timeout_s: float = 5.0       # without flow control: wait this long for stragglers
    observe_poses: bool = True         # also record human_poses (tracks per frame)
    progress: bool = True
    external_player: bool = False      # someone else plays the bag (ros2 bag play): only listen
    idle_timeout_s: float = 15.0       # external player: stop after this long without results


@dataclass
class ReplayResult:
    outputs: dict[int, FrameOutput]            # original stamp -> what came back
    frames_published: int
    frames_timed_out: int
    wall_time_s: float
    first_publish_wall_ns: int | None
    last_result_wall_ns: int | None
    diagnostics: dict[str, Any] = field(default_factory=dict)
    pacing: str = ""
    interrupted: bool = False  # Ctrl-C: the results so far, scored as they are

    @property
    def throughput_fps(self) -> float | None:
        if not self.first_publish_wall_ns or not self.last_result_wall_ns or not self.outputs:
            return None
        span = (self.last_result_wall_ns - self.first_publish_wall_ns) / 1e9
        return len(self.outputs) / span if span > 0 else None


def _rewrite_stamp(raw: bytes, stamp_ns: int) -> bytes:
    """Replace the header stamp (first field) in CDR bytes; see bag_io.header_stamp_ns."""
    endian = "<" if raw[1] & 1 else ">"
    sec, nanosec = divmod(stamp_ns, 1_000_000_000)
    buf = bytearray(raw)
    struct.pack_into(endian + "iI", buf, 4, sec, nanosec)
    return bytes(buf)


def _input_topic_and_class(input_type: str) -> tuple[str, type]:
    if input_type == IMAGE_TYPE:
        from sensor_msgs.msg import Image

        return IMAGE_TOPIC, Image
    if input_type == COMPRESSED_IMAGE_TYPE:
        from sensor_msgs.msg import CompressedImage

        return COMPRESSED_IMAGE_TOPIC, CompressedImage
    if input_type == POSE_ARRAY_TYPE:
        from act_ros.msg import PersonPose2DArray

        return POSES_TOPIC, PersonPose2DArray
    raise BagError(f"cannot replay messages of type {input_type}")


class Replayer:
    """Owns the replay node: publishers, result subscriptions and the bookkeeping."""

    def __init__(self, context: Any, info: BagInfo, options: ReplayOptions) -> None:
        import rclpy.node
        from diagnostic_msgs.msg import DiagnosticArray
        from rclpy.qos import QoSProfile, ReliabilityPolicy, HistoryPolicy, DurabilityPolicy

        self.info = info
        self.options = options
        self.node = rclpy.node.Node("act_ros_bag_replay", context=context,
                                    namespace=options.namespace or None)
        self._qos = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE,
                               history=HistoryPolicy.KEEP_LAST)
        self._cond = threading.Condition()
        self.outputs: dict[int, FrameOutput] = {}
        self._pose_tracks: dict[int, tuple[list[int], list[tuple[float, float]]]] = {}
        self._sent_wall: dict[int, int] = {}     # published stamp -> wall ns at publish
        self._to_original: dict[int, int] = {}   # published stamp -> bag stamp
        self._in_flight: set[int] = set()
        self.last_result_wall_ns: int | None = None
        self.diagnostics: dict[str, Any] = {}
        self._diag_count = 0

        topic, msg_class = _input_topic_and_class(info.input_type)
        self.input_topic = topic
        self._msg_class = msg_class
        # Created once the subscriber is known (wait_connected): its QoS decides ours.
        self.publisher = None
        self.clock_publisher = None
        if options.use_sim_time and not options.external_player:
            from rosgraph_msgs.msg import Clock

            self.clock_publisher = self.node.create_publisher(Clock, "/clock", 10)
        self._action_sub = None
        self._pose_sub = None
        self.node.create_subscription(
            DiagnosticArray, "/diagnostics", self._on_diagnostics,
            QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE,
                       durability=DurabilityPolicy.VOLATILE))

    # --- subscriptions (created once the publishers are known: their QoS decides ours) --------
    def _matching_qos(self, topic: str) -> Any:
        from rclpy.qos import QoSProfile, ReliabilityPolicy

        infos = self.node.get_publishers_info_by_topic(self.node.resolve_topic_name(topic))
        reliable = all(i.qos_profile.reliability == ReliabilityPolicy.RELIABLE for i in infos)
        # A reliable subscription would not match a best-effort publisher.
        return QoSProfile(depth=1000, reliability=ReliabilityPolicy.RELIABLE if reliable
                          else ReliabilityPolicy.BEST_EFFORT)

    def _publisher_qos(self, topic: str) -> Any:
        """Match the subscribers' reliability. A reliable writer to a best-effort reader is
        legal, but large images sent that way between processes never arrived in tests here
        (the pose node subscribes best effort, depth 1); a best-effort writer delivers them."""
        from rclpy.qos import QoSProfile, ReliabilityPolicy

        infos = self.node.get_subscriptions_info_by_topic(topic)
        reliable = all(i.qos_profile.reliability == ReliabilityPolicy.RELIABLE for i in infos)
        return QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE if reliable
                          else ReliabilityPolicy.BEST_EFFORT)

    def _subscribe_results(self) -> None:
        from act_ros.msg import PersonActionArray, PersonPose2DArray

        if self._action_sub is None:
            self._action_sub = self.node.create_subscription(
                PersonActionArray, ACTIONS_TOPIC, self._on_actions, self._matching_qos(ACTIONS_TOPIC))
        if (self.options.observe_poses and self._pose_sub is None
                and self.info.input_type != POSE_ARRAY_TYPE
                and self.node.count_publishers(POSES_TOPIC) > 0):
            self._pose_sub = self.node.create_subscription(
                PersonPose2DArray, POSES_TOPIC, self._on_poses, self._matching_qos(POSES_TOPIC))

    def _original(self, stamp: int) -> int | None:
        if self.options.stamps == "wall":
            return self._to_original.get(stamp)
        return stamp

    def _on_actions(self, msg: Any) -> None:
        now = time.time_ns()
        sent_stamp = stamp_to_ns(msg.header.stamp)
        with self._cond:
            original = self._original(sent_stamp)
            if self.options.external_player:
                original = sent_stamp
                sent = None
            else:
                sent = self._sent_wall.get(sent_stamp)
            if original is None:
                return  # not one of ours (another publisher on the topic)
            out = FrameOutput(
                predictions=[Prediction(int(a.track_id), str(a.label), float(a.confidence),
                                        int(a.window_frames), int(a.window_length))
                             for a in msg.actions],
                class_names=[str(c) for c in msg.class_names],
                latency_s=(now - sent) / 1e9 if sent is not None else None,
            )
            if original in self._pose_tracks:
                out.pose_track_ids, out.pose_centers = self._pose_tracks[original]
            self.outputs[original] = out
            self._in_flight.discard(sent_stamp)
            self.last_result_wall_ns = now
            self._cond.notify_all()

    def _on_poses(self, msg: Any) -> None:
        stamp = stamp_to_ns(msg.header.stamp)
        with self._cond:
            original = stamp if self.options.external_player else self._original(stamp)
            if original is None:
                return
            ids = [int(p.track_id) for p in msg.people]
            w, h = max(int(msg.image_width), 1), max(int(msg.image_height), 1)
            centers = [((p.box_x_min + p.box_x_max) / 2 / w, (p.box_y_min + p.box_y_max) / 2 / h)
                       for p in msg.people]
            self._pose_tracks[original] = (ids, centers)
            if original in self.outputs:  # actions came first: attach late
                self.outputs[original].pose_track_ids = ids
                self.outputs[original].pose_centers = centers

    def _on_diagnostics(self, msg: Any) -> None:
        values: dict[str, Any] = {}
        for status in msg.status:
            for kv in status.values:
                key = str(kv.key)
                if not any(word in key.lower() for word in DIAGNOSTIC_COUNTER_WORDS):
                    continue
                try:
                    values[f"{status.name}: {key}"] = int(kv.value)
                except ValueError:
                    continue  # counters are integers; rates and texts are not reported
        with self._cond:
            self.diagnostics.update(values)
            self._diag_count += 1
            self._cond.notify_all()

    # --- graph waits ----------------------------------------------------------------------------
    def wait_connected(self) -> None:
        """Until the nodes subscribe to our input and publish human_actions (matched to us)."""
        deadline = time.monotonic() + self.options.connect_timeout_s

        def wait(predicate: Callable[[], bool], what: str) -> None:
            while not predicate():
                if time.monotonic() > deadline:
                    raise ReplayError(
                        f"timed out after {self.options.connect_timeout_s:.0f} s waiting for {what} "
                        f"(namespace '{self.options.namespace or '/'}'). Are the nodes running "
                        f"(--in-process, or `ros2 launch act_ros replay.launch.py`), on the same "
                        f"ROS_DOMAIN_ID, with ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST?")
                time.sleep(0.01)

        if not self.options.external_player:
            name = self.node.resolve_topic_name(self.input_topic)
            wait(lambda: self.node.count_subscribers(name) > 0, f"a subscriber on {name}")
            self.publisher = self.node.create_publisher(self._msg_class, self.input_topic,
                                                        self._publisher_qos(name))
            wait(lambda: self.publisher.get_subscription_count() > 0,
                 f"our publisher on {name} to match its subscriber")
        wait(lambda: self.node.count_publishers(ACTIONS_TOPIC) > 0, f"a publisher of {ACTIONS_TOPIC}")
        if self.info.input_type != POSE_ARRAY_TYPE and not self.options.external_player:
            # The chain image -> pose node -> AcT node must be complete before frame 1.
            wait(lambda: self.node.count_publishers(POSES_TOPIC) > 0
                 and self.node.count_subscribers(POSES_TOPIC) > 0, f"the {POSES_TOPIC} link")
        self._subscribe_results()
        wait(lambda: self._action_sub.get_publisher_count() > 0,
             f"our subscription to {ACTIONS_TOPIC} to match")
        if self._pose_sub is not None:
            wait(lambda: self._pose_sub.get_publisher_count() > 0,
                 f"our subscription to {POSES_TOPIC} to match")

    # --- the replay loop ------------------------------------------------------------------------
    def run(self) -> ReplayResult:
        if self.options.external_player:
            return self._listen()
        from tqdm import tqdm

        opts = self.options
        self.wait_connected()
        clock_cls = None
        if self.clock_publisher is not None:
            from builtin_interfaces.msg import Time
            from rosgraph_msgs.msg import Clock

            clock_cls = (Clock, Time)
        published = timed_out = 0
        first_wall: int | None = None
        start_mono = time.monotonic()
        bag_t0: int | None = None
        bar = tqdm(total=self.info.n_frames, desc="replay", unit="frame", disable=not opts.progress)
        interrupted = False
        try:
            for bag_time, raw in iter_raw(self.info.path, self.info.input_topic):
                original = _bag_stamp(raw)
                if bag_t0 is None:
                    bag_t0 = bag_time
                if opts.rate:
                    due = start_mono + (bag_time - bag_t0) / 1e9 / opts.rate
                    delay = due - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                if opts.flow_control:
                    timed_out += self._wait_in_flight(opts.max_in_flight - 1,
                                                      first=not self.outputs)
                if clock_cls is not None:
                    Clock, Time = clock_cls
                    sec, nanosec = divmod(bag_time, 1_000_000_000)
                    self.clock_publisher.publish(Clock(clock=Time(sec=sec, nanosec=nanosec)))
                now = time.time_ns()
                with self._cond:
                    if opts.stamps == "wall":
                        sent_stamp = now
                        raw = _rewrite_stamp(raw, sent_stamp)
                        self._to_original[sent_stamp] = original
                    else:
                        sent_stamp = original
                    self._sent_wall[sent_stamp] = now
                    self._in_flight.add(sent_stamp)
                self.publisher.publish(raw)
                first_wall = first_wall or now
                published += 1
                bar.update()
            if opts.flow_control:
                timed_out += self._wait_in_flight(0, first=not self.outputs)
            else:
                self._drain(opts.drain_timeout_s)
            self._final_diagnostics()
        except KeyboardInterrupt:
            # Ctrl-C (rclpy has shut the context down by now): score what arrived so far.
            interrupted = True
        finally:
            bar.close()
        return ReplayResult(dict(self.outputs), published, timed_out,
                            time.monotonic() - start_mono, first_wall, self.last_result_wall_ns,
                            dict(self.diagnostics), self.pacing(), interrupted)

    def pacing(self) -> str:
        o = self.options
        if o.external_player:
            return "external player"
        speed = "as fast as possible" if not o.rate else f"{o.rate:g}x recorded rate"
        flow = f"flow control ({o.max_in_flight} in flight)" if o.flow_control else "no flow control"
        return f"{speed}, {flow}"

    def _wait_in_flight(self, limit: int, first: bool) -> int:
        """Block until at most ``limit`` frames await results; returns frames given up on."""
        lost = 0
        with self._cond:
            while len(self._in_flight) > limit:
                timeout = self.options.first_result_timeout_s if first else self.options.frame_timeout_s
                if not self._cond.wait_for(lambda: len(self._in_flight) <= limit, timeout):
                    oldest = min(self._in_flight)
                    self._in_flight.discard(oldest)
                    lost += 1
                    if not self.outputs and first:
                        raise ReplayError(
                            f"no {ACTIONS_TOPIC} message within {timeout:.0f} s of the first frame: "
                            f"the nodes are connected but produce nothing (check their logs)")
        return lost

    def _drain(self, timeout: float) -> None:
        """Without flow control: wait for the last frame's result. The nodes keep the newest
        frame and process in order, so once it is back no older result can still come; frames
        without a result by then were dropped. ``timeout`` bounds the wait after each result."""
        with self._cond:
            if not self._sent_wall:
                return
            last = max(self._sent_wall)
            while last in self._in_flight:
                before = len(self.outputs)
                # Diagnostics wake this too: only a new result restarts the wait.
                if not self._cond.wait_for(  # the predicate runs inside this call: B023 cannot bite
                        lambda: last not in self._in_flight or len(self.outputs) > before,  # noqa: B023
                        timeout):
                    break

    def _final_diagnostics(self) -> None:
        """Diagnostics are periodic: wait (bounded) for one more report after the last frame."""
        with self._cond:
            if self._diag_count:
                count = self._diag_count
                self._cond.wait_for(lambda: self._diag_count > count, 3.0)

    def _listen(self) -> ReplayResult:
        """External player: collect until every frame answered or results stop coming."""
        from tqdm import tqdm

        deadline = time.monotonic() + self.options.connect_timeout_s
        while self.node.count_publishers(ACTIONS_TOPIC) == 0:
            if time.monotonic() > deadline:
                raise ReplayError(f"no publisher of {ACTIONS_TOPIC} appeared: start the nodes")
            time.sleep(0.01)
        self._subscribe_results()
        while self._action_sub.get_publisher_count() == 0:
            if time.monotonic() > deadline:
                raise ReplayError(f"our subscription to {ACTIONS_TOPIC} never matched its publisher")
            time.sleep(0.01)
        start = time.monotonic()
        print(f"listening on {self.node.resolve_topic_name(ACTIONS_TOPIC)}: play the bag now "
              f"(ros2 bag play {self.info.path})", flush=True)
        bar = tqdm(total=self.info.n_frames, desc="results", unit="frame", disable=not self.options.progress)
        expected = set(self.info.frame_stamps)
        with self._cond:
            # Until the results stop coming: the first may take long (models load), then a
            # pause longer than idle_timeout_s means the player has finished.
            limit = self.options.first_result_timeout_s
            seen, last_change = 0, time.monotonic()
            while len(expected & set(self.outputs)) < len(expected):
                self._cond.wait(0.5)
                bar.update(len(self.outputs) - bar.n)
                if len(self.outputs) != seen:
                    seen, last_change = len(self.outputs), time.monotonic()
                    limit = self.options.idle_timeout_s
                elif time.monotonic() - last_change > limit:
                    break
        bar.close()
        return ReplayResult(dict(self.outputs), 0, 0, time.monotonic() - start, None,
                            self.last_result_wall_ns, dict(self.diagnostics), self.pacing())

    def destroy(self) -> None:
        self.node.destroy_node()


def _bag_stamp(raw: bytes) -> int:
    from act_ros.bag.bag_io import header_stamp_ns

    return header_stamp_ns(raw)


# --- in-process nodes --------------------------------------------------------------------------
NodeFactory = Callable[..., Any]


def default_node_factories(info: BagInfo) -> list[tuple[str, NodeFactory]]:
    """The real nodes: PoseNode (for image bags) and ActNode."""
    from act_ros.ros.act_node import ActNode

    factories: list[tuple[str, NodeFactory]] = []
    if info.input_type != POSE_ARRAY_TYPE:
        from act_ros.ros.pose_node import PoseNode

        factories.append(("pose", PoseNode))
    factories.append(("act", ActNode))
    return factories


def run_replay(info: BagInfo, options: ReplayOptions, *, in_process: bool,
               node_params: dict[str, dict[str, Any]] | None = None,
               node_factories: Sequence[tuple[str, NodeFactory]] | None = None,
               context: Any = None) -> ReplayResult:
    """Replay ``info``'s bag and collect the results.

    in_process: start the nodes here (``node_factories``, default the real PoseNode/ActNode,
    each with ``node_params[name]`` as parameter overrides plus ``use_sim_time``) in a
    SingleThreadedExecutor thread. Otherwise connect to nodes someone else started.
    """
    import rclpy
    from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
    from rclpy.parameter import Parameter

    own_context = context is None
    if own_context:
        context = rclpy.Context()
        rclpy.init(context=context)
    executor = SingleThreadedExecutor(context=context)  # see act_ros/ros/spin.py
    nodes: list[Any] = []
    replayer: Replayer | None = None
    thread: threading.Thread | None = None
    try:
        if in_process:
            params = node_params or {}
            for name, factory in (node_factories or default_node_factories(info)):
                overrides = [Parameter(k, value=v) for k, v in params.get(name, {}).items()]
                overrides.append(Parameter("use_sim_time", value=options.use_sim_time))
                kwargs: dict[str, Any] = {"context": context, "parameter_overrides": overrides}
                if options.namespace:
                    kwargs["namespace"] = options.namespace
                node = factory(**kwargs)
                nodes.append(node)
                executor.add_node(node)
        replayer = Replayer(context, info, options)
        executor.add_node(replayer.node)

        def spin() -> None:
            try:
                executor.spin()
            except (ExternalShutdownException, KeyboardInterrupt):
                pass

        thread = threading.Thread(target=spin, name="act_ros_replay_executor", daemon=True)
        thread.start()
        return replayer.run()
    finally:
        executor.shutdown(timeout_sec=5.0)
        if thread is not None:
            thread.join(timeout=10.0)
        if replayer is not None:
            replayer.destroy()
        for node in reversed(nodes):
            close = getattr(node, "close", None)
            if callable(close):
                close()
            node.destroy_node()
        if own_context:
            context.try_shutdown()
