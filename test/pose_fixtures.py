"""Shared helpers for the pose tests: real frames, and MediaPipe run once per test module.

Import the fixtures you use into the test module (``from pose_fixtures import demo_detections``).
"""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np
import pytest

from footage import demo_video_path

DEMO_FPS = 30.0


def frame_stamp_ns(index: int, fps: float = DEMO_FPS) -> int:
    return int(round(index * 1e9 / fps))


def read_video_rgb(
    path, start: int = 0, count: int | None = None, size: tuple[int, int] | None = None, step: int = 1
) -> list[np.ndarray]:
    """RGB frames ``start, start+step, ...`` (``count`` of them, or to the end), optionally resized."""
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise RuntimeError(f"OpenCV cannot open {path}")
    frames: list[np.ndarray] = []
    index = 0
    try:
        while count is None or len(frames) < count:
            ok, bgr = cap.read()
            if not ok:
                break
            if index >= start and (index - start) % step == 0:
                if size is not None:
                    bgr = cv2.resize(bgr, size, interpolation=cv2.INTER_AREA)
                frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
            index += 1
    finally:
        cap.release()
    return frames


def read_image_rgb(path) -> np.ndarray:
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise RuntimeError(f"OpenCV cannot read {path}")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


@lru_cache(maxsize=1)
def demo_frames() -> tuple[np.ndarray, ...]:
    """All 230 frames of the demo clip (RGB, 1768x994), decoded once per test process."""
    return tuple(read_video_rgb(demo_video_path()))


@lru_cache(maxsize=4)
def demo_detections_for(variant: str = "full") -> tuple:
    """MediaPipe (VIDEO mode, num_poses=5) on every demo frame, once per process and variant."""
    from act_ros.pose import create_estimator

    estimator = create_estimator("mediapipe", variant=variant, num_poses=5)
    try:
        return tuple(estimator.estimate(f, frame_stamp_ns(i)) for i, f in enumerate(demo_frames()))
    finally:
        estimator.close()


@pytest.fixture(scope="module")
def demo_detections():
    """Per-frame PoseDetections of the demo clip (MediaPipe full), without track IDs."""
    return demo_detections_for("full")


@pytest.fixture(scope="module")
def mediapipe_full():
    """A MediaPipe full estimator for one test module (5 poses, default thresholds)."""
    from act_ros.pose import create_estimator

    estimator = create_estimator("mediapipe", variant="full", num_poses=5)
    yield estimator
    estimator.close()
