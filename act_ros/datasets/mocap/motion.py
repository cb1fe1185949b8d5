"""One imported motion: 3-D joint positions in metres, a common world frame, and the head's frame.

World frame of every :class:`Motion`: right-handed, metres, z up (the ground is the x-y plane
up to the capture's own floor offset). BVH and ASF files are y-up; :func:`y_up_to_z_up` turns
them (a rotation, never a mirror, so left stays left).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from act_ros.datasets.mocap.rigs import RigMap

# (x, y, z) y-up -> (x, -z, y) z-up: a proper rotation (det +1).
Y_UP_TO_Z_UP = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])
_AXES = {"x": 0, "y": 1, "z": 2}


@dataclass
class Motion:
    """Joint positions of one capture.

    ``positions`` (F, J, 3) metres, world frame (z up); ``joint_names`` (J,);
    ``head_frame`` (F, 3, 3): columns = the head's left, up and forward directions in the world
    (see :func:`head_frames`).
    """

    positions: np.ndarray
    joint_names: tuple[str, ...]
    frame_rate: float
    head_frame: np.ndarray
    rig: RigMap
    source_file: str = ""
    meta: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        f = self.positions.shape[0]
        if self.positions.shape != (f, len(self.joint_names), 3):
            raise ValueError(f"positions must be (F, {len(self.joint_names)}, 3), got {self.positions.shape}")
        if self.head_frame.shape != (f, 3, 3):
            raise ValueError(f"head_frame must be ({f}, 3, 3), got {self.head_frame.shape}")
        if not self.frame_rate > 0:
            raise ValueError(f"frame rate must be > 0, got {self.frame_rate}")

    @property
    def num_frames(self) -> int:
        return int(self.positions.shape[0])

    @property
    def duration_s(self) -> float:
        return self.num_frames / self.frame_rate

    def index(self, name: str) -> int:
        try:
            return self.joint_names.index(name)
        except ValueError:
            raise KeyError(f"joint {name!r} not in {self.source_file or 'this motion'}") from None

    def joint(self, name: str) -> np.ndarray:
        """(F, 3) positions of one joint."""
        return self.positions[:, self.index(name)]


def torso_frames(
    left_shoulder: np.ndarray, right_shoulder: np.ndarray, left_hip: np.ndarray, right_hip: np.ndarray
) -> np.ndarray:
    """(F, 3, 3) per frame from (F, 3) joints: columns left, up, forward of the torso.

    left = right-to-left shoulder plus right-to-left hip; up = mid-hips to mid-shoulders, made
    orthogonal to left; forward = left x up (right-handed).
    """
    left = (left_shoulder - right_shoulder) + (left_hip - right_hip)
    up = 0.5 * (left_shoulder + right_shoulder - left_hip - right_hip)
    left = left / np.maximum(np.linalg.norm(left, axis=-1, keepdims=True), 1e-9)
    up = up - left * np.sum(left * up, axis=-1, keepdims=True)
    up = up / np.maximum(np.linalg.norm(up, axis=-1, keepdims=True), 1e-9)
    return np.stack([left, up, np.cross(left, up)], axis=-1)


def body_frames(positions: np.ndarray, joint_names: tuple[str, ...], rig: RigMap) -> np.ndarray:
    """(F, 3, 3) per frame: columns left, up, forward of the torso (:func:`torso_frames`)."""
    idx = {n: i for i, n in enumerate(joint_names)}
    j = rig.joints
    p = {k: positions[:, idx[j[k]]] for k in ("left_shoulder", "right_shoulder", "left_hip", "right_hip")}
    return torso_frames(p["left_shoulder"], p["right_shoulder"], p["left_hip"], p["right_hip"])


def rest_body_frame(rest_positions: np.ndarray, joint_names: tuple[str, ...], rig: RigMap) -> np.ndarray:
    """(3, 3) body frame (columns left, up, forward) of the rig's rest pose (all rotations 0)."""
    return body_frames(rest_positions[None], joint_names, rig)[0]


# Eyeball centres seen from the top of the neck: 8 cm up, 8.3 cm forward (coco17.FACE_OFFSETS_M
# less the 1.2 cm from the eyeball centre to the visible eye).
EYE_ELEVATION_DEG = float(np.degrees(np.arctan2(0.080, 0.083)))


