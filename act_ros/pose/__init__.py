"""Pose estimation behind a small interface (ROS-free).

``create_estimator("mediapipe", variant="full", num_poses=5)`` returns a :class:`PoseEstimator`
whose ``estimate(image_rgb, timestamp_ns)`` gives :class:`PoseDetections` (COCO-17, pixels);
:class:`~act_ros.pose.tracking.PoseTracker` fills stable track IDs. Backends are imported lazily:
importing this package does not import mediapipe.
"""

from __future__ import annotations

from act_ros.pose.base import (
    COCO17_NAMES,
    NUM_KEYPOINTS,
    PoseDetections,
    PoseEstimator,
    available_estimators,
    boxes_from_keypoints,
    create_estimator,
    register_estimator,
)

__all__ = [
    "COCO17_NAMES",
    "NUM_KEYPOINTS",
    "PoseDetections",
    "PoseEstimator",
    "available_estimators",
    "boxes_from_keypoints",
    "create_estimator",
    "register_estimator",
]
