"""AcT node: tracked 2D poses in, per-person actions out on /human_actions.

Subscribes ``human_poses`` (act_ros/PersonPose2DArray) and publishes ``human_actions``
(act_ros/PersonActionArray, header = the pose message's) once per pose message. The work is done
by the ROS-free `ActionRecognizer`; this node converts messages, owns the parameters and reports
on /diagnostics.

The pose messages are read from their serialized bytes (`messages.read_pose_array_cdr`): rclpy
would first build Python objects for every person, and a message of 50,000 people took 7 s and
230 MB that way. Only the first ``MESSAGE_PEOPLE_FACTOR * max_people`` people of a message are
read; the others are dropped unread and counted (``over_capacity_people``).
"""

from __future__ import annotations

import dataclasses
import sys
import time
from typing import Any

from rclpy.qos import QoSProfile, ReliabilityPolicy
from rclpy.serialization import deserialize_message
from std_msgs.msg import Header

from act_ros.assembly import recognizer_from_parameters, reject_setting
from act_ros.messages import (
    ACTIONS_TOPIC,
    KEYPOINT_LAYOUT,
    POSES_TOPIC,
    PoseArray,
    PoseMessageError,
    read_pose_array,
    read_pose_array_cdr,
    set_stamp,
)
from act_ros.msg import PersonActionArray, PersonPose2DArray
from act_ros.parameters import ACT_NODE_PARAMETERS
from act_ros.ros import diagnostics as diag
from act_ros.ros.conversions import actions_to_msg
from act_ros.ros.input_watch import InputWatch
from act_ros.ros.managed import ManagedNode
from act_ros.ros.params import declare

PARAMETERS = ACT_NODE_PARAMETERS
# People of one message read at most, as a multiple of max_people: room for the tracks already
# followed to come later in a crowded message; the rest is dropped before any work.
MESSAGE_PEOPLE_FACTOR = 4


