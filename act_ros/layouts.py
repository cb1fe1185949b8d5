"""Keypoint layouts: joint names, left/right mirror permutations, conversions to COCO-17 and the
joint groups that AcT's preprocessing reduces every layout to (13 joints).

Layouts are plain strings so that they travel in JSON model descriptions and ROS parameters.
"""

from __future__ import annotations

import numpy as np

COCO17 = "coco17"
BODY25 = "body25"
COCO18 = "coco18"
MEDIAPIPE33 = "mediapipe33"

KEYPOINT_NAMES: dict[str, tuple[str, ...]] = {
    COCO17: (
        "nose",
        "left_eye",
        "right_eye",
        "left_ear",
        "right_ear",
        "left_shoulder",
        "right_shoulder",
        "left_elbow",
        "right_elbow",
        "left_wrist",
        "right_wrist",
        "left_hip",
        "right_hip",
        "left_knee",
        "right_knee",
        "left_ankle",
        "right_ankle",
    ),
    # OpenPose BODY_25 (MPOSE2021's "openpose" variant).
    BODY25: (
        "nose",
        "neck",
        "right_shoulder",
        "right_elbow",
        "right_wrist",
        "left_shoulder",
        "left_elbow",
        "left_wrist",
        "mid_hip",
        "right_hip",
        "right_knee",
        "right_ankle",
        "left_hip",
        "left_knee",
        "left_ankle",
        "right_eye",
        "left_eye",
        "right_ear",
        "left_ear",
        "left_big_toe",
        "left_small_toe",
        "left_heel",
        "right_big_toe",
        "right_small_toe",
        "right_heel",
    ),
    # OpenPose COCO-18 (the LZQ CSV data). Note: right before left.
    COCO18: (
        "nose",
        "neck",
        "right_shoulder",
        "right_elbow",
        "right_wrist",
        "left_shoulder",
        "left_elbow",
        "left_wrist",
        "right_hip",
        "right_knee",
        "right_ankle",
        "left_hip",
        "left_knee",
        "left_ankle",
        "right_eye",
        "left_eye",
        "right_ear",
        "left_ear",
    ),
    # MediaPipe / BlazePose 33 landmarks.
    MEDIAPIPE33: (
        "nose",
        "left_eye_inner",
        "left_eye",
        "left_eye_outer",
        "right_eye_inner",
        "right_eye",
        "right_eye_outer",
        "left_ear",
        "right_ear",
        "mouth_left",
        "mouth_right",
        "left_shoulder",
        "right_shoulder",
        "left_elbow",
        "right_elbow",
        "left_wrist",
        "right_wrist",
        "left_pinky",
        "right_pinky",
        "left_index",
        "right_index",
        "left_thumb",
        "right_thumb",
        "left_hip",
        "right_hip",
        "left_knee",
        "right_knee",
        "left_ankle",
        "right_ankle",
        "left_heel",
        "right_heel",
        "left_foot_index",
        "right_foot_index",
    ),
}

LAYOUTS: tuple[str, ...] = tuple(KEYPOINT_NAMES)

# COCO-17 is the layout on the wire (msg/PersonPose2D.msg holds exactly these points, in this
# order), what every pose backend outputs and what the shipped models were trained on.
COCO17_NAMES: tuple[str, ...] = KEYPOINT_NAMES[COCO17]
NUM_KEYPOINTS: int = len(COCO17_NAMES)

# COCO-17 limbs for drawing (the usual skeleton of the COCO keypoint task), as joint indices.
COCO17_LIMBS: tuple[tuple[int, int], ...] = tuple(
    (COCO17_NAMES.index(a), COCO17_NAMES.index(b))
    for a, b in (
        ("left_ankle", "left_knee"),
        ("left_knee", "left_hip"),
        ("right_ankle", "right_knee"),
        ("right_knee", "right_hip"),
        ("left_hip", "right_hip"),
        ("left_shoulder", "left_hip"),
        ("right_shoulder", "right_hip"),
        ("left_shoulder", "right_shoulder"),
        ("left_shoulder", "left_elbow"),
        ("right_shoulder", "right_elbow"),
        ("left_elbow", "left_wrist"),
        ("right_elbow", "right_wrist"),
        ("left_eye", "right_eye"),
        ("nose", "left_eye"),
        ("nose", "right_eye"),
        ("left_eye", "left_ear"),
        ("right_eye", "right_ear"),
        ("left_ear", "left_shoulder"),
        ("right_ear", "right_shoulder"),
    )
)

