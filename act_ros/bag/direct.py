"""The same evaluation without ROS: the bag's frames go straight through the pose estimator, the
tracker and the action recognizer in this process, in order, with their recorded stamps.

This is the reference the replay through the live nodes is checked against: same bag, same
parameters (the nodes' own parameter tables give the defaults), same scoring code. The ROS
graph is not involved (no context, no DDS); only the nodes' parameter tables are read.
"""
from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from act_ros.bag.bag_io import BagInfo, iter_messages
from act_ros.bag.images import compressed_msg_to_bgr, image_msg_to_bgr
from act_ros.bag.scoring import FrameOutput, Prediction
from act_ros.bag.types import COMPRESSED_IMAGE_TYPE, POSE_ARRAY_TYPE


@dataclass
class DirectResult:
    outputs: dict[int, FrameOutput]
    wall_time_s: float

    @property
    def throughput_fps(self) -> float | None:
        return len(self.outputs) / self.wall_time_s if self.wall_time_s > 0 else None


def _params(table: Any, overrides: dict[str, Any]) -> dict[str, Any]:
    values = {spec.name: spec.default for spec in table}
    unknown = sorted(set(overrides) - set(values) - {"use_sim_time"})
    if unknown:
        raise ValueError(f"unknown node parameter(s) {unknown}; known: {sorted(values)}")
    values.update({k: v for k, v in overrides.items() if k in values})
    return values


def make_pose_pipeline(overrides: dict[str, Any]) -> tuple[Any, Any, dict[str, Any]]:
    """(estimator, tracker, params) configured as PoseNode configures them."""
    from act_ros.pose.base import create_estimator
    from act_ros.pose.tracking import PoseTracker
    from act_ros.ros.pose_node import PARAMETERS

    p = _params(PARAMETERS, overrides)
    if p["backend"] == "mediapipe":
        options = dict(variant=p["model_variant"], num_poses=p["num_poses"],
                       num_threads=p["num_threads"] or None,
                       min_detection_confidence=p["min_detection_confidence"],
                       min_presence_confidence=p["min_presence_confidence"],
                       min_tracking_confidence=p["min_tracking_confidence"],
                       model_path=p["model_path"] or None)
    else:
        options = {"num_poses": p["num_poses"], "model_path": p["model_path"] or None}
    return create_estimator(p["backend"], **options), PoseTracker(max_age_s=p["track_max_age"]), p


def make_recognizer(overrides: dict[str, Any]) -> Any:
    """An ActionRecognizer configured as ActNode configures it."""
    from act_ros.recognizer import ActionRecognizer, RecognizerConfig
    from act_ros.ros.act_node import PARAMETERS
    from act_ros.runtime import ActClassifier, shipped_model_path

    p = _params(PARAMETERS, overrides)
    paths = [s.strip() for s in str(p["model_path"]).split(",") if s.strip()]
    classifier = ActClassifier(paths or shipped_model_path(p["model_size"]),
                               num_threads=p["num_threads"], expected_layout="coco17")
    sample_rate = p["sample_rate"] or float(getattr(classifier.spec, "frame_rate", 0.0) or 0.0)
    window = p["window_length"] or classifier.window_length
    config = RecognizerConfig(window_length=window, min_frames=min(p["min_frames"], window),
                              stride=p["stride"], frame_rate=sample_rate,
                              track_timeout_s=p["track_timeout"], smoothing=p["smoothing"],
                              unknown_threshold=p["unknown_threshold"], max_tracks=p["max_people"])
    return ActionRecognizer(classifier, config)


def _downscale(rgb: np.ndarray, max_width: int) -> tuple[np.ndarray, float]:
    width = rgb.shape[1]
    if not max_width or width <= max_width:
        return rgb, 1.0
    scale = max_width / width
    size = (max_width, max(1, round(rgb.shape[0] * scale)))
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA), scale


def iter_tracked_poses(info: BagInfo, pose_params: dict[str, Any]) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """``(stamp_ns, track_ids, keypoints)`` per input frame: from the estimator + tracker for an
    image bag, as recorded for a pose bag."""
    if info.input_type == POSE_ARRAY_TYPE:
        for _, msg in iter_messages(info.path, info.input_topic, POSE_ARRAY_TYPE):
            stamp = int(msg.header.stamp.sec) * 1_000_000_000 + int(msg.header.stamp.nanosec)
            ids = np.array([int(p.track_id) for p in msg.people], dtype=np.int64)
            kp = np.array([[(k.x, k.y, k.confidence) for k in p.keypoints] for p in msg.people],
                          dtype=np.float32).reshape(len(msg.people), 17, 3)
            yield stamp, ids, kp
        return
    from act_ros.pose.base import PoseDetections

    estimator, tracker, p = make_pose_pipeline(pose_params)
    decode = compressed_msg_to_bgr if info.input_type == COMPRESSED_IMAGE_TYPE else image_msg_to_bgr
    try:
        for _, msg in iter_messages(info.path, info.input_topic, info.input_type):
            stamp = int(msg.header.stamp.sec) * 1_000_000_000 + int(msg.header.stamp.nanosec)
            rgb = cv2.cvtColor(decode(msg), cv2.COLOR_BGR2RGB)
            small, scale = _downscale(rgb, p["max_image_width"])
            detections = estimator.estimate(small, stamp)
            if scale != 1.0 and len(detections):
                kp = detections.keypoints.copy()
                kp[..., :2] *= 1.0 / scale
                detections = PoseDetections(kp, detections.boxes * (1.0 / scale), detections.scores,
                                            detections.track_ids)
            detections = tracker.update(detections, stamp)
            yield stamp, detections.track_ids.astype(np.int64), detections.keypoints
    finally:
        estimator.close()


def evaluate_direct(info: BagInfo, *, pose_params: dict[str, Any] | None = None,
                    act_params: dict[str, Any] | None = None, progress: bool = True) -> DirectResult:
    """Run the bag's frames through the pipeline here; outputs keyed by frame stamp."""
    from tqdm import tqdm

    recognizer = make_recognizer(act_params or {})
    class_names = list(recognizer.class_names)
    outputs: dict[int, FrameOutput] = {}
    start = time.monotonic()
    frames = iter_tracked_poses(info, pose_params or {})
    for stamp, ids, kp in tqdm(frames, total=info.n_frames, desc="direct", unit="frame",
                               disable=not progress):
        actions = recognizer.update(stamp, ids, kp)
        outputs[stamp] = FrameOutput(
            predictions=[Prediction(int(a.track_id), str(a.label), float(a.confidence),
                                    int(a.window_frames), recognizer.config.window_length)
                         for a in actions],
            class_names=class_names,
            latency_s=None,
            pose_track_ids=[int(t) for t in ids] if info.input_type != POSE_ARRAY_TYPE else None,
        )
    return DirectResult(outputs, time.monotonic() - start)
