"""Standing still, synthesized from the captures: the motion data holds almost no standing (the
longest still stretch of any CMU or HDM05 clip outside lie-down is ~0.15 s) while a robot needs
``stand`` most of all, and the only real standing is one LZQ person.

HDM05's segmented repetitions start from an upright rest pose (squat, kick, reach up, ...):
that first pose of every such clip, held for a few seconds with postural sway (a slow random
drift of the whole body of about a centimetre and a slow turn of a few degrees about the
vertical, the sway of quiet standing), gives standing people of every HDM05 actor's build.
The camera, the pose-estimator noise and the occluders are added later, as for any motion.
"""

from __future__ import annotations

import numpy as np

from act_ros.datasets.mocap.motion import Motion

SWAY_M = 0.012  # std of the body's drift (quiet standing: ~1 cm)
TURN_DEG = 4.0  # std of the slow turn about the vertical
SWAY_SECONDS = 1.5  # correlation time of both


def _smooth_noise(n: int, rate: float, rng: np.random.Generator, dims: int) -> np.ndarray:
    """(n, dims) zero-mean, unit-std noise low-passed over ``SWAY_SECONDS``."""
    width = max(1, int(SWAY_SECONDS * rate))
    raw = rng.normal(size=(n + 2 * width, dims))
    kernel = np.hanning(2 * width + 1)
    out = np.stack(
        [np.convolve(raw[:, d], kernel / kernel.sum(), "same")[width : width + n] for d in range(dims)],
        axis=1,
    )
    std = out.std(axis=0, keepdims=True)
    return (out - out.mean(axis=0, keepdims=True)) / np.where(std > 0, std, 1.0)


def sway(
    n: int, rate: float, rng: np.random.Generator, end_still: bool = False, start_still: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """(n, 3, 3) rotations about the vertical and (n, 3) drifts of quiet standing. ``end_still``
    / ``start_still``: both end / start at zero, so a held pose swayed this way joins the motion
    that follows / precedes it (both: a pause inside a motion)."""
    drift = _smooth_noise(n, rate, rng, 3) * SWAY_M
    drift[:, 2] *= 0.3  # little vertical motion
    angle = np.deg2rad(_smooth_noise(n, rate, rng, 1)[:, 0] * TURN_DEG)
    if start_still and end_still:
        ramp = np.linspace(0.0, 1.0, n)
        drift = drift - drift[0] - ramp[:, None] * (drift[-1] - drift[0])
        angle = angle - angle[0] - ramp * (angle[-1] - angle[0])
    elif end_still:
        drift, angle = drift - drift[-1], angle - angle[-1]
    elif start_still:
        drift, angle = drift - drift[0], angle - angle[0]
    c, s = np.cos(angle), np.sin(angle)
    rot = np.zeros((n, 3, 3))
    rot[:, 0, 0], rot[:, 0, 1], rot[:, 1, 0], rot[:, 1, 1], rot[:, 2, 2] = c, -s, s, c, 1.0
    return rot, drift


def held_pose(
    pose: np.ndarray,
    n: int,
    rate: float,
    rng: np.random.Generator,
    end_still: bool = False,
    directions: np.ndarray | None = None,
    start_still: bool = False,
):
    """``pose`` (J, 3) held for ``n`` frames with sway: (n, J, 3), and ``directions`` (..., 3)
    turned the same way (n, ..., 3) when given."""
    rot, drift = sway(n, rate, rng, end_still, start_still)
    centre = pose.mean(axis=0)
    held = np.einsum("nij,kj->nki", rot, pose - centre) + centre + drift[:, None, :]
    if directions is None:
        return held, None
    d = np.asarray(directions)
    turned = np.einsum("nij,...j->n...i", rot, d)
    return held, turned


def standing_motion(motion: Motion, seconds: float, rng: np.random.Generator) -> Motion:
    """``motion``'s first pose held for ``seconds`` with postural sway (z up, metres)."""
    n = max(2, int(round(seconds * motion.frame_rate)))
    head = motion.head_frame[0]  # (3, 3): columns = axes
    positions, axes = held_pose(motion.positions[0], n, motion.frame_rate, rng, directions=head.T)
    head_frame = np.swapaxes(axes, 1, 2)
    return Motion(
        positions,
        motion.joint_names,
        motion.frame_rate,
        head_frame,
        motion.rig,
        motion.source_file,
        {**motion.meta, "synthesized": "standing"},
    )