class ActNode(ManagedNode):
    """The AcT node as a managed node: configure loads and checks the model, activate starts
    from empty windows and subscribes, deactivate stops all inference (see ros.managed)."""

    def __init__(self, *, autostart: bool = True, **node_kwargs) -> None:
        super().__init__("act_node", **node_kwargs)
        self._params = declare(self, PARAMETERS, on_change=self._apply_parameters)
        self.recognizer = self.classifier = self.config = None
        self._sub = self._pub = self._watchdog = None
        # perf_counter marks of the last processed message (see process): what a benchmark times.
        self.last_timing: dict[str, float] = {}
        self._no_input_warning = self._params["no_input_warning"]
        self._started = time.monotonic()
        self._last_input = None
        self._rate = diag.RateMeter()
        self._durations = diag.DurationStats()
        self._rejected_messages = 0
        self._received = 0
        self._last_error = diag.LastError()
        self._max_read = MESSAGE_PEOPLE_FACTOR * self._params["max_people"]
        self._input_watch = InputWatch(
            "pose message",
            "RELIABLE, depth 10",
            hint="is the pose node active and are its images arriving (its /diagnostics says)?",
        )
        if autostart:
            self.bring_up()

    # --- lifecycle ------------------------------------------------------------------------------
    def load(self) -> None:
        # Loads and checks the model: fails here, with the path and the expected description
        # (never at the first message).
        self.recognizer = recognizer_from_parameters(self._params)
        self.classifier = self.recognizer.classifier
        self.config = self.recognizer.config
        spec = self.classifier.spec
        self.get_logger().info(
            f"AcT model '{spec.name}' ({len(self.classifier.class_names)} classes: "
            f"{', '.join(self.classifier.class_names)}), window {self.config.window_length} "
            f"frames at {self.config.frame_rate or 'every'} fps, {self._params['num_threads']} "
            f"thread(s), 'unknown' below {self.config.unknown_rule} {self.config.unknown_threshold:.3g}"
        )

    def start(self) -> None:
        self.recognizer.reset()  # fresh windows: poses from before a pause are stale
        qos = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
        self._pub = self.create_publisher(PersonActionArray, ACTIONS_TOPIC, qos)
        # raw: serialized bytes, read without building a Python object per person.
        self._sub = self.create_subscription(PersonPose2DArray, POSES_TOPIC, self.process, qos, raw=True)
        self._started, self._last_input = time.monotonic(), None
        self._watchdog = self.create_timer(1.0, self._check_input)
        self.get_logger().info(f"listening on {self._sub.topic_name}")

    def stop(self) -> None:
        self.destroy_timer(self._watchdog)
        self.destroy_subscription(self._sub)
        self.destroy_publisher(self._pub)
        self._sub = self._pub = self._watchdog = None

    def release(self) -> None:
        self.recognizer = self.classifier = self.config = None  # the interpreters go with them

    # --- callbacks ------------------------------------------------------------------------------
    @property
    def received(self) -> int:
        """Pose messages taken in (rejected ones included)."""
        return self._received

    def process(self, msg: PersonPose2DArray | bytes) -> PersonActionArray | None:
        """The subscription callback: one pose message (serialized, or a message object) in, its
        actions published and returned (None for a rejected message). ``last_timing`` then holds
        perf_counter marks: start, converted (arrays), recognized (recognizer.update), encoded
        (message built), published."""
        start = time.perf_counter()
        self._last_input = time.monotonic()
        self._rate.tick()
        self._received += 1
        poses = self._read(msg)
        if poses is None:
            return None
        if poses.keypoint_layout != KEYPOINT_LAYOUT:
            self._reject(
                f"keypoint_layout '{poses.keypoint_layout}' is not '{KEYPOINT_LAYOUT}': "
                f"the model needs COCO-17 keypoints"
            )
            return None
        converted = time.perf_counter()
        before = dict(self.recognizer.stats.counters)
        if poses.people_unread:
            self.recognizer.stats.count("over_capacity_people", poses.people_unread)
        actions = self.recognizer.update(poses.stamp_ns, poses.track_ids, poses.keypoints)
        recognized = time.perf_counter()
        self._log_new_problems(before)
        header = Header(frame_id=poses.frame_id)
        set_stamp(header, poses.stamp_ns)
        out = actions_to_msg(actions, header, self.recognizer.class_names, self.config.window_length)
        encoded = time.perf_counter()
        self._pub.publish(out)
        published = time.perf_counter()
        self._durations.add(published - start)
        self.last_timing = {
            "start": start,
            "converted": converted,
            "recognized": recognized,
            "encoded": encoded,
            "published": published,
        }
        return out

    def _read(self, msg: PersonPose2DArray | bytes) -> PoseArray | None:
        """The first people of a pose message (None: rejected). Plain CDR is read from the bytes;
        another encapsulation is deserialized by rclpy first."""
        if not isinstance(msg, (bytes, bytearray, memoryview)):
            return read_pose_array(msg, self._max_read)
        try:
            poses = read_pose_array_cdr(msg, self._max_read)
        except PoseMessageError as exc:
            self._reject(str(exc))
            return None
        if poses is None:
            return read_pose_array(deserialize_message(msg, PersonPose2DArray), self._max_read)
        return poses

    def _reject(self, reason: str) -> None:
        self._rejected_messages += 1
        self._last_error.set(reason)
        self.get_logger().error(f"dropped a pose message: {reason}", throttle_duration_sec=5.0)

    def _log_new_problems(self, before: dict[str, int]) -> None:
        now = self.recognizer.stats.counters
        for key in (
            "people_with_invalid_keypoints",
            "duplicate_track_ids",
            "over_capacity_people",
            "out_of_order_frames",
            "time_jumps_back",
            "repeated_stamps",
        ):
            if now.get(key, 0) > before.get(key, 0):
                self.get_logger().warning(_PROBLEMS[key] + f" (total {now[key]})", throttle_duration_sec=5.0)

    def _apply_parameters(self, changes: dict[str, Any]) -> None:
        """Run-time changes of the settable parameters (the others are read-only); kept for the
        next configure as well."""
        live = {k: v for k, v in changes.items() if k in ("smoothing", "unknown_threshold")}
        if live and self.recognizer is not None:
            applied = dict(live)
            if "unknown_threshold" in applied:  # -1 = the model's own rule and threshold
                applied["unknown_rule"], applied["unknown_threshold"] = reject_setting(
                    applied["unknown_threshold"],
                    self.classifier.reject_rule,
                    self.classifier.unknown_threshold,
                )
            # Raises ValueError (-> change refused) if the recognizer rejects the values.
            self.config = dataclasses.replace(self.config, **applied)
            self.recognizer.config = self.config
        self._params.update(live)

    def _check_input(self) -> None:
        self._input_watch.sample(self._received, 0)
        found = self._input_problem(self._no_input_warning)
        if self._input_watch.should_say(found and found[0]):
            self.get_logger().warning(f"{self._sub.topic_name}: {found[1]}")

    def _input_problem(self, limit_s: float) -> tuple[str, str] | None:
        return self._input_watch.diagnose(
            silent_s=time.monotonic() - (self._last_input or self._started),
            limit_s=limit_s,
            on_topic=self.count_publishers(self._sub.topic_name),
            matched=self._sub.get_publisher_count(),
        )

    def idle_values(self) -> dict[str, Any]:
        if self.recognizer is None:
            return {"rejected_messages": self._rejected_messages, **self._last_error.values()}
        stats = self.recognizer.stats
        return {
            "input_rate_hz": self._rate.rate(),
            "tracked_people": self.recognizer.num_tracks,
            "frames": stats.frames,
            "inferences": stats.inferences,
            "rejected_messages": self._rejected_messages,
            **{k: stats.counters.get(k, 0) for k in _PROBLEMS},
            "model": self.classifier.spec.name,
            "num_threads": self.classifier.num_threads,
            **self._last_error.values(),
        }

    def active_status(self):
        mean_ms, max_ms, n = self._durations.take()
        values = {"processing_mean_ms": mean_ms, "processing_max_ms": max_ms, **self.idle_values()}
        problem = self._input_problem(max(self._no_input_warning, 1.0))
        if problem is not None:
            return diag.WARN, problem[1], values
        if self._last_input is None:
            return diag.WARN, "no pose input yet", values
        stats = self.recognizer.stats
        # People leaving (tracks_forgotten) is normal, not dropped input.
        if self._rejected_messages or any(stats.counters.get(k, 0) for k in _PROBLEMS if k not in _NORMAL):
            return diag.OK, "running (some input was dropped, see counters)", values
        return diag.OK, "running", values


_PROBLEMS = {
    "people_with_invalid_keypoints": "keypoints with NaN/inf, absurd coordinates or confidence "
    "outside [0, 1] were treated as missing",
    "duplicate_track_ids": "a pose message held the same track_id twice; kept the first",
    "over_capacity_people": "more people than max_people; the extra ones were dropped",
    "out_of_order_frames": "a pose message older than the newest one was dropped",
    "time_jumps_back": "time jumped backwards (bag loop or clock reset): all windows reset",
    "repeated_stamps": "a person appeared twice with the same stamp; the repeat was ignored",
    # Counted, not logged: a tracker reports a new person as 0 until the track is confirmed.
    "untracked_people": "people with track_id 0 (not tracked yet) are ignored",
    "tracks_forgotten": "",
}
_NORMAL = ("tracks_forgotten",)


def main(argv: list[str] | None = None) -> int:
    from act_ros.ros.spin import spin_nodes

    return spin_nodes([ActNode], argv if argv is not None else sys.argv)


if __name__ == "__main__":
    sys.exit(main())
