"""Pose node: camera images in, tracked COCO-17 poses of every person out.

Subscribes ``image_raw`` (sensor_msgs/Image, sensor-data QoS, depth 1) or, with
``use_compressed``, ``image_raw/compressed``; publishes ``human_poses``
(act_ros/PersonPose2DArray, header = the image's) for every processed image, optionally
``~/debug_image`` (skeletons, IDs and the latest action labels), and /diagnostics.

A managed (lifecycle) node (act_ros.ros.managed): configure loads the pose model, activate
subscribes and starts the worker thread, deactivate stops both (no input, no estimation).

Images are processed by one worker thread. The subscription callback only leaves the newest image
in a one-slot mailbox, so the executor never blocks on the estimator and an image that arrives
while the worker is busy replaces the waiting one: stale frames are dropped (and counted), never
queued, so the output lags the camera by at most one frame.
"""

from __future__ import annotations

import sys
import threading
import time

import cv2
import numpy as np
from rclpy.qos import QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
from sensor_msgs.msg import CompressedImage, Image

try:  # Iron and later
    from rclpy.event_handler import SubscriptionEventCallbacks
except ImportError:  # Humble
    from rclpy.qos_event import SubscriptionEventCallbacks

from act_ros.messages import (
    ACTIONS_TOPIC,
    COMPRESSED_IMAGE_TOPIC,
    DEBUG_IMAGE_TOPIC,
    IMAGE_TOPIC,
    POSES_TOPIC,
    ImageConversionError,
    decode_rgb,
    header_stamp_ns,
)
from act_ros.msg import PersonActionArray, PersonPose2DArray
from act_ros.assembly import pose_pipeline_from_parameters
from act_ros.parameters import POSE_NODE_PARAMETERS
from act_ros.pose.base import PoseDetections
from act_ros.pose.variants import variant_or_default
from act_ros.ros import diagnostics as diag
from act_ros.ros.conversions import detections_to_msg, image_msg
from act_ros.ros.input_watch import InputWatch
from act_ros.ros.managed import ManagedNode
from act_ros.ros.params import declare

PARAMETERS = POSE_NODE_PARAMETERS


