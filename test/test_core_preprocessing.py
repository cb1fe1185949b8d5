"""pose_features / flip: edge cases of missing data, corrupt values, shapes; on real LZQ poses."""

from __future__ import annotations

import numpy as np
import pytest

from act_ros.layouts import (
    BODY25,
    COCO17,
    COCO18,
    FLIP_INDEX,
    KEYPOINT_NAMES,
    LAYOUTS,
    MEDIAPIPE33,
    REDUCED_JOINT_NAMES,
    num_keypoints,
    to_coco17,
)
from act_ros.preprocessing import (
    FEATURE_CLIP,
    NUM_FEATURES,
    flip_features,
    flip_poses,
    pad_front,
    pad_window,
    pose_features,
)
from core_fixtures import lzq_windows

pytestmark = pytest.mark.emulated  # arm64 check: the float math of every model input


@pytest.fixture(scope="module")
def real():
    """(N, 30, 17, 3) real COCO-17 windows (pixels) from the LZQ recordings."""
    return lzq_windows(n=24)


def _xy(features):
    return features.reshape(features.shape[:-1] + (13, 4))


def test_shapes_and_dtype(real):
    f = pose_features(real)
    assert f.shape == real.shape[:2] + (NUM_FEATURES,) and f.dtype == np.float32
    assert pose_features(real[0]).shape == (30, 52)  # no leading dims
    assert pose_features(real[:4].reshape(2, 2, 30, 17, 3)).shape == (2, 2, 30, 52)
    assert np.allclose(pose_features(real[3]), f[3], atol=1e-6)  # rows are independent
    assert pose_features(np.zeros((0, 30, 17, 3))).shape == (0, 30, 52)


@pytest.mark.parametrize("shape", [(30, 17), (30, 17, 2), (30, 18, 3), (17, 3)])
def test_wrong_shapes_are_refused_with_the_expected_shape(shape):
    with pytest.raises(ValueError, match=r"\(\.\.\., T, 17, 3\)"):
        pose_features(np.zeros(shape))


def test_non_numeric_is_refused():
    with pytest.raises(TypeError):
        pose_features(np.full((30, 17, 3), "a"))


def test_velocity_zero_first_and_difference_after(real):
    f = _xy(pose_features(real))
    assert np.all(f[:, 0, :, 2:] == 0)
    pos, vel = f[..., :2], f[..., 2:]
    present = np.any(pos != 0, axis=-1, keepdims=True)  # missing joints sit at 0
    both = present[:, 1:] & present[:, :-1]
    diff = pos[:, 1:] - pos[:, :-1]
    assert both.mean() > 0.9
    assert np.allclose(np.where(both, vel[:, 1:], 0), np.where(both, diff, 0), atol=1e-5)


def test_scale_and_translation_invariance(real):
    moved = real.copy()
    moved[..., :2] = moved[..., :2] * 2.5 + np.array([300.0, -120.0])
    assert np.allclose(pose_features(moved), pose_features(real), atol=1e-5)


def test_normalised_input_is_still_scaled(real):
    """[0, 1] coordinates (reference demo bug: its floor of 1 disabled scaling)."""
    small = real.copy()
    small[..., :2] /= 640.0
    assert np.allclose(pose_features(small), pose_features(real), atol=1e-4)


def test_origin_is_mid_shoulders_and_torso_is_unit():
    pose = np.zeros((1, 17, 3))
    pose[0, :, 2] = 1
    pose[0, :, :2] = [320, 100]
    pose[0, 5, :2], pose[0, 6, :2] = [340, 200], [300, 200]  # shoulders -> origin (320, 200)
    pose[0, 11, :2], pose[0, 12, :2] = [330, 300], [310, 300]  # mid-hip (320, 300): scale 100
    f = _xy(pose_features(pose))[0]
    names = list(REDUCED_JOINT_NAMES)
    assert np.allclose(f[names.index("left_shoulder"), :2], [0.2, 0.0])
    assert np.allclose(f[names.index("left_hip"), :2], [0.1, 1.0])
    assert np.allclose(f[names.index("head"), :2], [0.0, -1.0])


