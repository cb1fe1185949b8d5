"""3-D motion -> 3-D COCO-17 keypoints: body joints by name, face points in the head's frame.

Body joints come from the rig map (:mod:`act_ros.datasets.mocap.rigs`). No mocap rig has a
nose or ears, so the five face points are placed in the head frame of the motion (columns left,
up, forward; see :func:`act_ros.datasets.mocap.motion.head_frames`) at the offsets below,
measured from the top of the neck (the head joint of the four rigs here) and taken from adult
head proportions: eyes 6.4 cm apart, 8 cm above the top of the neck and 9.5 cm in front of it
(the visible eye, 1.2 cm in front of the eyeball centre that the Daz and iClone eye joints
mark); the ear canals 15 cm apart, 2.5 cm below the eyes, level with the neck; the nose tip
3.5 cm below and 2.5 cm in front of the eyes. COCO annotates the visible eye, ear and nose tip,
and MediaPipe's eye centre stands in for the eye here as it does in the pose backend.

Hips: a rig's hip joint is the centre of the femoral head (15-21 cm apart here); COCO and the
pose backends put the hip keypoint at the side of the pelvis, so each hip moves HIP_OUT_M
outwards along the hip line (the real LZQ skeletons, front view: hips 0.67 of the shoulder
width; mocap joint centres: 0.37-0.77). Shoulders move by the rig's ``shoulder_out_m``.
"""

from __future__ import annotations

import numpy as np

from act_ros.datasets.mocap.motion import Motion
from act_ros.datasets.mocap.rigs import BODY_JOINTS
from act_ros.layouts import COCO17_NAMES


# Head frame (x = the person's left, y = up, z = forward), metres from the face origin.
FACE_OFFSETS_M: dict[str, tuple[float, float, float]] = {
    "nose": (0.0, 0.045, 0.120),
    "left_eye": (0.032, 0.080, 0.095),
    "right_eye": (-0.032, 0.080, 0.095),
    "left_ear": (0.075, 0.055, 0.005),
    "right_ear": (-0.075, 0.055, 0.005),
}
assert set(FACE_OFFSETS_M) | set(BODY_JOINTS) == set(COCO17_NAMES)
HIP_OUT_M = 0.05


def motion_to_coco17(motion: Motion) -> np.ndarray:
    """(F, 17, 3) COCO-17 keypoints in metres, world frame (z up), in COCO-17 order."""
    rig = motion.rig
    origin = motion.joint(rig.head) + motion.head_frame @ np.asarray(rig.face_origin)
    out = np.empty((motion.num_frames, len(COCO17_NAMES), 3))
    for k, name in enumerate(COCO17_NAMES):
        if name in FACE_OFFSETS_M:
            out[:, k] = origin + motion.head_frame @ np.asarray(FACE_OFFSETS_M[name])
        else:
            out[:, k] = motion.joint(rig.joints[name])
    for part, shift in (("hip", HIP_OUT_M), ("shoulder", rig.shoulder_out_m)):
        li, ri = COCO17_NAMES.index(f"left_{part}"), COCO17_NAMES.index(f"right_{part}")
        if shift:
            side = out[:, li] - out[:, ri]
            side /= np.maximum(np.linalg.norm(side, axis=-1, keepdims=True), 1e-9)
            out[:, li] += shift * side
            out[:, ri] -= shift * side
    return out