class PoseNode(ManagedNode):
    """The pose node as a managed node: configure loads the pose model, activate subscribes,
    publishes and starts the worker thread, deactivate stops all of it (see ros.managed)."""

    def __init__(self, *, autostart: bool = True, **node_kwargs) -> None:
        super().__init__("pose_node", **node_kwargs)
        self.params = declare(self, PARAMETERS)
        self.pipeline = None
        self._sub = self._pub = self._debug_pub = self._actions_sub = self._timer = None
        self._worker: threading.Thread | None = None
        self._labels: dict[int, tuple[str, float]] = {}
        # One-slot mailbox between the executor and the worker thread: (message, arrival time).
        self._cond = threading.Condition()
        self._pending: tuple[Image | CompressedImage, float] | None = None
        # perf_counter marks of the last processed image (see process): what a benchmark times.
        self.last_timing: dict[str, float] = {}
        self._stopping = False
        self._last_stamp_ns: int | None = None
        self.counters = {
            "received": 0,
            "processed": 0,
            "dropped_busy": 0,
            "rejected_images": 0,
            "estimator_errors": 0,
            "lost_in_transport": 0,
            "small_images": 0,
        }
        self._in_rate, self._out_rate = diag.RateMeter(), diag.RateMeter()
        self._durations = diag.DurationStats()
        self._people = 0
        self._last_error = diag.LastError()
        self._small_warning: str | None = None  # the latest image too small to find people in
        self._started = time.monotonic()
        self._last_input: float | None = None
        self._input_watch = InputWatch("image", self._qos_text())
        self.topic_name = ""  # resolved when activated
        p = self.params
        self._image_type, self._image_topic = (
            (CompressedImage, COMPRESSED_IMAGE_TOPIC) if p["use_compressed"] else (Image, IMAGE_TOPIC)
        )
        self._image_qos = (
            qos_profile_sensor_data
            if p["image_qos"] == "sensor_data"
            else QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE)
        )
        if autostart:
            self.bring_up()

    # --- lifecycle ------------------------------------------------------------------------------
    def load(self) -> None:
        self.pipeline = pose_pipeline_from_parameters(self.params)

    def start(self) -> None:
        p = self.params
        self.pipeline.tracker.reset()  # fresh track IDs after a pause
        self._last_stamp_ns = None
        reliable = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
        self._pub = self.create_publisher(PersonPose2DArray, POSES_TOPIC, reliable)
        if p["publish_debug_image"]:
            self._debug_pub = self.create_publisher(
                Image, DEBUG_IMAGE_TOPIC, QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE)
            )
            self._actions_sub = self.create_subscription(
                PersonActionArray, ACTIONS_TOPIC, self._on_actions, reliable
            )
        self._stopping = False
        self._worker = threading.Thread(target=self._work, name="pose_worker", daemon=True)
        self._worker.start()
        # Images the middleware overwrote before the callback took them (depth 1) are counted too.
        events = SubscriptionEventCallbacks(message_lost=self._on_lost)
        self._sub = self.create_subscription(
            self._image_type, self._image_topic, self._on_image, self._image_qos, event_callbacks=events
        )
        self.topic_name = self._sub.topic_name
        self._started, self._last_input = time.monotonic(), None
        self._timer = self.create_timer(1.0, self._check_input)
        self.get_logger().info(
            f"pose backend '{p['backend']}' ({variant_or_default(p['backend'], p['model_variant'])}, up to {p['num_poses']} people); "
            f"listening on {self.topic_name} ({self._qos_text()})"
        )

    def stop(self) -> None:
        with self._cond:  # the worker finishes the image in hand, then ends
            self._stopping = True
            self._pending = None
            self._cond.notify()
        if self._worker is not None:
            self._worker.join(timeout=10.0)
            self._worker = None
        if self._timer is not None:
            self.destroy_timer(self._timer)
        for subscription in (self._sub, self._actions_sub):
            if subscription is not None:
                self.destroy_subscription(subscription)
        for publisher in (self._pub, self._debug_pub):
            if publisher is not None:
                self.destroy_publisher(publisher)
        self._sub = self._actions_sub = self._pub = self._debug_pub = self._timer = None

    def release(self) -> None:
        if self.pipeline is not None:
            self.pipeline.close()
            self.pipeline = None

    # --- executor side --------------------------------------------------------------------------
    def _on_image(self, msg) -> None:
        received = time.perf_counter()
        self._last_input = time.monotonic()
        self._in_rate.tick()
        with self._cond:
            self.counters["received"] += 1
            if self._pending is not None:
                self.counters["dropped_busy"] += 1
            self._pending = (msg, received)
            self._cond.notify()

    def _on_lost(self, info) -> None:
        self.counters["lost_in_transport"] += int(info.total_count_change)

    def _on_actions(self, msg: PersonActionArray) -> None:
        self._labels = {a.track_id: (a.label, a.confidence) for a in msg.actions}

    # --- worker side ----------------------------------------------------------------------------
    def _work(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._pending is not None or self._stopping)
                if self._stopping:
                    return
                (msg, received), self._pending = self._pending, None
            try:
                self.process(msg, received)
            except Exception as exc:  # one bad frame must not kill the node
                self.counters["estimator_errors"] += 1
                error = f"{type(exc).__name__}: {exc}"
                self._last_error.set(error)
                self.get_logger().error(f"pose estimation failed: {error}", throttle_duration_sec=5.0)

    def process(
        self, msg: Image | CompressedImage, received_at: float | None = None
    ) -> PersonPose2DArray | None:
        """Estimate, track and publish the poses of one image message (the worker thread calls
        it for every image it takes; a benchmark may call it directly). Returns the published
        message, None for a rejected image. ``last_timing`` then holds perf_counter marks:
        received (the subscription callback, when given), start, converted, estimated (pipeline),
        encoded (message built), published."""
        start = time.perf_counter()
        try:
            # Downscaled while decoding (max_image_width): no full-size copy of a huge image.
            image = decode_rgb(msg, self.params["max_image_width"])
        except ImageConversionError as exc:
            self.counters["rejected_images"] += 1
            self._last_error.set(str(exc))
            self.get_logger().error(
                f"dropped an image on {self.topic_name}: {exc}", throttle_duration_sec=5.0
            )
            return None
        converted = time.perf_counter()
        rgb = image.rgb
        self._small_warning = self.pipeline.small_image_warning(rgb.shape[1], rgb.shape[0])
        if self._small_warning:
            self.counters["small_images"] += 1
            self.get_logger().warning(self._small_warning, throttle_duration_sec=30.0)
        stamp_ns = header_stamp_ns(msg)
        if self._last_stamp_ns is not None and stamp_ns < self._last_stamp_ns:
            self.get_logger().warning(
                "image time went backwards (bag loop or clock reset): track IDs restart",
                throttle_duration_sec=5.0,
            )
        self._last_stamp_ns = stamp_ns
        detections = self.pipeline.process(rgb, stamp_ns, image.scale)
        estimated = time.perf_counter()
        out = detections_to_msg(detections, msg.header, image.width, image.height)
        encoded = time.perf_counter()
        self._pub.publish(out)
        published = time.perf_counter()
        self.counters["processed"] += 1
        self._people = len(detections)
        self._out_rate.tick()
        self._durations.add(published - start)
        self.last_timing = {
            "start": start,
            "converted": converted,
            "estimated": estimated,
            "encoded": encoded,
            "published": published,
        }
        if received_at is not None:
            self.last_timing["received"] = received_at
        if self._debug_pub is not None and self._debug_pub.get_subscription_count() > 0:
            self._publish_debug(rgb, detections, image.scale, msg.header)
        return out

    def _publish_debug(self, rgb: np.ndarray, detections: PoseDetections, scale: float, header) -> None:
        from act_ros.drawing import draw_poses

        if scale != 1.0:  # drawn on the decoded (downscaled) pixels
            kp = detections.keypoints.copy()
            kp[..., :2] *= scale
            detections = PoseDetections(kp, detections.boxes * scale, detections.scores, detections.track_ids)
        bgr = draw_poses(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), detections, self._labels)
        max_width = self.params["debug_image_max_width"]
        if bgr.shape[1] > max_width:
            scale = max_width / bgr.shape[1]
            bgr = cv2.resize(bgr, (max_width, round(bgr.shape[0] * scale)), interpolation=cv2.INTER_AREA)
        self._debug_pub.publish(image_msg(bgr, "bgr8", header))

    # --- monitoring -----------------------------------------------------------------------------
    def _check_input(self) -> None:
        self._input_watch.sample(self.counters["received"], self.counters["lost_in_transport"])
        found = self._input_problem(self.params["no_input_warning"])
        if self._input_watch.should_say(found and found[0]):
            self.get_logger().warning(f"{self.topic_name}: {found[1]}")

    def _input_problem(self, limit_s: float) -> tuple[str, str] | None:
        return self._input_watch.diagnose(
            silent_s=time.monotonic() - (self._last_input or self._started),
            limit_s=limit_s,
            on_topic=self.count_publishers(self.topic_name),
            matched=self._sub.get_publisher_count(),
        )  # same type and compatible QoS

    def _qos_text(self) -> str:
        if self.params["image_qos"] == "sensor_data":
            return "sensor-data QoS: best effort, depth 1"
        return "RELIABLE, depth 1: a best-effort publisher will not match"

    def _values(self) -> dict:
        mean_ms, max_ms, _ = self._durations.take()
        return {
            "input_rate_hz": self._in_rate.rate(),
            "output_rate_hz": self._out_rate.rate(),
            "processing_mean_ms": mean_ms,
            "processing_max_ms": max_ms,
            "people": self._people,
            **self.counters,
            **self._last_error.values(),
        }

    idle_values = _values

    def active_status(self):
        values = self._values()
        problem = self._input_problem(max(self.params["no_input_warning"], 1.0))
        if problem is not None:
            return diag.WARN, problem[1], values
        if self._last_input is None:
            return diag.WARN, "no image input yet", values
        if self.counters["estimator_errors"] and self.counters["processed"] == 0:
            return diag.ERROR, "pose estimation fails on every image", values
        if self._small_warning:
            return diag.WARN, self._small_warning, values
        return diag.OK, "running", values


def main(argv: list[str] | None = None) -> int:
    from act_ros.ros.spin import spin_nodes

    return spin_nodes([PoseNode], argv if argv is not None else sys.argv)


if __name__ == "__main__":
    sys.exit(main())
