"""Training augmentation in feature space (cheap, vectorised, and exact for the geometric
ones: positions and velocities are linear in the normalised coordinates, and missing joints at 0
stay at 0 under rotation and scaling)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from act_ros.layouts import NUM_REDUCED_JOINTS
from act_ros.preprocessing import flip_features, pad_front


@dataclass(frozen=True)
class Augmentation:
    flip_prob: float = 0.5  # mirror + swap left/right (paper: p = 0.5)
    noise_std: float = 0.03  # Gaussian noise on all features (paper: 0.03)
    rotate_deg: float = 0.0  # uniform in-plane rotation +- degrees (camera roll)
    scale_range: float = 0.0  # independent x / y scale in 1 +- range (body shape, aspect)
    # Horizontal-only scale, log-uniform in [1/yaw_scale, yaw_scale]: a 2-D stand-in for seeing
    # the person from another side (camera yaw foreshortens x: stride width, arm swing).
    yaw_scale: float = 1.0
    crop_prob: float = 0.0  # keep a random 1/2..1 of the window, pad the front
    joint_dropout: float = 0.0  # probability that a joint is missing in a frame

    @property
    def geometric(self) -> bool:
        return self.rotate_deg > 0 or self.scale_range > 0 or self.yaw_scale > 1


def augment(features: np.ndarray, aug: Augmentation, rng: np.random.Generator) -> np.ndarray:
    """(N, T, 52) -> augmented copy."""
    x = np.array(features, dtype=np.float32, copy=True)
    n, t, _ = x.shape
    if aug.crop_prob > 0:
        crop = rng.random(n) < aug.crop_prob
        for i in np.flatnonzero(crop):
            keep = int(rng.integers(max(2, t // 2), t + 1))
            start = int(rng.integers(0, t - keep + 1))
            window = x[i, start : start + keep].copy()
            window.reshape(keep, NUM_REDUCED_JOINTS, 4)[0, :, 2:] = 0.0  # v[0] = 0
            x[i] = pad_front(window, t)
    if aug.flip_prob > 0:
        flip = rng.random(n) < aug.flip_prob
        x[flip] = flip_features(x[flip])
    j = x.reshape(n, t, NUM_REDUCED_JOINTS, 2, 2)  # joint, (position|velocity), (x|y)
    if aug.scale_range > 0:
        s = rng.uniform(1 - aug.scale_range, 1 + aug.scale_range, (n, 1, 1, 1, 2))
        j *= s.astype(np.float32)
    if aug.yaw_scale > 1:
        k = np.log(aug.yaw_scale)
        j[..., 0] *= np.exp(rng.uniform(-k, k, (n, 1, 1, 1))).astype(np.float32)
    if aug.rotate_deg > 0:
        a = np.deg2rad(rng.uniform(-aug.rotate_deg, aug.rotate_deg, n))
        c, s = np.cos(a)[:, None, None, None], np.sin(a)[:, None, None, None]
        xs, ys = j[..., 0].copy(), j[..., 1].copy()
        j[..., 0] = (c * xs - s * ys).astype(np.float32)
        j[..., 1] = (s * xs + c * ys).astype(np.float32)
    if aug.joint_dropout > 0:
        drop = rng.random((n, t, NUM_REDUCED_JOINTS)) < aug.joint_dropout
        j[drop] = 0.0
        j[:, 1:, :, 1][drop[:, :-1]] = 0.0  # velocity after a missing joint is 0 too
    if aug.noise_std > 0:
        x += rng.normal(0.0, aug.noise_std, x.shape).astype(np.float32)
    return x
