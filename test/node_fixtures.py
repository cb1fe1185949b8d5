"""Shared pieces of the node tests: real pose sequences and message builders."""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from act_ros.msg import Keypoint2D, PersonPose2D, PersonPose2DArray

from act_ros.data import lzq_data_dir

LZQ_DIR = lzq_data_dir()


@lru_cache(maxsize=1)
def lzq_sequences() -> dict[str, np.ndarray]:
    """One real recording per class of the LZQ data: class -> (F, 17, 3) COCO-17 pixels.

    These recordings are also the shipped model's training data; the tests use them to check
    that the node reproduces the offline pipeline, not to measure accuracy.
    """
    from act_ros.datasets.lzq import read_recordings
    from act_ros.layouts import COCO18, to_coco17

    out: dict[str, np.ndarray] = {}
    for rec in read_recordings(LZQ_DIR):
        if rec.class_name not in out and len(rec.frames) >= 60:
            out[rec.class_name] = to_coco17(rec.frames, COCO18).astype(np.float32)
    return out


def pose_array_msg(stamp_ns: int, track_ids, keypoints: np.ndarray, *, layout: str = "coco17",
                   width: int = 640, height: int = 480, frame_id: str = "camera") -> PersonPose2DArray:
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
