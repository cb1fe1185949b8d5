"""THE pose -> AcT feature function. Training, evaluation and the AcT node all call
:func:`pad_window` then :func:`pose_features`, so the model always sees the same windows and
the same features.

Features (paper Sec. III, ``FEATURE_SPEC``): every frame's keypoints are reduced to 13 joints
(``layouts.REDUCED_JOINT_NAMES``; a reduced joint is the mean of its non-missing source
keypoints), centred on the origin (neck if the layout has one, else mid-shoulders) and divided
by the torso length (origin to mid-hips). Velocities are differences of the normalised
positions, ``v[t] = p[t] - p[t-1]`` and ``v[0] = 0``. Per joint ``[x, y, vx, vy]`` -> 52.

Missing data, decided here once for everyone:

* A keypoint is *missing* when its confidence is not > 0, or any of x, y, confidence is NaN/inf,
  or |x| or |y| exceeds ``MAX_ABS_COORD`` (a corrupt value, not a position).
* A missing reduced joint gets position (0, 0), i.e. the origin, never ``-origin/scale``; its
  velocity is 0 whenever it is missing in this frame or the previous one.
* A frame whose keypoints are all missing (*missing frame*) gives 52 zeros, and so does every
  frame of an all-missing window. MPOSE2021's zero-filled tail frames are missing frames.
* The scale of a frame without a usable torso (origin or hips missing, or a degenerate length)
  is the median torso length of the window's other frames; a frame's scale is never below
  ``MIN_RELATIVE_SCALE`` times that median (a person bending over keeps sane features). A window
  with no usable torso at all uses a third of the largest body extent, else 1.
* A frame without an origin joint takes mid-hips + the window's mean hip-to-origin vector, else
  the centroid of its valid joints.
* Every output value is clipped to [-``FEATURE_CLIP``, ``FEATURE_CLIP``]: the output is finite
  for any input.

Windows shorter than the model's T (a person who just appeared; a training clip shorter than T,
which MPOSE2021 and the .npz format zero-fill at the END): :func:`pad_window` makes them T
frames, one way for everyone. Trailing frames without any keypoint are padding, not
observations, and are dropped; the rest is front-padded by repeating its earliest frame.
Repeated frames have zero velocity and the first real frame has ``v = 0`` exactly as
``v[0] = 0``, so a padded window looks like a person who stood still before the window began.
Dataset features (``PoseDataset.features``, hence training and evaluation) and the AcT node
(``recognizer``) both pad this way, always to the model's T, so a person's result does not
depend on who else is in the batch. (The exported models also accept fewer than T frames.)

Coordinates are expected in pixels (any consistent unit works: only ratios matter; the tiny
``MIN_SCALE`` keeps [0, 1]-normalised input scaled too, unlike the reference demo).
"""

from __future__ import annotations

import numpy as np

from act_ros.layouts import (
    COCO17,
    FLIP_INDEX,
    NUM_REDUCED_JOINTS,
    REDUCED_FLIP_INDEX,
    REDUCED_JOINT_NAMES,
    hip_groups,
    num_keypoints,
    origin_groups,
    reduction_groups,
)

PREPROCESSING_VERSION = 1
NUM_FEATURES = 4 * NUM_REDUCED_JOINTS  # 52
FEATURE_SPEC = (
    "act13-xyvxvy: 13 joints (" + ",".join(REDUCED_JOINT_NAMES) + "), per joint [x,y,vx,vy]; "
    "origin neck|mid-shoulders, scale origin-to-mid-hip, v[0]=0, missing joint=0"
)

MAX_ABS_COORD = 1.0e6
MIN_SCALE = 1.0e-6
MIN_RELATIVE_SCALE = 0.1
FEATURE_CLIP = 10.0

_CACHE: dict[str, tuple[np.ndarray, tuple[np.ndarray, ...], tuple[np.ndarray, ...]]] = {}


def _group_matrix(groups: tuple[tuple[int, ...], ...], k: int) -> np.ndarray:
    m = np.zeros((len(groups), k))
    for j, members in enumerate(groups):
        m[j, list(members)] = 1.0
    return m


def _layout_matrices(layout: str):
    if layout not in _CACHE:
        k = num_keypoints(layout)
        _CACHE[layout] = (
            _group_matrix(reduction_groups(layout), k),
            tuple(_group_matrix((g,), k) for g in origin_groups(layout)),
            tuple(_group_matrix((g,), k) for g in hip_groups(layout)),
        )
    return _CACHE[layout]


def _group_mean(matrix: np.ndarray, xy: np.ndarray, valid: np.ndarray):
    """Mean of the valid members of each group: (..., K, 2) -> (..., G, 2), (..., G) valid."""
    count = valid @ matrix.T
    total = matrix @ xy  # (G, K) @ (..., K, 2); invalid xy are already 0
    ok = count > 0
    mean = total / np.where(ok, count, 1.0)[..., None]
    return mean, ok


