"""The MediaPipe backend on real images: COCO-17 mapping, multi-person, VIDEO-mode timestamps."""

from __future__ import annotations

import numpy as np
import pytest

from footage import basketball_path, messi_path, vtest_path
from pose_fixtures import frame_stamp_ns, mediapipe_full, read_image_rgb, read_video_rgb  # noqa: F401

from act_ros.pose import COCO17_NAMES, PoseDetections, create_estimator
from act_ros.pose.boxes import duplicate_mask
from act_ros.pose.mediapipe_backend import MEDIAPIPE33_TO_COCO17, MediaPipePoseEstimator, landmarks_to_coco17

K = {name: i for i, name in enumerate(COCO17_NAMES)}


def _assert_sane(det: PoseDetections, width: int, height: int) -> None:
    kp = det.keypoints
    assert np.isfinite(kp).all() and np.isfinite(det.boxes).all()
    assert ((kp[..., 2] >= 0) & (kp[..., 2] <= 1)).all()
    seen = kp[..., 2] > 0
    assert (kp[..., 0][seen] >= 0).all() and (kp[..., 0][seen] < width).all()
    assert (kp[..., 1][seen] >= 0).all() and (kp[..., 1][seen] < height).all()
    assert (kp[..., :2][~seen] == 0).all()  # missing points: confidence 0 and x = y = 0
    for person, box in zip(kp, det.boxes):  # boxes contain every found keypoint
        pts = person[person[:, 2] > 0, :2]
        assert (pts >= box[:2] - 1e-3).all() and (pts <= box[2:] + 1e-3).all()


def test_coco17_mapping_on_a_real_person(mediapipe_full):  # noqa: F811
    image = read_image_rgb(messi_path())  # one player, facing the camera, full body
    det = mediapipe_full.estimate(image, 0)
    assert len(det) == 1
    _assert_sane(det, image.shape[1], image.shape[0])
    kp = det.keypoints[0]
    assert (kp[:, 2] > 0.3).sum() >= 15
    # Facing the camera: the person's left side is on the image's right.
    for left, right in (
        ("left_shoulder", "right_shoulder"),
        ("left_hip", "right_hip"),
        ("left_eye", "right_eye"),
        ("left_ear", "right_ear"),
    ):
        assert kp[K[left], 0] > kp[K[right], 0], (left, right)
    # Head above shoulders above hips above knees (image y grows downwards).
    shoulders_y = kp[[K["left_shoulder"], K["right_shoulder"]], 1].mean()
    hips_y = kp[[K["left_hip"], K["right_hip"]], 1].mean()
    knees_y = kp[[K["left_knee"], K["right_knee"]], 1].mean()
    assert kp[K["nose"], 1] < shoulders_y < hips_y < knees_y
    assert 0.5 < det.scores[0] <= 1.0
    assert det.track_ids.tolist() == [0]  # the estimator does not track


def test_multi_person_on_basketball1():
    """Two players: MediaPipe's face-keyed detector finds the one facing the camera at the default
    threshold; the other (in profile, partly out of frame) needs detection confidence 0.2."""
    image = read_image_rgb(basketball_path())
    h, w = image.shape[:2]
    with create_estimator("mediapipe", variant="full", num_poses=5) as est:
        default = est.estimate(image, 0)
    assert len(default) == 1
    assert default.boxes[0, 2] < w / 2  # the player on the left, facing the camera
    with create_estimator(
        "mediapipe", variant="full", num_poses=5, min_detection_confidence=0.2, min_presence_confidence=0.2
    ) as est:
        low = est.estimate(image, 0)
    assert len(low) == 2
    _assert_sane(low, w, h)
    centres = np.sort((low.boxes[:, 0] + low.boxes[:, 2]) / 2)
    assert centres[0] < w * 0.35 and centres[1] > w * 0.6  # one person on each side
    with create_estimator(
        "mediapipe", variant="full", num_poses=1, min_detection_confidence=0.2, min_presence_confidence=0.2
    ) as est:
        assert len(est.estimate(image, 0)) == 1  # num_poses caps it


def test_pedestrians_in_vtest_are_sane():
    """vtest.avi (1-8 small pedestrians, many seen from behind) is hard for MediaPipe's face-keyed
    detector. Measured on every 10th frame: the default thresholds find one person in 10 of 80
    frames (all between frames 510 and 600, a pedestrian walking towards the camera), threshold
    0.2 at most two people. That stretch must give well-formed people."""
    frames = read_video_rgb(vtest_path(), start=500, count=10, step=10)
    found = []
    with create_estimator("mediapipe", variant="full", num_poses=8) as est:
        for i, frame in enumerate(frames):
            det = est.estimate(frame, frame_stamp_ns(500 + i * 10, fps=10))
            _assert_sane(det, frame.shape[1], frame.shape[0])
            found.append(len(det))
    assert sum(n >= 1 for n in found) >= 5, found
    assert max(found) <= 2, found