def head_frames(
    head_rotation: np.ndarray,
    positions: np.ndarray,
    joint_names: tuple[str, ...],
    rig: RigMap,
    rest_positions: np.ndarray | None = None,
) -> np.ndarray:
    """(F, 3, 3) head frame (columns left, up, forward) from the head joint's world rotation.

    Rigs differ in how the head joint's axes sit in the head, so the constant rotation X from
    the head joint's axes to the face (frame = R_head(t) X) comes from the rig itself:

    * rigs with eye joints (``rig.eyes``): left = right eye -> left eye; the head joint -> eyes
      vector is turned about that axis so that it rises EYE_ELEVATION_DEG above forward, as
      the eyes do from the top of the neck (coco17.FACE_OFFSETS_M): rigid in the head, so the
      same in every file of the rig;
    * otherwise the rest pose (T-pose, every rotation I): X = the rest pose's body frame
      (needs ``rest_positions``, world axes).
    """
    idx = {n: i for i, n in enumerate(joint_names)}
    if rig.eyes:
        eye_l, eye_r = positions[:, idx[rig.eyes[0]]], positions[:, idx[rig.eyes[1]]]
        local = lambda v: np.einsum("fji,fj->fi", head_rotation, v).mean(axis=0)  # noqa: E731
        left = local(eye_l - eye_r)
        left = left / np.linalg.norm(left)
        v = local(0.5 * (eye_l + eye_r) - positions[:, idx[rig.head]])
        v = v - left * float(left @ v)
        v = v / np.linalg.norm(v)
        w = np.cross(left, v)
        a = np.radians(EYE_ELEVATION_DEG)
        forward, up = np.cos(a) * v + np.sin(a) * w, np.sin(a) * v - np.cos(a) * w
        x = np.stack([left, up, forward], axis=1)
    else:
        if rest_positions is None:
            raise ValueError(f"rig {rig.name!r} has no eye joints: its head frame needs the rest pose")
        x = rest_body_frame(rest_positions, joint_names, rig)
    return head_rotation @ x


# Upper arm + forearm + thigh + shin of an adult: ~1.4 m; a wrong unit is off by x2.5 to x100.
LIMB_SUM_RANGE_M = (0.9, 2.1)


def check_units(motion: Motion) -> None:
    """Fail loudly when the length unit is wrong (limb lengths are not a person's)."""
    j = motion.rig.joints
    length = 0.0
    for a, b in (("shoulder", "elbow"), ("elbow", "wrist"), ("hip", "knee"), ("knee", "ankle")):
        d = motion.joint(j["left_" + a]) - motion.joint(j["left_" + b])
        length += float(np.median(np.linalg.norm(d, axis=-1)))
    lo, hi = LIMB_SUM_RANGE_M
    if not lo <= length <= hi:
        raise ValueError(
            f"{motion.source_file}: upper arm + forearm + thigh + shin = {length:.2f} m with "
            f"{motion.rig.units_m} m per unit (rig {motion.rig.name!r}), not a person's "
            f"({lo}-{hi} m); give the file's length unit (units_m in a rig map file)"
        )


def to_z_up(up: str) -> np.ndarray:
    """(3, 3) rotation taking a file's signed up axis ("+y", "-z", ...) to +z."""
    if len(up) != 2 or up[0] not in "+-" or up[1].lower() not in _AXES:
        raise ValueError(f"up axis must be like '+y' or '-z', got {up!r}")
    if up == "+y":
        return Y_UP_TO_Z_UP.copy()
    u = np.zeros(3)
    u[_AXES[up[1].lower()]] = 1.0 if up[0] == "+" else -1.0
    z = np.array([0.0, 0.0, 1.0])
    axis, c = np.cross(u, z), float(u @ z)
    if np.linalg.norm(axis) < 1e-12:  # +z or -z
        return np.eye(3) if c > 0 else np.diag([1.0, -1.0, -1.0])
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + k + k @ k / (1.0 + c)  # Rodrigues for unit vectors u -> z


# Speeds no body part reaches (m/s): above them a frame is a conversion artefact. The Daz
# conversions blend in from a T-pose over their first ~4 frames (30-40 m/s), two of them also
# jump the root by ~1 m once (350 m/s); real motion here peaks at ~20 m/s (a dancer's hand).
START_GLITCH_SPEED = 15.0
GLITCH_SPEED = 50.0
START_WINDOW_S = 0.5
ANKLE_HEIGHT_M = 0.08  # ankle joint above the floor when standing


def clean_motion(motion: Motion) -> Motion:
    """Drop conversion artefacts and put the floor at z = 0.

    1. Leading frames up to the last one within the first 0.5 s that moves faster than
       START_GLITCH_SPEED (a blend from the rig's rest pose).
    2. Any later jump faster than GLITCH_SPEED splits the motion; the longest piece is kept.
    3. The floor: the 5th percentile of the lower ankle's height is set to ANKLE_HEIGHT_M
       (some conversions leave the root offset out or add their own).
    """
    p = motion.positions
    if len(p) < 3:
        return motion
    speed = np.linalg.norm(np.diff(p, axis=0), axis=-1).max(axis=1) * motion.frame_rate
    first = 0
    lead = np.nonzero(speed[: int(START_WINDOW_S * motion.frame_rate)] > START_GLITCH_SPEED)[0]
    if len(lead):
        first = int(lead[-1]) + 1
    cuts = [first] + [int(i) + 1 for i in np.nonzero(speed > GLITCH_SPEED)[0] if i >= first]
    cuts.append(len(p))
    a, b = max(zip(cuts[:-1], cuts[1:]), key=lambda ab: ab[1] - ab[0])
    j = motion.rig.joints
    ankles = np.minimum(motion.joint(j["left_ankle"])[a:b, 2], motion.joint(j["right_ankle"])[a:b, 2])
    shift = np.array([0.0, 0.0, ANKLE_HEIGHT_M - float(np.percentile(ankles, 5))])
    return Motion(
        positions=p[a:b] + shift,
        joint_names=motion.joint_names,
        frame_rate=motion.frame_rate,
        head_frame=motion.head_frame[a:b],
        rig=motion.rig,
        source_file=motion.source_file,
        meta={**motion.meta, "frames_kept": f"{a}:{b} of {len(p)}"},
    )