def test_missing_joint_is_zero_not_a_bogus_coordinate(real):
    p = real[:1].copy()
    p[0, 10, 9] = 0.0  # left wrist missing in frame 10 (conf 0)
    f = _xy(pose_features(p))[0]
    j = REDUCED_JOINT_NAMES.index("left_wrist")
    assert np.all(f[10, j] == 0)  # position at origin, velocity 0
    assert np.all(f[11, j, 2:] == 0)  # velocity after a missing joint: 0
    # Other joints are untouched by it.
    ref = _xy(pose_features(real[:1]))[0]
    others = [i for i in range(13) if i != j]
    assert np.allclose(f[:, others], ref[:, others], atol=1e-6)


def test_head_is_mean_of_present_head_points(real):
    p = real[:1].copy()
    p[0, :, 1:5, 2] = 0  # only the nose left
    q = p.copy()
    q[0, :, 1:5, :2] = 12345.0  # coordinates of missing points do not matter
    assert np.allclose(pose_features(p), pose_features(q))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf, 1e300, -1e12])
def test_corrupt_values_give_finite_features_and_count_as_missing(real, bad):
    p = real[:2].copy()
    p[0, 5, 7, 0] = bad  # one coordinate
    p[0, 6, :, 1] = bad  # a whole frame
    p[1, :, 3, 2] = bad  # a confidence
    f = pose_features(p)
    assert np.isfinite(f).all() and np.abs(f).max() <= FEATURE_CLIP
    j = REDUCED_JOINT_NAMES.index("left_elbow")
    assert np.all(_xy(f)[0, 5, j] == 0)
    assert np.all(f[0, 6] == 0)


def test_all_missing_and_missing_frames(real):
    assert np.all(pose_features(np.zeros((3, 30, 17, 3))) == 0)
    assert np.all(pose_features(np.full((30, 17, 3), np.nan)) == 0)
    p = real[:1].copy()
    p[0, 20:] = 0  # MPOSE-style zero-filled tail
    f = pose_features(p)[0]
    assert np.all(f[20:] == 0)
    assert np.allclose(f[:20], pose_features(real[:1, :20])[0], atol=1e-5)


def test_frames_without_torso_use_the_window_scale(real):
    p = real[:1].copy()
    p[0, 4, 5:7, 2] = 0  # no shoulders in frame 4
    p[0, 8, 11:13, 2] = 0  # no hips in frame 8
    f = pose_features(p)
    assert np.isfinite(f).all()
    assert np.abs(f[0, [4, 8]]).max() < 5  # stays body-sized, not blown up
    ref = pose_features(real[:1])
    knees = [REDUCED_JOINT_NAMES.index("left_knee"), REDUCED_JOINT_NAMES.index("right_knee")]
    assert np.allclose(_xy(f)[0, 4, knees, :2], _xy(ref)[0, 4, knees, :2], atol=0.3)


def test_degenerate_torso_and_single_joint():
    p = np.zeros((30, 17, 3))
    p[:, 0] = [100, 100, 1]  # only a nose
    assert np.all(pose_features(p) == 0)
    q = np.ones((30, 17, 3))  # every joint at the same point
    assert np.all(pose_features(q) == 0)


def test_flip_swaps_left_and_right(real):
    f = flip_poses(real[0], COCO17, image_width=640)
    names = KEYPOINT_NAMES[COCO17]
    li, ri = names.index("left_wrist"), names.index("right_wrist")
    assert np.allclose(f[:, li, 0], 640 - real[0][:, ri, 0])
    assert np.allclose(f[:, li, 1], real[0][:, ri, 1])
    assert np.array_equal(flip_poses(f, COCO17, image_width=640), real[0])
    # Features of flipped poses = flipped features (x negated, left/right joints swapped).
    assert np.allclose(pose_features(flip_poses(real)), flip_features(pose_features(real)), atol=1e-5)
    assert not np.allclose(flip_features(pose_features(real)), pose_features(real))


@pytest.mark.parametrize("layout", LAYOUTS)
def test_flip_index_is_an_involution_swapping_sides(layout):
    idx = FLIP_INDEX[layout]
    names = KEYPOINT_NAMES[layout]
    assert sorted(idx) == list(range(len(names)))
    for i, j in enumerate(idx):
        assert idx[j] == i
        if "left" in names[i]:
            assert names[j] == names[i].replace("left", "right")


