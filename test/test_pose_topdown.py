"""The top-down backend on real footage with the real models: people found, keypoints in
full-image pixels (border crops, shifted and downscaled inputs), tracking reuse, limits."""

from __future__ import annotations

import numpy as np
import pytest

from footage import basketball_path, messi_path, vtest_path
from pose_fixtures import demo_frames, frame_stamp_ns, read_image_rgb, read_video_rgb

from act_ros.pose import COCO17_NAMES, PoseDetections, create_estimator
from act_ros.pose.blazepose_landmarks import Roi, refine_from_heatmap, roi_from_box, roi_from_landmarks
from act_ros.pose.boxes import inside_fraction
from act_ros.pose.topdown_backend import TopDownPoseEstimator

K = {name: i for i, name in enumerate(COCO17_NAMES)}


def _assert_sane(det: PoseDetections, width: int, height: int) -> None:
    kp = det.keypoints
    assert np.isfinite(kp).all() and np.isfinite(det.boxes).all() and np.isfinite(det.scores).all()
    assert ((kp[..., 2] >= 0) & (kp[..., 2] <= 1)).all()
    seen = kp[..., 2] > 0
    assert (kp[..., 0][seen] >= 0).all() and (kp[..., 0][seen] < width).all()
    assert (kp[..., 1][seen] >= 0).all() and (kp[..., 1][seen] < height).all()
    assert (kp[..., :2][~seen] == 0).all()
    assert (
        (det.boxes[:, :2] >= 0).all()
        and (det.boxes[:, 2] <= width).all()
        and (det.boxes[:, 3] <= height).all()
    )
    for person, box in zip(kp, det.boxes):
        pts = person[person[:, 2] > 0, :2]
        assert (pts >= box[:2] - 1e-3).all() and (pts <= box[2:] + 1e-3).all()


@pytest.fixture(scope="module")
def full():
    with create_estimator("topdown", variant="full", num_poses=20) as est:
        yield est


def _single(est: TopDownPoseEstimator, image: np.ndarray) -> PoseDetections:
    est.reset()  # one image: no crops carried over from another picture
    return est.estimate(image, 0)


def test_one_person_coco17_orientation(full):
    image = read_image_rgb(messi_path())
    det = _single(full, image)
    assert len(det) == 1
    _assert_sane(det, image.shape[1], image.shape[0])
    kp = det.keypoints[0]
    assert (kp[:, 2] > 0.5).sum() >= 13
    for left, right in (("left_shoulder", "right_shoulder"), ("left_hip", "right_hip")):
        assert kp[K[left], 0] > kp[K[right], 0]  # facing the camera
    ys = [
        kp[[K[a], K[b]], 1].mean()
        for a, b in (
            ("left_shoulder", "right_shoulder"),
            ("left_hip", "right_hip"),
            ("left_knee", "right_knee"),
        )
    ]
    assert kp[K["nose"], 1] < ys[0] < ys[1] < ys[2]
    assert det.track_ids.tolist() == [0]


def test_both_basketball_players_are_found(full):
    """MediaPipe's default thresholds find only the player facing the camera (test_pose_mediapipe)."""
    image = read_image_rgb(basketball_path())
    det = _single(full, image)
    assert len(det) == 2
    _assert_sane(det, image.shape[1], image.shape[0])
    centres = np.sort((det.boxes[:, 0] + det.boxes[:, 2]) / 2)
    assert centres[0] < image.shape[1] * 0.35 and centres[1] > image.shape[1] * 0.6


def test_keypoints_follow_a_shifted_and_padded_image(full):
    image = read_image_rgb(messi_path())
    reference = _single(full, image).keypoints[0]
    dx, dy = 137, 61
    canvas = np.full((image.shape[0] + 200, image.shape[1] + 300, 3), 90, np.uint8)
    canvas[dy : dy + image.shape[0], dx : dx + image.shape[1]] = image
    shifted = _single(full, canvas)
    assert len(shifted) == 1
    both = (reference[:, 2] > 0.5) & (shifted.keypoints[0, :, 2] > 0.5)
    assert both.sum() >= 12
    err = np.linalg.norm(shifted.keypoints[0, both, :2] - (reference[both, :2] + [dx, dy]), axis=1)
    height = np.ptp(reference[reference[:, 2] > 0.5, 1])
    assert np.median(err) < 0.03 * height, err


