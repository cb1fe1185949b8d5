"""One image -> tracked COCO-17 poses: the pose node's work, without ROS.

Optional downscaling (keypoints are mapped back to full-image pixels), the estimator, then the
tracker. The pose node and the non-ROS evaluation path both build it from the same parameters
(`act_ros.assembly.pose_pipeline_from_parameters`), so they compute the same thing.
"""
from __future__ import annotations

import cv2
import numpy as np

from act_ros.pose.base import PoseDetections, PoseEstimator
from act_ros.pose.tracking import PoseTracker


class PosePipeline:
    def __init__(self, estimator: PoseEstimator, tracker: PoseTracker, max_image_width: int = 0) -> None:
        self.estimator = estimator
        self.tracker = tracker
        self.max_image_width = int(max_image_width)

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