@pytest.mark.parametrize("layout", [BODY25, COCO18, MEDIAPIPE33])
def test_other_layouts_match_coco17_features(real, layout):
    """A pose expressed in another layout gives (nearly) the same features as in COCO-17."""
    k = num_keypoints(layout)
    names = KEYPOINT_NAMES[layout]
    poses = np.zeros(real.shape[:2] + (k, 3))
    for i, n in enumerate(KEYPOINT_NAMES[COCO17]):
        poses[..., names.index(n), :] = real[..., i, :]
    assert np.allclose(to_coco17(poses, layout), real)
    if "neck" in names:  # the neck is the mid-shoulders
        poses[..., names.index("neck"), :] = (real[..., 5, :] + real[..., 6, :]) / 2
    if "mid_hip" in names:
        poses[..., names.index("mid_hip"), :] = (real[..., 11, :] + real[..., 12, :]) / 2
    diff = np.abs(pose_features(poses, layout) - pose_features(real))
    both_shoulders = (real[..., 5, 2] > 0) & (real[..., 6, 2] > 0)
    both_hips = (real[..., 11, 2] > 0) & (real[..., 12, 2] > 0)
    ok = both_shoulders.all(-1) & both_hips.all(-1)
    assert ok.sum() > 5
    assert diff[ok].max() < 1e-4


def test_pad_front_repeats_the_earliest_frame(real):
    f = pose_features(real[:3, 10:])
    padded = pad_front(f, 30)
    assert padded.shape == (3, 30, 52)
    assert np.array_equal(padded[:, -19:], f[:, 1:])
    assert np.allclose(padded[:, :11], f[:, :1])
    poses = np.concatenate([np.repeat(real[:3, 10:11], 10, axis=1), real[:3, 10:]], axis=1)
    assert np.allclose(pose_features(poses), padded, atol=1e-3)


def test_hot_path_batch_of_people(real):
    """The node's call: N people x (t, 17, 3) in one call, float32 in, finite out."""
    windows = real[:8, :17].astype(np.float32)
    out = pose_features(windows)
    assert out.shape == (8, 17, 52) and np.isfinite(out).all()


def test_pad_window_holds_the_first_pose_before_a_short_clip(real):
    clip = real[0, :12]
    padded = pad_window(clip, 30)
    assert padded.shape == (30, 17, 3) and padded.dtype == clip.dtype
    assert np.array_equal(padded[-12:], clip)
    assert np.array_equal(padded[:18], np.repeat(clip[:1], 18, axis=0))
    # A zero-filled tail (MPOSE2021's and the .npz format's short samples) is padding, not
    # frames: the same clip stored that way gives the same window.
    stored = np.zeros((30, 17, 3), clip.dtype)
    stored[:12] = clip
    assert np.array_equal(pad_window(stored, 30), padded)
    # Longer input keeps its latest frames; full windows come back unchanged.
    assert np.array_equal(pad_window(real[0], 10), real[0, -10:])
    full = real[0]
    assert pad_window(full, 30) is full
    assert not pad_window(np.zeros((0, 17, 3)), 30).any()


def test_pad_window_on_a_batch_of_different_lengths(real):
    batch = real[:3].copy()
    batch[1, 20:] = 0  # 20 real frames
    batch[2] = 0  # nothing at all
    out = pad_window(batch, 30)
    assert np.array_equal(out[0], real[0])
    assert np.array_equal(out[1], pad_window(real[1, :20], 30))
    assert not out[2].any()
    with pytest.raises(ValueError, match=r"\(\.\.\., t, K, 3\)"):
        pad_window(np.zeros((30, 17)), 30)


def test_pad_front_on_features_is_pad_window_on_poses(real):
    """The cheap feature-space padding (augmentation) equals padding the poses where every
    frame has a torso."""
    both_shoulders = (real[..., 5, 2] > 0) & (real[..., 6, 2] > 0)
    both_hips = (real[..., 11, 2] > 0) & (real[..., 12, 2] > 0)
    ok = np.flatnonzero((both_shoulders & both_hips).all(-1))[:4]
    assert len(ok) >= 2
    clips = real[ok, 18:]
    assert np.allclose(pad_front(pose_features(clips), 30), pose_features(pad_window(clips, 30)), atol=1e-5)
