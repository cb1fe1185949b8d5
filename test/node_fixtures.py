"""Shared pieces of the node tests: real pose sequences and message builders."""

from __future__ import annotations

import numpy as np

from act_ros.msg import Keypoint2D, PersonPose2D, PersonPose2DArray
from core_fixtures import lzq_sequences  # noqa: F401  (ROS-free; re-exported for the node tests)


def pose_array_msg(
    stamp_ns: int,
    track_ids,
    keypoints: np.ndarray,
    *,
    layout: str = "coco17",
    width: int = 640,
    height: int = 480,
    frame_id: str = "camera",
) -> PersonPose2DArray:
    """A PersonPose2DArray built field by field (independently of the package's converters)."""
    msg = PersonPose2DArray()
    msg.header.stamp.sec, msg.header.stamp.nanosec = divmod(int(stamp_ns), 1_000_000_000)
    msg.header.frame_id = frame_id
    msg.image_width, msg.image_height = width, height
    msg.keypoint_layout = layout
    people = []
    for tid, kp in zip(track_ids, keypoints):
        p = PersonPose2D()
        p.track_id = int(tid)
        p.score = 0.9
        valid = kp[kp[:, 2] > 0]
        if len(valid):
            p.box_x_min, p.box_y_min = (float(v) for v in valid[:, :2].min(0))
            p.box_x_max, p.box_y_max = (float(v) for v in valid[:, :2].max(0))
        p.keypoints = [Keypoint2D(x=float(x), y=float(y), confidence=float(c)) for x, y, c in kp]
        people.append(p)
    msg.people = people
    return msg


def stamp_ns_of(msg) -> int:
    return msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec
