"""Annotated images: skeletons, boxes, IDs and labels drawn on real frames."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from footage import basketball_path
from pose_fixtures import demo_detections, demo_frames, read_image_rgb  # noqa: F401

from act_ros.drawing import draw_poses, track_color
from act_ros.layouts import COCO17_LIMBS
from act_ros.pose import PoseDetections
from act_ros.pose.tracking import PoseTracker


@pytest.fixture(scope="module")
def tracked_frame(demo_detections):  # noqa: F811  (MediaPipe on the clip, shared with other tests)
    """Frame 100 of the demo clip (BGR, 1768x994) with its two tracked people."""
    tracker = PoseTracker()
    for f in range(0, 101):
        det = tracker.update(demo_detections[f], int(f * 1e9 / 30))
    assert len(det) == 2 and (det.track_ids >= 1).all()
    return cv2.cvtColor(demo_frames()[100], cv2.COLOR_RGB2BGR), det


def _changed(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a != b).any(axis=2)


def test_draws_people_and_leaves_the_input_alone(tracked_frame):
    image, det = tracked_frame
    before = image.copy()
    out = draw_poses(image, det)
    assert out.shape == image.shape and out.dtype == np.uint8
    assert np.array_equal(image, before)  # a new image unless inplace=True
    changed = _changed(out, image)
    # Each person's skeleton lies inside its box, drawn in the track's colour.
    for box, tid in zip(det.boxes, det.track_ids):
        x0, y0, x1, y1 = box.astype(int)
        assert changed[y0:y1, x0:x1].mean() > 0.02
        colour = np.array(track_color(int(tid)), np.uint8)
        assert (out[y0:y1, x0:x1] == colour).all(axis=2).sum() > 500
    # Far from both people (top-right corner) nothing changed.
    assert not changed[:150, -300:].any()


def test_labels_add_text(tracked_frame):
    image, det = tracked_frame
    plain = draw_poses(image, det)
    labels = {int(t): ("walk", 0.87) for t in det.track_ids}
    labelled = draw_poses(image, det, labels)
    extra = _changed(labelled, plain)
    assert extra.sum() > 500  # one more text line per person
    # The text sits at each person's box (above it, or inside at the image top).
    for box in det.boxes:
        x0, y0, x1, y1 = box.astype(int)
        assert extra[max(0, y0 - 150) : y1, max(0, x0 - 10) : x1 + 300].any()


def test_readable_at_small_and_large_sizes():
    image = cv2.cvtColor(read_image_rgb(basketball_path()), cv2.COLOR_RGB2BGR)  # 640x480
    kp = np.zeros((1, 17, 3), np.float32)
    kp[0, :, 0] = np.linspace(100, 200, 17)
    kp[0, :, 1] = np.linspace(100, 400, 17)
    kp[0, :, 2] = 1.0
    det = PoseDetections(kp, [[100, 100, 200, 400]], [1.0], [7])
    small = _changed(draw_poses(image, det, {7: ("wave", 0.5)}), image).sum()
    big_image = cv2.resize(image, (1920, 1440))
    big_det = PoseDetections(kp * [3, 3, 1], [[300, 300, 600, 1200]], [1.0], [7])
    big = _changed(draw_poses(big_image, big_det, {7: ("wave", 0.5)}), big_image).sum()
    # Line widths and text grow with the image: ~9x the pixels at 3x the size.
    assert 4 < big / small < 16


def test_missing_and_broken_points_are_skipped():
    image = np.full((200, 300, 3), 40, np.uint8)
    kp = np.zeros((1, 17, 3), np.float32)
    kp[0, 5] = [50, 50, 0.9]
    kp[0, 6] = [150, 50, 0.9]
    kp[0, 11] = [np.nan, 120, 0.9]  # not a number: skipped
    kp[0, 12] = [1e12, 120, 0.9]  # absurd: clipped, no crash
    out = draw_poses(image, PoseDetections(kp, [[np.nan, 0, 0, 0]], [0.9], [0]))
    changed = _changed(out, image)
    assert changed[50, 100]  # the shoulder line
    assert not changed[120, 20:40].any()
    assert COCO17_LIMBS.count((5, 6)) == 1


def test_inplace_and_no_people():
    image = np.zeros((120, 160, 3), np.uint8)
    assert draw_poses(image, PoseDetections.empty()) is not image
    assert not draw_poses(image, PoseDetections.empty()).any()
    kp = np.zeros((1, 17, 3), np.float32)
    kp[0, :, :2], kp[0, :, 2] = 60, 1.0
    assert draw_poses(image, PoseDetections(kp, [[50, 50, 70, 70]], [1.0], [3]), inplace=True) is image
    assert image.any()


@pytest.mark.parametrize(
    "bad", [np.zeros((10, 10), np.uint8), np.zeros((10, 10, 4), np.uint8), np.zeros((10, 10, 3), np.float32)]
)
def test_bad_images_are_rejected(bad):
    with pytest.raises(ValueError):
        draw_poses(bad, PoseDetections.empty())


def test_track_colours_are_distinct_and_stable():
    colours = [track_color(i) for i in range(1, 21)]
    assert len(set(colours)) == 20 and track_color(3) == colours[2]
    assert track_color(0) == (160, 160, 160)
