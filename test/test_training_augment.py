"""Feature-space augmentation on real windows: exactness of flip/rotation/scale, missing joints
stay missing, temporal crop pads like the node, splits never share a frame."""

from __future__ import annotations

import numpy as np

from act_ros.layouts import COCO17
from act_ros.preprocessing import flip_features, flip_poses, pose_features
from act_ros.training.augment import Augmentation, augment
from core_fixtures import lzq_dataset, lzq_windows


def _rotate_poses(poses, deg):
    a = np.deg2rad(deg)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    out = poses.copy()
    out[..., :2] = poses[..., :2] @ rot.T
    return out


def test_flip_only_equals_flipping_the_poses():
    poses = lzq_windows(16)
    feats = pose_features(poses)
    out = augment(feats, Augmentation(flip_prob=1.0, noise_std=0.0), np.random.default_rng(0))
    assert np.allclose(out, pose_features(flip_poses(poses, COCO17)), atol=1e-5)
    assert np.allclose(flip_features(flip_features(feats)), feats)


def test_rotation_in_feature_space_equals_rotating_the_poses():
    poses = lzq_windows(8)
    feats = pose_features(poses)
    rng = np.random.default_rng(3)
    out = augment(feats, Augmentation(flip_prob=0, noise_std=0, rotate_deg=30), rng)
    angles = np.random.default_rng(3).uniform(-30, 30, 8)  # the draw augment makes
    for i in range(8):
        expected = pose_features(_rotate_poses(poses[i], angles[i]))
        assert np.allclose(out[i], expected, atol=1e-4)


def test_missing_joints_stay_missing_and_noise_has_the_right_scale():
    poses = lzq_windows(8)
    poses[:, :, 9:11, 2] = 0  # wrists missing everywhere
    feats = pose_features(poses)
    aug = Augmentation(flip_prob=0.5, noise_std=0.0, rotate_deg=20, scale_range=0.3)
    out = augment(feats, aug, np.random.default_rng(1))
    wrists = out.reshape(8, 30, 13, 4)[:, :, 5:7]
    assert np.all(wrists == 0)
    noisy = augment(feats, Augmentation(flip_prob=0, noise_std=0.03), np.random.default_rng(2))
    assert abs(np.std(noisy - feats) - 0.03) < 0.002


def test_temporal_crop_looks_like_the_node_padding_and_dropout_zeroes_joints():
    feats = pose_features(lzq_windows(50))
    out = augment(feats, Augmentation(flip_prob=0, noise_std=0, crop_prob=1.0), np.random.default_rng(0))
    j = out.reshape(50, 30, 13, 4)
    assert np.all(j[:, 0, :, 2:] == 0)  # v = 0 at the padded front
    repeated = np.all(out[:, :1] == out[:, :2], axis=(1, 2))
    assert repeated.mean() > 0.5  # most windows got front padding
    dropped = augment(
        feats, Augmentation(flip_prob=0, noise_std=0, joint_dropout=0.2), np.random.default_rng(0)
    ).reshape(50, 30, 13, 4)
    zero = np.all(dropped == 0, axis=-1)
    assert 0.15 < zero.mean() < 0.3


def test_lzq_splits_share_no_frames_and_windows_stay_in_their_segment():
    ds = lzq_dataset(30, 1)
    assert set(np.unique(ds.split)) == {"train", "val", "test"}
    for g in np.unique(ds.groups):
        assert len(set(ds.split[ds.groups == g])) == 1  # a segment has one split

    # Frames are unique per split: no test frame appears in a training window.
    def frames(part):
        return {p.tobytes() for w in ds.poses[ds.split == part] for p in w}

    train, test, val = frames("train"), frames("test"), frames("val")
    assert len(train & test) < 0.02 * len(test)  # only identical still-standing frames
    assert len(train & val) < 0.02 * len(val)
    assert ds.class_counts()["fall_down"] > 0 and len(ds.class_names) == 7


def test_yaw_scale_changes_only_horizontal_extent():
    feats = pose_features(lzq_windows(20))
    out = augment(feats, Augmentation(flip_prob=0, noise_std=0, yaw_scale=2.0), np.random.default_rng(4))
    a, b = feats.reshape(20, 30, 13, 2, 2), out.reshape(20, 30, 13, 2, 2)
    assert np.array_equal(a[..., 1], b[..., 1])  # y and vy untouched
    nz = np.abs(a[..., 0]) > 1e-3
    ratio = b[..., 0][nz] / a[..., 0][nz]
    assert ratio.min() >= 0.5 - 1e-5 and ratio.max() <= 2.0 + 1e-5
    assert len(np.unique(np.round(ratio, 4))) > 5  # differs between windows