def test_a_person_cut_by_the_image_border(full):
    """Crops reach past the border (black there); the visible keypoints stay where they were."""
    image = read_image_rgb(messi_path())
    reference = _single(full, image).keypoints[0]
    hips_y = int(reference[[K["left_hip"], K["right_hip"]], 1].mean())
    top = image[: hips_y + 20]  # the legs are cut off
    det = _single(full, top)
    assert len(det) >= 1  # the player (spectators in the blurred stands may be found too)
    _assert_sane(det, top.shape[1], top.shape[0])
    player = int(
        np.argmin(np.linalg.norm(det.keypoints[:, K["nose"], :2] - reference[K["nose"], :2], axis=1))
    )
    kp = det.keypoints[player]
    upper = [K[n] for n in ("nose", "left_shoulder", "right_shoulder", "left_elbow", "right_elbow")]
    assert (kp[upper, 2] > 0.3).all()
    err = np.linalg.norm(kp[upper, :2] - reference[upper, :2], axis=1)
    assert err.max() < 0.1 * hips_y, err


def test_downscaled_input_maps_back_to_full_image_pixels():
    from act_ros.pose.pipeline import PosePipeline
    from act_ros.pose.tracking import PoseTracker

    image = read_image_rgb(messi_path())
    with create_estimator("topdown", variant="full") as est:
        reference = _single(est, image).keypoints[0]
        est.reset()
        pipeline = PosePipeline(est, PoseTracker(), max_image_width=image.shape[1] // 2)
        det = pipeline.process(image, 0)
    assert len(det) == 1
    both = (reference[:, 2] > 0.5) & (det.keypoints[0, :, 2] > 0.5)
    assert both.sum() >= 12
    err = np.linalg.norm(det.keypoints[0, both, :2] - reference[both, :2], axis=1)
    assert np.median(err) < 6.0, err  # pixels of the full image (2x downscale: ~2 px per pixel)


def test_roi_transform_and_rotation():
    roi = Roi(300.0, 200.0, 128.0, 0.0)
    m = roi.crop_to_image()
    assert np.allclose(m @ [128, 128, 1], [300, 200]) and np.allclose(m @ [0, 0, 1], [236, 136])
    assert np.allclose(roi.box(), [236, 136, 364, 264])
    box = roi_from_box(np.array([10, 20, 50, 120]), 1.25)
    assert (box.cx, box.cy, box.size, box.rotation) == (30, 70, 125, 0)
    lm = np.zeros((39, 4), np.float32)
    lm[33, :2], lm[34, :2] = (100, 100), (160, 100)  # body axis pointing right: lying person
    roi = roi_from_landmarks(lm)
    up = roi.crop_to_image()[:, :2] @ [0, -1]
    assert np.allclose(up / np.linalg.norm(up), [1, 0]) and np.isclose(roi.size, 2 * 60 * 1.25)


def test_heatmap_refinement_finds_the_peak_and_respects_the_border():
    heatmap = np.full((64, 64, 39), -10.0, np.float32)  # sigmoid ~0: no confidence anywhere
    heatmap[20, 30, 0] = heatmap[20, 31, 0] = 4.0  # landmark 0: a peak between cells 30 and 31
    heatmap[0, 0, 1] = 4.0  # landmark 1: a peak in the corner, its window cut by the border
    heatmap[40, 40, 2] = -0.5  # landmark 2: below the 0.5 confidence a refinement needs
    xy = np.array([[122.0, 82.0], [6.0, 6.0], [162.0, 162.0], [-30.0, 100.0]] + [[300.0, 300.0]] * 29)
    out = refine_from_heatmap(xy, heatmap)
    assert np.allclose(out[0], [30.5 * 4, 20 * 4], atol=0.1)  # heatmap cells are 4 input pixels
    assert np.allclose(out[1], [0, 0], atol=0.1)
    assert np.array_equal(out[2:], xy[2:])  # unconfident, and outside the heatmap: unchanged


def test_inside_fraction_is_the_share_of_each_box_inside_the_others():
    boxes = np.array([[10, 10, 20, 20], [0, 0, 40, 40], [35, 0, 45, 10], [5, 5, 5, 9]], np.float32)
    person = np.array([[0, 0, 40, 40]], np.float32)
    np.testing.assert_allclose(inside_fraction(boxes, person)[:, 0], [1.0, 1.0, 0.5, 0.0])
    np.testing.assert_allclose(inside_fraction(person, boxes)[0], [100 / 1600, 1.0, 50 / 1600, 0.0])


def test_nobody_in_the_image(full):
    frame = read_video_rgb(vtest_path(), start=300, count=1)[0]
    grass = np.ascontiguousarray(frame[330:])  # lawn with a tripod and litter, no people
    assert len(_single(full, grass)) == 0
    assert len(_single(full, np.zeros((480, 640, 3), np.uint8))) == 0
    det = _single(full, np.full((10, 10, 3), 128, np.uint8))  # tiny image: no crash
    assert isinstance(det, PoseDetections)


def test_many_pedestrians_bounded_by_num_poses():
    frames = read_video_rgb(vtest_path(), start=640, count=61)
    for num_poses, low, high in ((20, 7, 14), (3, 3, 3)):
        with create_estimator("topdown", variant="lite", num_poses=num_poses) as est:
            counts = [len(est.estimate(f, i * 100_000_000)) for i, f in enumerate(frames)]
        assert low <= counts[-1] <= high and max(counts) <= num_poses, counts


def test_tracking_reuse_runs_the_detector_less_and_keeps_the_people():
    frames = demo_frames()[60:140]
    results = {}
    for interval in (1, 10):
        with create_estimator("topdown", variant="lite", detection_interval=interval) as est:
            counts = [len(est.estimate(f, frame_stamp_ns(60 + i))) for i, f in enumerate(frames)]
            results[interval] = (counts, est.detector_runs, est.crops)
    every, reuse = results[1], results[10]
    assert every[1] == len(frames)
    assert reuse[1] <= len(frames) // 10 + 5  # plus re-detections after a lost track
    # Both people on (nearly) every frame either way.
    assert sum(c == 2 for c in every[0]) >= 0.9 * len(frames)
    assert sum(c == 2 for c in reuse[0]) >= 0.9 * len(frames)
    # Detector boxes of people already tracked (or of a part of them) are not cropped again: one
    # landmark call per person found (measured 160 for 160; 173 before containment counted).
    assert every[2] <= 1.03 * sum(every[0])


def test_time_going_backwards_drops_the_tracked_crops(full):
    frames = demo_frames()[80:83]
    full.reset()
    for i, f in enumerate(frames):
        full.estimate(f, frame_stamp_ns(80 + i))
    runs, resets = full.detector_runs, full.resets
    full.estimate(frames[0], frame_stamp_ns(80))  # a bag loop
    assert full.resets == resets + 1 and full.detector_runs == runs + 1


def test_bad_input_and_parameters_fail_clearly(full):
    with pytest.raises(ValueError, match="HxWx3"):
        full.estimate(np.zeros((10, 10), np.uint8), 0)
    for kwargs in (
        {"variant": "huge"},
        {"num_poses": 0},
        {"detection_interval": 0},
        {"crop_margin": 0.5},
        {"min_detection_confidence": 0.0},
        {"min_presence_confidence": 1.5},
        {"num_threads": 0},
    ):
        with pytest.raises(ValueError):
            TopDownPoseEstimator(**kwargs)
    with create_estimator("topdown", variant="lite") as est:
        pass
    with pytest.raises(RuntimeError, match="after close"):
        est.estimate(np.zeros((64, 64, 3), np.uint8), 0)


def test_pipeline_from_parameters_and_many_people_bounded_by_max_people():
    """The node's own assembly: the parameters reach the backend; on the street footage more
    people are tracked than the AcT node's max_people, and the extra ones are counted."""
    from act_ros.assembly import pose_pipeline_from_parameters, recognizer_from_parameters

    pipeline = pose_pipeline_from_parameters(
        {"model_variant": "lite", "detection_interval": 3, "detector_threshold": 0.3, "crop_margin": 1.3}
    )
    recognizer = recognizer_from_parameters({"max_people": 3})
    try:
        est = pipeline.estimator
        assert isinstance(est, TopDownPoseEstimator) and est.variant == "lite"
        assert (est.detection_interval, est.min_detection_confidence, est.crop_margin) == (3, 0.3, 1.3)
        frames = read_video_rgb(vtest_path(), start=680, count=30)
        tracked = []
        for i, frame in enumerate(frames):
            stamp = 1_000_000_000 + i * 100_000_000
            det = pipeline.process(frame, stamp)
            tracked.append(int((det.track_ids > 0).sum()))
            recognizer.update(stamp, det.track_ids, det.keypoints)
    finally:
        pipeline.close()
    assert max(tracked) >= 6, tracked
    assert recognizer.num_tracks == 3
    assert recognizer.stats.counters["over_capacity_people"] >= sum(max(0, n - 3) for n in tracked) // 2