def test_video_timestamps_may_repeat_and_go_backwards(mediapipe_full):  # noqa: F811
    image = read_image_rgb(messi_path())
    est = MediaPipePoseEstimator(variant="lite", num_poses=2)
    try:
        stamps = [
            5_000_000_000,
            5_000_000_000,
            5_000_000_100,
            5_033_000_000,  # repeated, +100 ns
            1_000_000_000,  # a bag loop: back to the start
            1_000_000_000,
            0,
            2**62,
        ]  # repeated again, zero, far future
        counts = [len(est.estimate(image, t)) for t in stamps]
        assert counts == [1] * len(stamps)
        assert est.resets == 2  # 5.033 s -> 1 s and 1 s -> 0 s
        # A stamp below the last one right after a reset restarts cleanly as well.
        assert len(est.estimate(image, 10)) == 1 and est.resets == 3
    finally:
        est.close()
    with pytest.raises(RuntimeError, match="after close"):
        est.estimate(image, 0)
    est.close()  # idempotent


def test_landmark_conversion_drops_points_outside_and_unsure():
    lm = np.zeros((1, 33, 4), np.float32)
    lm[0, :, :2] = 0.5
    lm[0, :, 2:] = 1.0
    lm[0, 0, :2] = [-0.1, 0.5]  # nose left of the image
    lm[0, 2, :2] = [0.5, 1.0]  # left eye on the bottom border: outside (pixel rows are < height)
    lm[0, 5, 2] = 0.05  # right eye barely visible
    lm[0, 7, 3] = np.nan  # left ear: not a number
    lm[0, 11, :2] = [0.25, 0.75]  # left shoulder
    kp, boxes, scores = landmarks_to_coco17(lm, width=200, height=100, min_keypoint_confidence=0.1)
    assert kp.shape == (1, 17, 3) and kp.dtype == np.float32
    for name in ("nose", "left_eye", "right_eye", "left_ear"):
        assert kp[0, K[name]].tolist() == [0.0, 0.0, 0.0], name
    assert kp[0, K["left_shoulder"]].tolist() == [50.0, 75.0, 1.0]
    assert kp[0, K["right_shoulder"]].tolist() == [100.0, 50.0, 1.0]
    assert boxes[0].tolist() == [50.0, 50.0, 100.0, 75.0]
    assert scores[0] == pytest.approx(13 / 17)
    assert MEDIAPIPE33_TO_COCO17[K["left_hip"]] == 23 and MEDIAPIPE33_TO_COCO17[K["right_ankle"]] == 28


def test_duplicate_poses_of_one_person_are_merged():
    boxes = np.array([[0, 0, 100, 200], [5, 5, 102, 198], [300, 0, 400, 200], [60, 0, 160, 200]])
    keep = duplicate_mask(boxes, np.array([0.8, 0.9, 0.7, 0.95]), iou_threshold=0.6)
    # 0 and 1 are the same person (IoU ~0.9): the better-scored 1 stays; 3 overlaps 1 by ~0.3.
    assert keep.tolist() == [False, True, True, True]
    assert duplicate_mask(boxes, np.ones(4), iou_threshold=1.0).all()


def test_bad_arguments_fail_clearly(tmp_path):
    with pytest.raises(ValueError, match="lite, full, heavy"):
        MediaPipePoseEstimator(variant="huge")
    with pytest.raises(ValueError, match="num_poses"):
        MediaPipePoseEstimator(num_poses=0)
    with pytest.raises(ValueError, match="min_detection_confidence"):
        MediaPipePoseEstimator(min_detection_confidence=1.5)
    with pytest.raises(ValueError, match="num_threads"):
        MediaPipePoseEstimator(num_threads=0)
    with pytest.raises(FileNotFoundError, match="nope.task"):
        MediaPipePoseEstimator(model_path=str(tmp_path / "nope.task"))
    broken = tmp_path / "broken.task"
    broken.write_bytes(b"not a zip at all")
    with pytest.raises(RuntimeError, match="cannot load the pose model bundle .*broken.task"):
        MediaPipePoseEstimator(model_path=str(broken))


def test_bad_images_are_rejected(mediapipe_full):  # noqa: F811
    with pytest.raises(ValueError, match="HxWx3"):
        mediapipe_full.estimate(np.zeros((48, 64), np.uint8), 0)
    with pytest.raises(ValueError, match="uint8"):
        mediapipe_full.estimate(np.zeros((48, 64, 3), np.float32), 0)
    with pytest.raises(ValueError, match="empty"):
        mediapipe_full.estimate(np.zeros((0, 64, 3), np.uint8), 0)
    # A non-contiguous view (a crop) is fine; a blank image has nobody in it.
    image = read_image_rgb(messi_path())
    assert len(mediapipe_full.estimate(image[:, ::-1], 1)) == 1
    assert len(mediapipe_full.estimate(np.zeros((120, 160, 3), np.uint8), 2)) == 0


def test_num_threads_above_one_is_accepted_but_reported(caplog):
    with caplog.at_level("WARNING"):
        est = MediaPipePoseEstimator(variant="lite", num_threads=4)
    est.close()
    assert est.num_threads == 1
    assert "no thread setting" in caplog.text
