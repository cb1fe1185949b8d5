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

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from diagnostic_msgs.msg import DiagnosticArray
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy

from act_ros.bag.bag_io import BagError, BagInfo, cdr_stamp_ns, iter_raw, with_cdr_stamp
from act_ros.bag.scoring import FrameOutput, Prediction
from act_ros.bag.types import COMPRESSED_IMAGE_TYPE, IMAGE_TYPE, POSE_ARRAY_TYPE
from act_ros.messages import (
    ACTIONS_TOPIC,
    COMPRESSED_IMAGE_TOPIC,
    DIAGNOSTICS_TOPIC,
    IMAGE_TOPIC,
    POSES_TOPIC,
    box_centers,
    split_ns,
)
from act_ros.ros.host import NodeHost, StampedMessages, wait_until

# The nodes' /diagnostics counters worth a place in the report (frames in, out, and every kind
# of drop or rejection). Matched as substrings of the key names.
DIAGNOSTIC_COUNTER_WORDS = (
    "drop",
    "lost",
    "reject",
    "error",
    "received",
    "processed",
    "frames",
    "inferences",
    "invalid",
    "duplicate",
    "capacity",
    "repeated",
    "untracked",
    "jumps",
)


class ReplayError(RuntimeError):
    """The replay could not run (nodes never connected, no result at all...)."""


@dataclass
class ReplayOptions:
    rate: float | None = None  # None = as fast as possible
    flow_control: bool = True
    max_in_flight: int = 1
    stamps: str = "original"  # "original" | "wall"
    use_sim_time: bool = False  # publish /clock from bag time
    namespace: str = ""
    connect_timeout_s: float = 30.0
    first_result_timeout_s: float = 120.0  # the first frame loads models
    # Until the first result, the first frame is sent again this often: a best-effort sample
    # published right after the writer matched can be lost while the reader side of discovery
    # completes (seen once in ~10 launch-mode runs on a loaded machine).
    first_frame_resend_s: float = 10.0
    frame_timeout_s: float = 10.0  # then: a frame with no result by this time is lost
    drain_timeout_s: float = 5.0  # without flow control: wait this long for stragglers
    observe_poses: bool = True  # also record human_poses (tracks per frame)
    progress: bool = True
    external_player: bool = False  # someone else plays the bag (ros2 bag play): only listen
    idle_timeout_s: float = 15.0  # external player: stop after this long without results


@dataclass
class ReplayResult:
    outputs: dict[int, FrameOutput]  # original stamp -> what came back
    frames_published: int
    frames_timed_out: int
    wall_time_s: float
    first_publish_wall_ns: int | None
    last_result_wall_ns: int | None
    diagnostics: dict[str, Any] = field(default_factory=dict)
    pacing: str = ""
    interrupted: bool = False  # Ctrl-C: the results so far, scored as they are
    first_frame_resends: int = 0  # the first frame sent again before any result came back
    foreign_results: int = 0  # results (actions, poses) for stamps this replay never sent
    repeated_results: int = 0  # further results for a stamp already answered
    inputs_received: int | None = None  # input messages the in-process nodes counted

    @property
    def throughput_fps(self) -> float | None:
        if not self.first_publish_wall_ns or not self.last_result_wall_ns or not self.outputs:
            return None
        span = (self.last_result_wall_ns - self.first_publish_wall_ns) / 1e9
        return len(self.outputs) / span if span > 0 else None


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


def _predictions(msg: Any) -> tuple[list[Prediction], list[str]]:
    """What the report needs of a PersonActionArray (kept instead of the message)."""
    return (
        [
            Prediction(
                int(a.track_id), str(a.label), float(a.confidence), int(a.window_frames), int(a.window_length)
            )
            for a in msg.actions
        ],
        [str(c) for c in msg.class_names],
    )


def _tracks(msg: Any) -> tuple[list[int], list[tuple[float, float]]]:
    """What the report needs of a PersonPose2DArray: track IDs and box centres."""
    return [int(p.track_id) for p in msg.people], box_centers(msg)


