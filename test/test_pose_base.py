"""The estimator interface: PoseDetections validation and the backend registry."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from act_ros.pose import (
    PoseDetections,
    PoseEstimator,
    available_estimators,
    boxes_from_keypoints,
    create_estimator,
    register_estimator,
)
from act_ros.pose import base

pytestmark = pytest.mark.emulated  # arm64 check: the arrays every pose backend returns


def _people(n: int) -> np.ndarray:
    rng = np.random.default_rng(n)
    kp = rng.uniform(0, 100, size=(n, 17, 3)).astype(np.float32)
    kp[..., 2] = rng.uniform(0.2, 1.0, size=(n, 17))
    return kp


def test_detections_defaults_and_dtypes():
    empty = PoseDetections.empty()
    assert len(empty) == 0
    assert empty.keypoints.shape == (0, 17, 3) and empty.boxes.shape == (0, 4)
    assert empty.scores.shape == (0,) and empty.track_ids.dtype == np.uint32

    kp = _people(3).astype(np.float64)
    det = PoseDetections(kp, boxes_from_keypoints(kp), [0.5, 0.6, 0.7])
    assert det.keypoints.dtype == np.float32 and det.boxes.dtype == np.float32
    assert det.track_ids.tolist() == [0, 0, 0]  # not tracked until a tracker fills them
    sub = det.select([2, 0])
    assert np.allclose(sub.scores, [0.7, 0.5]) and len(sub) == 2
    assert det.with_track_ids(np.array([4, 5, 6])).track_ids.tolist() == [4, 5, 6]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"keypoints": np.zeros((2, 18, 3))}, "keypoints must have shape"),
        ({"keypoints": np.zeros((2, 17, 2))}, "keypoints must have shape"),
        (
            {"keypoints": np.zeros((2, 17, 3)), "boxes": np.zeros((3, 4)), "scores": np.zeros(2)},
            "boxes must have shape",
        ),
        (
            {"keypoints": np.zeros((2, 17, 3)), "boxes": np.zeros((2, 4)), "scores": np.zeros(1)},
            "scores must have shape",
        ),
        (
            {
                "keypoints": np.zeros((2, 17, 3)),
                "boxes": np.zeros((2, 4)),
                "scores": np.zeros(2),
                "track_ids": np.array([1, -1]),
            },
            "non-negative",
        ),
        (
            {
                "keypoints": np.zeros((1, 17, 3)),
                "boxes": np.zeros((1, 4)),
                "scores": np.zeros(1),
                "track_ids": np.array([1.5]),
            },
            "non-negative integers",
        ),
    ],
)
def test_detections_reject_malformed_arrays(kwargs, message):
    with pytest.raises(ValueError, match=message):
        PoseDetections(**kwargs)


def test_boxes_from_keypoints_ignore_missing_points():
    kp = np.zeros((2, 17, 3), np.float32)
    kp[0, :3] = [[10, 20, 0.9], [30, 5, 0.8], [500, 500, 0.0]]  # the last one is missing
    boxes = boxes_from_keypoints(kp)
    assert boxes[0].tolist() == [10, 5, 30, 20]
    assert boxes[1].tolist() == [0, 0, 0, 0]  # nobody there


def test_unknown_backend_lists_the_registered_ones():
    with pytest.raises(ValueError, match=r"unknown pose backend 'yolo'.*mediapipe"):
        create_estimator("yolo")
    assert "mediapipe" in available_estimators()


def test_importing_the_interface_does_not_import_mediapipe():
    # Backends resolve lazily: a node configured with another backend never loads mediapipe.
    code = "import sys, act_ros.pose; print('mediapipe' in sys.modules, 'norfair' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


class _GridPeople:
    """A tiny real backend: one 'person' per bright blob row (enough to exercise the registry)."""

    name = "brightest-rows"

    def __init__(self, num_poses: int = 1) -> None:
        self.num_poses = num_poses
        self.closed = False

    def estimate(self, image_rgb: np.ndarray, timestamp_ns: int) -> PoseDetections:
        image = base.check_image(image_rgb)
        rows = np.argsort(image.mean(axis=(1, 2)))[::-1][: self.num_poses]
        kp = np.zeros((len(rows), 17, 3), np.float32)
        kp[:, :, 0] = np.arange(17)[None]
        kp[:, :, 1] = rows[:, None]
        kp[:, :, 2] = 1.0
        return PoseDetections(kp, boxes_from_keypoints(kp), np.ones(len(rows)))

    def close(self) -> None:
        self.closed = True


def test_a_new_backend_plugs_in_without_touching_callers():
    register_estimator("test-rows", _GridPeople, replace=True)
    try:
        est = create_estimator("test-rows", num_poses=2)
        assert isinstance(est, PoseEstimator)
        image = np.zeros((40, 30, 3), np.uint8)
        image[7] = 255
        image[21] = 200
        det = est.estimate(image, 0)
        assert det.keypoints[:, 0, 1].tolist() == [7, 21]
        est.close()
        assert est.closed
        with pytest.raises(ValueError, match="already registered"):
            register_estimator("test-rows", _GridPeople)
    finally:
        base._REGISTRY.pop("test-rows", None)


@pytest.mark.parametrize(
    "image, error",
    [
        (np.zeros((10, 10), np.uint8), ValueError),
        (np.zeros((10, 10, 4), np.uint8), ValueError),
        (np.zeros((10, 10, 3), np.float32), ValueError),
        (np.zeros((0, 10, 3), np.uint8), ValueError),
        ([[1, 2, 3]], TypeError),
    ],
)
def test_check_image_rejects_bad_input(image, error):
    with pytest.raises(error):
        base.check_image(image)
