"""The same evaluation without ROS: the bag's frames go straight through the pose estimator, the
tracker and the action recognizer in this process, in order, with their recorded stamps.

This is the reference the replay through the live nodes is checked against: same bag, same
parameters, same builders as the nodes (``act_ros.assembly``), same scoring code. Nothing of ROS is involved.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from act_ros.bag.bag_io import BagInfo, iter_messages
from act_ros.bag.scoring import FrameOutput, Prediction
from act_ros.bag.types import POSE_ARRAY_TYPE
from act_ros.messages import decode_rgb, header_stamp_ns, pose_arrays


@dataclass
class DirectResult:
    outputs: dict[int, FrameOutput]
    wall_time_s: float
    interrupted: bool = False  # stopped by a signal: the frames so far

    @property
    def throughput_fps(self) -> float | None:
        return len(self.outputs) / self.wall_time_s if self.wall_time_s > 0 else None


def iter_tracked_poses(
    info: BagInfo,
    pose_params: dict[str, Any],
) -> Iterator[tuple[int, np.ndarray, np.ndarray, list[tuple[float, float]] | None]]:
    """``(stamp_ns, track_ids, keypoints, box centres)`` per input frame: from the estimator +
    tracker for an image bag (centres as fractions of the image), as recorded for a pose bag
    (centres None)."""
    if info.input_type == POSE_ARRAY_TYPE:
        for _, msg in iter_messages(info.path, info.input_topic, POSE_ARRAY_TYPE):
            yield (header_stamp_ns(msg), *pose_arrays(msg), None)  # as the AcT node reads it
        return
    from act_ros.assembly import pose_pipeline_from_parameters

    pipeline = pose_pipeline_from_parameters(pose_params)  # exactly as the pose node builds it
    try:
        for _, msg in iter_messages(info.path, info.input_topic, info.input_type):
            stamp = header_stamp_ns(msg)
            image = decode_rgb(msg, pipeline.max_image_width)  # as the pose node decodes it
            detections = pipeline.process(image.rgb, stamp, image.scale)
            w, h = image.width, image.height
            centers = [((b[0] + b[2]) / 2 / w, (b[1] + b[3]) / 2 / h) for b in detections.boxes.tolist()]
            yield stamp, detections.track_ids.astype(np.int64), detections.keypoints, centers
    finally:
        pipeline.close()


def evaluate_direct(
    info: BagInfo,
    *,
    pose_params: dict[str, Any] | None = None,
    act_params: dict[str, Any] | None = None,
    progress: bool = True,
) -> DirectResult:
    """Run the bag's frames through the pipeline here; outputs keyed by frame stamp."""
    from tqdm import tqdm

    from act_ros.assembly import recognizer_from_parameters

    recognizer = recognizer_from_parameters(act_params or {})  # exactly as the AcT node does
    class_names = list(recognizer.class_names)
    outputs: dict[int, FrameOutput] = {}
    start = time.monotonic()
    frames = iter_tracked_poses(info, pose_params or {})
    try:
        for stamp, ids, kp, centers in tqdm(
            frames, total=info.n_frames, desc="direct", unit="frame", disable=not progress
        ):
            actions = recognizer.update(stamp, ids, kp)
            outputs[stamp] = FrameOutput(
                predictions=[
                    Prediction(
                        int(a.track_id),
                        str(a.label),
                        float(a.confidence),
                        int(a.window_frames),
                        recognizer.config.window_length,
                    )
                    for a in actions
                ],
                class_names=class_names,
                latency_s=None,
                pose_track_ids=[int(t) for t in ids] if centers is not None else None,
                pose_centers=centers,
            )
    except KeyboardInterrupt:  # Ctrl-C, SIGTERM, SIGHUP (act_ros.interrupts): score what ran
        frames.close()
        return DirectResult(outputs, time.monotonic() - start, interrupted=True)
    return DirectResult(outputs, time.monotonic() - start)