# The 13 joints AcT works on (paper Sec. III), in the order of the feature vector. The same order
# for every input layout, so features mean the same thing whatever the pose estimator.
REDUCED_JOINT_NAMES: tuple[str, ...] = (
    "head",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
)
NUM_REDUCED_JOINTS = len(REDUCED_JOINT_NAMES)


def check_layout(layout: str) -> str:
    """Return ``layout`` if known, else raise ValueError listing the known layouts."""
    if layout not in KEYPOINT_NAMES:
        raise ValueError(f"unknown keypoint layout {layout!r}; known: {', '.join(LAYOUTS)}")
    return layout


def num_keypoints(layout: str) -> int:
    """Number of keypoints K of ``layout``."""
    return len(KEYPOINT_NAMES[check_layout(layout)])


def _mirror_name(name: str) -> str:
    for a, b in (("left", "right"), ("right", "left")):
        if a in name:
            return name.replace(a, b)
    return name


def _flip_index(names: tuple[str, ...]) -> tuple[int, ...]:
    position = {n: i for i, n in enumerate(names)}
    return tuple(position[_mirror_name(n)] for n in names)


# FLIP_INDEX[layout][i] = index of the mirror joint of joint i (left <-> right).
FLIP_INDEX: dict[str, tuple[int, ...]] = {lay: _flip_index(n) for lay, n in KEYPOINT_NAMES.items()}
REDUCED_FLIP_INDEX: tuple[int, ...] = _flip_index(REDUCED_JOINT_NAMES)


def _indices(layout: str, *names: str) -> tuple[int, ...]:
    position = {n: i for i, n in enumerate(KEYPOINT_NAMES[layout])}
    return tuple(position[n] for n in names)


# Source keypoints averaged (over the non-missing ones) into each of the 13 reduced joints.
_HEAD_NAMES = {
    COCO17: ("nose", "left_eye", "right_eye", "left_ear", "right_ear"),
    BODY25: ("nose", "right_eye", "left_eye", "right_ear", "left_ear"),
    COCO18: ("nose", "right_eye", "left_eye", "right_ear", "left_ear"),
    MEDIAPIPE33: KEYPOINT_NAMES[MEDIAPIPE33][:11],
}
# MPOSE2021 merges the OpenPose foot points into the ankles (BODY_25 only).
_ANKLE_EXTRA = {
    BODY25: {
        "left_ankle": ("left_big_toe", "left_small_toe", "left_heel"),
        "right_ankle": ("right_big_toe", "right_small_toe", "right_heel"),
    },
}


def reduction_groups(layout: str) -> tuple[tuple[int, ...], ...]:
    """For each reduced joint, the indices of the source keypoints averaged into it."""
    check_layout(layout)
    groups = [_indices(layout, *_HEAD_NAMES[layout])]
    for name in REDUCED_JOINT_NAMES[1:]:
        extra = _ANKLE_EXTRA.get(layout, {}).get(name, ())
        groups.append(_indices(layout, name, *extra))
    return tuple(groups)


def origin_groups(layout: str) -> tuple[tuple[int, ...], ...]:
    """Groups tried in order for the centre of a pose (the first with a valid joint wins):
    the neck where the layout has one (OpenPose), else the mid-shoulders."""
    shoulders = _indices(layout, "left_shoulder", "right_shoulder")
    if "neck" in KEYPOINT_NAMES[check_layout(layout)]:
        return (_indices(layout, "neck"), shoulders)
    return (shoulders,)


def hip_groups(layout: str) -> tuple[tuple[int, ...], ...]:
    """Groups tried in order for the mid-hip (the scale is the origin-to-mid-hip distance)."""
    hips = _indices(layout, "left_hip", "right_hip")
    if "mid_hip" in KEYPOINT_NAMES[check_layout(layout)]:
        return (_indices(layout, "mid_hip"), hips)
    return (hips,)


def coco17_index(layout: str) -> tuple[int, ...]:
    """For each COCO-17 joint, its index in ``layout`` (MediaPipe's eye centres stand for the
    COCO eyes)."""
    return _indices(check_layout(layout), *COCO17_NAMES)


def to_coco17(poses: np.ndarray, layout: str) -> np.ndarray:
    """Convert (..., K, C) keypoints of ``layout`` to COCO-17 order (drops extra joints)."""
    poses = np.asarray(poses)
    k = num_keypoints(layout)
    if poses.ndim < 2 or poses.shape[-2] != k:
        raise ValueError(f"expected (..., {k}, C) keypoints for layout {layout!r}, got {poses.shape}")
    if layout == COCO17:
        return poses
    return poses[..., list(coco17_index(layout)), :]
