"""One image -> tracked COCO-17 poses: the pose node's work, without ROS.

Optional downscaling (keypoints are mapped back to full-image pixels), the estimator, then the
tracker. The pose node and the non-ROS evaluation path both build it from the same parameters
(`act_ros.parameters.POSE_NODE_PARAMETERS`), so they compute the same thing.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import cv2
import numpy as np

from act_ros.parameters import POSE_NODE_PARAMETERS, resolve
from act_ros.pose.base import PoseDetections, PoseEstimator, create_estimator
from act_ros.pose.tracking import PoseTracker


class PosePipeline:
    def __init__(self, estimator: PoseEstimator, tracker: PoseTracker, max_image_width: int = 0) -> None:
        self.estimator = estimator
        self.tracker = tracker
        self.max_image_width = int(max_image_width)

    @classmethod
    def from_parameters(cls, overrides: Mapping[str, Any] | None = None) -> PosePipeline:
        p = resolve(POSE_NODE_PARAMETERS, overrides)
        options: dict[str, Any] = {"num_poses": p["num_poses"], "model_path": p["model_path"] or None}
        if p["backend"] == "mediapipe":  # other backends take only what every backend takes
            options.update(
                variant=p["model_variant"],
                min_detection_confidence=p["min_detection_confidence"],
                min_presence_confidence=p["min_presence_confidence"],
                min_tracking_confidence=p["min_tracking_confidence"])
        estimator = create_estimator(p["backend"], **options)
        return cls(estimator, PoseTracker(max_age_s=p["track_max_age"]), p["max_image_width"])

    def process(self, rgb: np.ndarray, stamp_ns: int) -> PoseDetections:
        """Tracked poses of one HxWx3 uint8 RGB image, in its pixels."""
        small, scale = self._downscale(rgb)
        detections = self.estimator.estimate(small, stamp_ns)
        if scale != 1.0 and len(detections):
            kp = detections.keypoints.copy()
            kp[..., :2] /= scale
            detections = PoseDetections(kp, detections.boxes / scale, detections.scores,
                                        detections.track_ids)
        return self.tracker.update(detections, stamp_ns)

    def _downscale(self, rgb: np.ndarray) -> tuple[np.ndarray, float]:
        width = rgb.shape[1]
        if not self.max_image_width or width <= self.max_image_width:
            return rgb, 1.0
        scale = self.max_image_width / width
        size = (self.max_image_width, max(1, round(rgb.shape[0] * scale)))
        return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA), scale

    def close(self) -> None:
        self.estimator.close()