def _first_valid(matrices, xy, valid):
    """First group (in priority order) with a valid member, per frame: (..., 2), (...)."""
    point = np.zeros(xy.shape[:-2] + (2,))
    found = np.zeros(xy.shape[:-2], dtype=bool)
    for m in matrices:
        mean, ok = _group_mean(m, xy, valid)
        take = ok[..., 0] & ~found
        point = np.where(take[..., None], mean[..., 0, :], point)
        found |= take
    return point, found


def _window_median(values: np.ndarray, ok: np.ndarray) -> np.ndarray:
    """Median over the time axis (last) of the ``ok`` values; NaN where none is ok.
    (A masked sort: np.nanmedian goes through numpy.ma and dominated the run time.)"""
    t = values.shape[-1]
    if t == 0:
        return np.full(values.shape[:-1], np.nan)
    ordered = np.sort(np.where(ok, values, np.inf), axis=-1)
    count = ok.sum(axis=-1)
    lo = np.clip((count - 1) // 2, 0, t - 1)[..., None]
    hi = np.clip(count // 2, 0, t - 1)[..., None]
    median = 0.5 * (np.take_along_axis(ordered, lo, -1) + np.take_along_axis(ordered, hi, -1))
    return np.where(count > 0, median[..., 0], np.nan)


def _body_extent(joints: np.ndarray, jvalid: np.ndarray) -> np.ndarray:
    """A third of the largest x or y extent of the valid joints over the window (a torso-length
    stand-in for windows without any torso)."""
    m = jvalid[..., None]
    span = np.where(m, joints, -np.inf).max(-2) - np.where(m, joints, np.inf).min(-2)  # ..,T,2
    span = np.where(np.isfinite(span), span, 0.0)
    return span.max(-1).max(-1) / 3.0


def pose_features(poses: np.ndarray, layout: str = COCO17) -> np.ndarray:
    """AcT features of pose windows.

    poses: (..., T, K, 3) x, y (pixels), confidence (0 = missing), K = keypoints of ``layout``.
    Returns (..., T, 52) float32, finite for any input. Leading dims (people, samples) are
    independent windows.
    """
    arr = np.asarray(poses)
    k = num_keypoints(layout)
    if arr.ndim < 3 or arr.shape[-1] != 3 or arr.shape[-2] != k:
        raise ValueError(
            f"pose_features expects (..., T, {k}, 3) [x, y, confidence] for layout {layout!r}, "
            f"got shape {arr.shape}"
        )
    if not (
        np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer) or arr.dtype == bool
    ):
        raise TypeError(f"pose_features expects a numeric array, got dtype {arr.dtype}")
    if arr.size == 0:
        return np.zeros(arr.shape[:-2] + (NUM_FEATURES,), np.float32)

    with np.errstate(invalid="ignore", over="ignore"):
        data = arr.astype(np.float64)
        xy, conf = data[..., :2], data[..., 2]
        valid = (
            np.isfinite(conf) & (conf > 0) & np.isfinite(xy).all(-1) & (np.abs(xy) <= MAX_ABS_COORD).all(-1)
        )
    validf = valid.astype(np.float64)
    xy = np.where(valid[..., None], xy, 0.0)

    reduce_m, origin_ms, hip_ms = _layout_matrices(layout)
    joints, jvalid = _group_mean(reduce_m, xy, validf)  # (..., T, 13, 2), (..., T, 13)
    origin, ovalid = _first_valid(origin_ms, xy, validf)  # (..., T, 2), (..., T)
    hip, hvalid = _first_valid(hip_ms, xy, validf)

    # Frames without an origin: mid-hips + the window's mean hip->origin vector, else centroid.
    both = (ovalid & hvalid)[..., None]
    n_both = both.sum(axis=-2)  # (..., 1)
    torso_vec = np.where(both, origin - hip, 0.0).sum(axis=-2) / np.maximum(n_both, 1)
    from_hip = hip + torso_vec[..., None, :]
    n_valid = jvalid.sum(-1)
    centroid = (joints * jvalid[..., None]).sum(-2) / np.maximum(n_valid, 1)[..., None]
    use_hip = ~ovalid & hvalid & (n_both > 0)
    origin = np.where(ovalid[..., None], origin, np.where(use_hip[..., None], from_hip, centroid))

    # Scale: the frame's torso length, else the window median; floored relative to the median.
    raw = np.linalg.norm(origin - hip, axis=-1)
    sok = ovalid & hvalid & (raw > MIN_SCALE)
    median = _window_median(raw, sok)  # (...,)
    window_scale = median
    no_torso = ~np.isfinite(median)
    if np.any(no_torso):  # rare: only then is the body extent worth computing
        body = _body_extent(joints, jvalid)
        window_scale = np.where(no_torso, np.where(body > MIN_SCALE, body, 1.0), median)
    scale = np.where(sok, raw, window_scale[..., None])
    scale = np.maximum(scale, np.maximum(MIN_RELATIVE_SCALE * window_scale[..., None], MIN_SCALE))

    pos = (joints - origin[..., None, :]) / scale[..., None, None]
    pos = np.where(jvalid[..., None], pos, 0.0)
    vel = np.zeros_like(pos)
    both_t = (jvalid[..., 1:, :] & jvalid[..., :-1, :])[..., None]
    vel[..., 1:, :, :] = np.where(both_t, pos[..., 1:, :, :] - pos[..., :-1, :, :], 0.0)

    out = np.concatenate([pos, vel], axis=-1)  # (..., T, 13, 4)
    out = np.clip(np.nan_to_num(out, nan=0.0, posinf=0.0, neginf=0.0), -FEATURE_CLIP, FEATURE_CLIP)
    return out.reshape(out.shape[:-2] + (NUM_FEATURES,)).astype(np.float32)


def flip_poses(poses: np.ndarray, layout: str = COCO17, image_width: float | None = None) -> np.ndarray:
    """Mirror poses horizontally AND swap left/right joints (the reference forgot the swap).

    x -> image_width - x (or -x when ``image_width`` is None: features do not care). Missing
    keypoints stay (0, 0, 0). Works on (..., K, 3).
    """
    arr = np.asarray(poses, dtype=np.float64)
    k = num_keypoints(layout)
    if arr.ndim < 2 or arr.shape[-1] != 3 or arr.shape[-2] != k:
        raise ValueError(f"flip_poses expects (..., {k}, 3) for layout {layout!r}, got {arr.shape}")
    out = arr[..., list(FLIP_INDEX[layout]), :].copy()
    with np.errstate(invalid="ignore"):
        present = out[..., 2] > 0
    mirrored = -out[..., 0] if image_width is None else float(image_width) - out[..., 0]
    out[..., 0] = np.where(present, mirrored, 0.0)
    return out


_FEATURE_FLIP = np.array([4 * j + c for j in REDUCED_FLIP_INDEX for c in range(4)], dtype=np.int64)
_X_COLUMNS = np.array([4 * j + c for j in range(NUM_REDUCED_JOINTS) for c in (0, 2)])


def flip_features(features: np.ndarray) -> np.ndarray:
    """The features of the mirrored poses, computed from the features: negate x and vx and swap
    left/right joints. ``flip_features(pose_features(p)) == pose_features(flip_poses(p))``."""
    feats = np.asarray(features)
    if feats.shape[-1] != NUM_FEATURES:
        raise ValueError(f"expected (..., {NUM_FEATURES}) features, got {feats.shape}")
    out = feats[..., _FEATURE_FLIP].copy()
    out[..., _X_COLUMNS] *= -1
    return out


def pad_window(poses: np.ndarray, length: int) -> np.ndarray:
    """THE window of ``length`` frames the model sees, for training data and the node alike.

    poses: (..., t, K, 3). Frames after the last one with any keypoint (a zero-filled tail) are
    dropped; the latest ``length`` of the rest are kept and, if fewer, front-padded by repeating
    the earliest. A window without any keypoint stays all missing. Returns (..., length, K, 3)
    of the input's dtype: a new array, or the input itself when it needs no change.
    """
    arr = np.asarray(poses)
    if arr.ndim < 3 or arr.shape[-1] != 3:
        raise ValueError(f"pad_window expects (..., t, K, 3) poses, got shape {arr.shape}")
    if length < 1:
        raise ValueError(f"pad_window needs length >= 1, got {length}")
    t = arr.shape[-3]
    shape = arr.shape[:-3] + (length,) + arr.shape[-2:]
    if t == 0:
        return np.zeros(shape, arr.dtype)
    with np.errstate(invalid="ignore"):
        present = (arr[..., 2] > 0).any(axis=-1)  # (..., t)
    seen = present.any(axis=-1)
    end = np.where(seen, t - np.argmax(present[..., ::-1], axis=-1), 0)  # real frames
    if t == length and np.all(end == t):
        return arr  # full windows (the node's steady state, most training data)
    src = np.clip(np.arange(length) + (end - length)[..., None], 0, t - 1)
    out = np.take_along_axis(arr, src[..., None, None], axis=-3)
    if not seen.all():
        out[~seen] = 0
    return out


def pad_front(features: np.ndarray, length: int) -> np.ndarray:
    """:func:`pad_window` done on (..., t, 52) features (cheap, for augmentation and fixed-length
    graphs): the earliest frame repeated at the front with zero velocity. Longer input keeps its
    last ``length`` frames. Equals padding the poses wherever every frame has a torso (else up to
    the window-median scale fallback); unlike pad_window it keeps trailing missing frames."""
    feats = np.asarray(features, dtype=np.float32)
    t = feats.shape[-2]
    if t >= length:
        return feats[..., t - length :, :]
    if t == 0:
        return np.zeros(feats.shape[:-2] + (length, NUM_FEATURES), np.float32)
    first = feats[..., :1, :].copy()
    first.reshape(first.shape[:-1] + (NUM_REDUCED_JOINTS, 4))[..., 2:] = 0.0
    reps = np.repeat(first, length - t + 1, axis=-2)
    return np.concatenate([reps, feats[..., 1:, :]], axis=-2)