class Replayer:
    """Owns the replay node: publishers, result subscriptions and the bookkeeping. Results are
    keyed by the stamp they were published with (``actions``, ``poses``)."""

    def __init__(self, host: NodeHost, info: BagInfo, options: ReplayOptions) -> None:
        self.info = info
        self.options = options
        self.node = host.node("act_ros_bag_replay", options.namespace)
        self._sent_wall: dict[int, int] = {}  # published stamp -> wall ns at publish
        # Results for stamps this replay never sent are counted (act_ros.integrity), not kept.
        self._bag_stamps = frozenset(info.frame_stamps)
        self.actions = StampedMessages(clock=time.time_ns, keep=_predictions, accept=self._ours)
        self.poses = StampedMessages(keep=_tracks, accept=self._ours)
        self._to_original: dict[int, int] = {}  # published stamp -> bag stamp ("wall")
        self._in_flight: list[int] = []  # published stamps awaiting their result
        self._first_raw: bytes | None = None  # the first frame, resent until answered
        self.first_frame_resends = 0
        self.diagnostics: dict[str, Any] = {}
        self._diag_count = 0
        self._diag_cond = threading.Condition()

        self.input_topic, self._msg_class = _input_topic_and_class(info.input_type)
        # Created once the subscriber is known (wait_connected): its QoS decides ours.
        self.publisher = None
        self.clock_publisher = None
        if options.use_sim_time and not options.external_player:
            from rosgraph_msgs.msg import Clock

            self.clock_publisher = self.node.create_publisher(Clock, "/clock", 10)
        self._action_sub = None
        self._pose_sub = None
        self.node.create_subscription(
            DiagnosticArray,
            DIAGNOSTICS_TOPIC,
            self._on_diagnostics,
            QoSProfile(
                depth=50, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.VOLATILE
            ),
        )

    # --- subscriptions (created once the publishers are known: their QoS decides ours) --------
    def _matching_qos(self, topic: str) -> QoSProfile:
        infos = self.node.get_publishers_info_by_topic(self.node.resolve_topic_name(topic))
        reliable = all(i.qos_profile.reliability == ReliabilityPolicy.RELIABLE for i in infos)
        # A reliable subscription would not match a best-effort publisher.
        return QoSProfile(
            depth=1000, reliability=ReliabilityPolicy.RELIABLE if reliable else ReliabilityPolicy.BEST_EFFORT
        )

    def _publisher_qos(self, topic: str) -> QoSProfile:
        """Match the subscribers' reliability. A reliable writer to a best-effort reader is
        legal, but large images sent that way between processes never arrived in tests here
        (the pose node subscribes best effort, depth 1); a best-effort writer delivers them."""
        infos = self.node.get_subscriptions_info_by_topic(topic)
        reliable = all(i.qos_profile.reliability == ReliabilityPolicy.RELIABLE for i in infos)
        return QoSProfile(
            depth=10, reliability=ReliabilityPolicy.RELIABLE if reliable else ReliabilityPolicy.BEST_EFFORT
        )

    def _subscribe_results(self) -> None:
        from act_ros.msg import PersonActionArray, PersonPose2DArray

        if self._action_sub is None:
            self._action_sub = self.node.create_subscription(
                PersonActionArray, ACTIONS_TOPIC, self.actions, self._matching_qos(ACTIONS_TOPIC)
            )
        if (
            self.options.observe_poses
            and self._pose_sub is None
            and self.info.input_type != POSE_ARRAY_TYPE
            and self.node.count_publishers(POSES_TOPIC) > 0
        ):
            self._pose_sub = self.node.create_subscription(
                PersonPose2DArray, POSES_TOPIC, self.poses, self._matching_qos(POSES_TOPIC)
            )

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
        with self._diag_cond:
            self.diagnostics.update(values)
            self._diag_count += 1
            self._diag_cond.notify_all()

    # --- results ------------------------------------------------------------------------------
    def _ours(self, stamp: int) -> bool:
        """A stamp this replay sent (an external player: a stamp of the bag)."""
        if self.options.external_player:
            return stamp in self._bag_stamps
        return stamp in self._sent_wall

    def _original(self, stamp: int) -> int | None:
        """The bag stamp of a result's stamp (None: not one of ours)."""
        if self.options.stamps == "wall" and not self.options.external_player:
            return self._to_original.get(stamp)
        return stamp

    def outputs(self) -> tuple[dict[int, FrameOutput], int | None]:
        """What came back per original stamp, and when the last of it arrived (wall ns)."""
        outputs: dict[int, FrameOutput] = {}
        last: int | None = None
        for stamp in self.actions.stamps():
            original = self._original(stamp)
            if original is None:
                continue  # another publisher on the topic
            predictions, class_names = self.actions.get(stamp)
            arrival = self.actions.arrival(stamp)
            sent = None if self.options.external_player else self._sent_wall.get(stamp)
            out = FrameOutput(
                predictions=predictions,
                class_names=class_names,
                latency_s=(arrival - sent) / 1e9 if sent is not None else None,
            )
            tracks = self.poses.get(stamp)
            if tracks is not None:
                out.pose_track_ids, out.pose_centers = tracks
            outputs[original] = out
            last = arrival if last is None else max(last, arrival)
        return outputs, last

    def _result(
        self,
        published: int,
        timed_out: int,
        wall_time_s: float,
        first_wall: int | None,
        interrupted: bool = False,
    ) -> ReplayResult:
        outputs, last = self.outputs()
        with self._diag_cond:
            diagnostics = dict(self.diagnostics)
        return ReplayResult(
            outputs,
            published,
            timed_out,
            wall_time_s,
            first_wall,
            last,
            diagnostics,
            self.pacing(),
            interrupted,
            self.first_frame_resends,
            foreign_results=self.actions.foreign + self.poses.foreign,
            repeated_results=self.actions.repeats,
        )

    # --- graph waits ----------------------------------------------------------------------------
    def wait_connected(self) -> None:
        """Until the nodes subscribe to our input and publish human_actions (matched to us)."""
        deadline = time.monotonic() + self.options.connect_timeout_s

        def wait(predicate: Callable[[], bool], what: str) -> None:
            if not wait_until(predicate, max(0.0, deadline - time.monotonic())):
                raise ReplayError(
                    f"timed out after {self.options.connect_timeout_s:.0f} s waiting for {what} "
                    f"(namespace '{self.options.namespace or '/'}'). Are the nodes running "
                    f"(--in-process, or `ros2 launch act_ros replay.launch.py`), on the same "
                    f"ROS_DOMAIN_ID, with ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST?"
                )

        if not self.options.external_player:
            name = self.node.resolve_topic_name(self.input_topic)
            wait(lambda: self.node.count_subscribers(name) > 0, f"a subscriber on {name}")
            self.publisher = self.node.create_publisher(
                self._msg_class, self.input_topic, self._publisher_qos(name)
            )
            wait(
                lambda: self.publisher.get_subscription_count() > 0,
                f"our publisher on {name} to match its subscriber",
            )
        wait(lambda: self.node.count_publishers(ACTIONS_TOPIC) > 0, f"a publisher of {ACTIONS_TOPIC}")
        if self.info.input_type != POSE_ARRAY_TYPE and not self.options.external_player:
            # The chain image -> pose node -> AcT node must be complete before frame 1.
            wait(
                lambda: (
                    self.node.count_publishers(POSES_TOPIC) > 0
                    and self.node.count_subscribers(POSES_TOPIC) > 0
                ),
                f"the {POSES_TOPIC} link",
            )
        self._subscribe_results()
        wait(
            lambda: self._action_sub.get_publisher_count() > 0,
            f"our subscription to {ACTIONS_TOPIC} to match",
        )
        if self._pose_sub is not None:
            wait(
                lambda: self._pose_sub.get_publisher_count() > 0,
                f"our subscription to {POSES_TOPIC} to match",
            )

    # --- the replay loop ------------------------------------------------------------------------
    def run(self) -> ReplayResult:
        if self.options.external_player:
            return self._listen()
        from tqdm import tqdm

        opts = self.options
        self.wait_connected()
        published = timed_out = 0
        first_wall: int | None = None
        start_mono = time.monotonic()
        bag_t0: int | None = None
        bar = tqdm(total=self.info.n_frames, desc="replay", unit="frame", disable=not opts.progress)
        interrupted = False
        try:
            for bag_time, raw in iter_raw(self.info.path, self.info.input_topic):
                original = cdr_stamp_ns(raw)
                if bag_t0 is None:
                    bag_t0 = bag_time
                if opts.rate:
                    delay = start_mono + (bag_time - bag_t0) / 1e9 / opts.rate - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                if opts.flow_control:
                    timed_out += self._wait_in_flight(opts.max_in_flight - 1)
                if self.clock_publisher is not None:
                    self._publish_clock(bag_time)
                now = time.time_ns()
                sent_stamp = original
                if opts.stamps == "wall":
                    sent_stamp = now
                    raw = with_cdr_stamp(raw, sent_stamp)
                    self._to_original[sent_stamp] = original
                self._sent_wall[sent_stamp] = now
                self._in_flight.append(sent_stamp)
                self.publisher.publish(raw)
                if self._first_raw is None:
                    self._first_raw = raw
                first_wall = first_wall or now
                published += 1
                bar.update()
            if opts.flow_control:
                timed_out += self._wait_in_flight(0)
            else:
                self._drain(opts.drain_timeout_s)
            self._final_diagnostics()
        except KeyboardInterrupt:
            # Ctrl-C (rclpy has shut the context down by now): score what arrived so far.
            interrupted = True
        finally:
            bar.close()
        return self._result(published, timed_out, time.monotonic() - start_mono, first_wall, interrupted)

    def _publish_clock(self, bag_time_ns: int) -> None:
        from builtin_interfaces.msg import Time
        from rosgraph_msgs.msg import Clock

        sec, nanosec = split_ns(bag_time_ns)
        self.clock_publisher.publish(Clock(clock=Time(sec=sec, nanosec=nanosec)))

    def pacing(self) -> str:
        o = self.options
        if o.external_player:
            return "external player"
        speed = "as fast as possible" if not o.rate else f"{o.rate:g}x recorded rate"
        flow = f"flow control ({o.max_in_flight} in flight)" if o.flow_control else "no flow control"
        return f"{speed}, {flow}"

    def _waiting(self) -> list[int]:
        return [s for s in self._in_flight if s not in self.actions]

    def _wait_in_flight(self, limit: int) -> int:
        """Block until at most ``limit`` frames await results; returns frames given up on."""
        lost = 0
        first = len(self.actions) == 0  # the first result may take long: models load
        while len(self._waiting()) > limit:
            timeout = self.options.first_result_timeout_s if first else self.options.frame_timeout_s
            if first and self._await_first_result(timeout):
                continue
            if not self.actions.wait_for(lambda: len(self._waiting()) <= limit, timeout):
                self._in_flight.remove(min(self._waiting()))
                lost += 1
                if first and len(self.actions) == 0:
                    raise ReplayError(
                        f"no {ACTIONS_TOPIC} message within {timeout:.0f} s of the first frame: "
                        f"the nodes are connected but produce nothing (check their logs)"
                    )
        self._in_flight = self._waiting()
        return lost

    def _await_first_result(self, timeout: float) -> bool:
        """Wait up to ``timeout`` for the first result, resending the first frame (same bytes,
        same stamp) every ``first_frame_resend_s``; True once a result has arrived."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            step = min(self.options.first_frame_resend_s, deadline - time.monotonic())
            if self.actions.wait_for(lambda: len(self.actions) > 0, step):
                return True
            if self._first_raw is not None and time.monotonic() < deadline:
                self.publisher.publish(self._first_raw)
                self.first_frame_resends += 1
        return False

    def _drain(self, timeout: float) -> None:
        """Without flow control: wait for the last frame's result. The nodes keep the newest
        frame and process in order, so once it is back no older result can still come; frames
        without a result by then were dropped. ``timeout`` bounds the wait after each result."""
        last = max(self._sent_wall) if self._sent_wall else None  # the newest frame
        while last is not None and last not in self.actions:
            before = len(self.actions)
            if not self.actions.wait_for(
                lambda before=before: last in self.actions or len(self.actions) > before, timeout
            ):
                break

    def _final_diagnostics(self) -> None:
        """Diagnostics are periodic: wait (bounded) for one more report after the last frame."""
        with self._diag_cond:
            if self._diag_count:
                count = self._diag_count
                self._diag_cond.wait_for(lambda: self._diag_count > count, 3.0)

    def _listen(self) -> ReplayResult:
        """External player: collect until every frame answered or results stop coming."""
        from tqdm import tqdm

        deadline = time.monotonic() + self.options.connect_timeout_s
        if not wait_until(
            lambda: self.node.count_publishers(ACTIONS_TOPIC) > 0, self.options.connect_timeout_s
        ):
            raise ReplayError(f"no publisher of {ACTIONS_TOPIC} appeared: start the nodes")
        self._subscribe_results()
        if not wait_until(
            lambda: self._action_sub.get_publisher_count() > 0, max(0.0, deadline - time.monotonic())
        ):
            raise ReplayError(f"our subscription to {ACTIONS_TOPIC} never matched its publisher")
        start = time.monotonic()
        print(
            f"listening on {self.node.resolve_topic_name(ACTIONS_TOPIC)}: play the bag now "
            f"(ros2 bag play {self.info.path})",
            flush=True,
        )
        bar = tqdm(total=self.info.n_frames, desc="results", unit="frame", disable=not self.options.progress)
        expected = set(self.info.frame_stamps)
        # Until the results stop coming: the first may take long (models load), then a pause
        # longer than idle_timeout_s means the player has finished.
        limit = self.options.first_result_timeout_s
        seen, last_change = 0, time.monotonic()
        while len(expected.intersection(self.actions.stamps())) < len(expected):
            self.actions.wait_for(lambda seen=seen: len(self.actions) != seen, 0.5)
            bar.update(len(self.actions) - bar.n)
            if len(self.actions) != seen:
                seen, last_change = len(self.actions), time.monotonic()
                limit = self.options.idle_timeout_s
            elif time.monotonic() - last_change > limit:
                break
        bar.close()
        return self._result(0, 0, time.monotonic() - start, None)


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


def run_replay(
    info: BagInfo,
    options: ReplayOptions,
    *,
    in_process: bool,
    node_params: dict[str, dict[str, Any]] | None = None,
    node_factories: Sequence[tuple[str, NodeFactory]] | None = None,
    context: Any = None,
    domain_id: int | None = None,
) -> ReplayResult:
    """Replay ``info``'s bag and collect the results.

    in_process: start the nodes here (``node_factories``, default the real PoseNode/ActNode,
    each with ``node_params[name]`` as parameter overrides plus ``use_sim_time``) on one
    NodeHost. Otherwise connect to nodes someone else started. ``domain_id``: the ROS domain of
    a new context (a private one, act_ros.private_domain; default ROS_DOMAIN_ID's).
    """
    with NodeHost(context=context, domain_id=domain_id) as host:
        nodes = []
        if in_process:
            params = node_params or {}
            for name, factory in node_factories or default_node_factories(info):
                kwargs = {"namespace": options.namespace} if options.namespace else {}
                nodes.append(
                    host.create(
                        factory, {**params.get(name, {}), "use_sim_time": options.use_sim_time}, **kwargs
                    )
                )
        replayer = Replayer(host, info, options)
        host.start()
        result = replayer.run()
        if nodes:
            result.inputs_received = inputs_received(nodes[0])
        return result


def inputs_received(node: Any) -> int | None:
    """Input messages the first node of the chain took in: the pose node's images, or the AcT
    node's pose messages (None for a node that does not count them)."""
    counters = getattr(node, "counters", None)
    if isinstance(counters, dict) and "received" in counters:
        return int(counters["received"])
    received = getattr(node, "received", None)
    return int(received) if isinstance(received, int) else None
