"""Motion variants: a capture re-performed the way people also do that action, made in 3-D
before any camera sees it (so every view, noise and occluder applies to them as to the capture).

The captures hold one way of doing each action: CMU's waves are one-handed, HDM05's squats go
down once and straight back up. Real people also wave with both hands to call someone, and
squat and stay down (crouching); the real LZQ recordings show exactly those (both arms
overhead; a held squat) and the first models read them as ``stand`` and ``pick_up``.

* ``both_arms``: the arm that moves most, mirrored onto the other arm in the torso's frame
  (left-right reflected about the body's mid-plane, attached at the other shoulder), every frame.
* ``hold_lowest``: the frame where the hips are lowest, held for HOLD_SECONDS with the sway of
  quiet standing (:mod:`.stand`), the motion before and after it unchanged.

Which class gets which variant is the taxonomy's ``variants:``; a variant keeps its source's
subject and split, so no subject is on two sides.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from act_ros.datasets.mocap.motion import torso_frames
from act_ros.datasets.mocap.stand import held_pose
from act_ros.datasets.mocap.synthesize import IDX

HOLD_SECONDS = (1.0, 3.0)  # a crouch long enough to fill a third to all of a 3 s window


def _torso(points: np.ndarray) -> np.ndarray:
    return torso_frames(
        *(points[:, IDX[n]] for n in ("left_shoulder", "right_shoulder", "left_hip", "right_hip"))
    )


def moving_arm(points: np.ndarray) -> str:
    """'left' or 'right': the arm whose wrist travels further relative to its shoulder."""
    travel = {}
    for side in ("left", "right"):
        rel = points[:, IDX[f"{side}_wrist"]] - points[:, IDX[f"{side}_shoulder"]]
        travel[side] = float(np.linalg.norm(np.diff(rel, axis=0), axis=-1).sum())
    return max(travel, key=travel.get)


def both_arms(
    points: np.ndarray, forward: np.ndarray, frame_rate: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """(F, 17, 3) COCO-17 world metres: the moving arm mirrored onto the other one."""
    src = moving_arm(points)
    dst = "right" if src == "left" else "left"
    frames = _torso(points)  # (F, 3, 3) columns left, up, forward
    out = points.copy()
    for part in ("elbow", "wrist"):
        offset = points[:, IDX[f"{src}_{part}"]] - points[:, IDX[f"{src}_shoulder"]]
        local = np.einsum("fji,fj->fi", frames, offset)  # (left, up, forward) coordinates
        local[:, 0] *= -1.0
        out[:, IDX[f"{dst}_{part}"]] = points[:, IDX[f"{dst}_shoulder"]] + np.einsum(
            "fij,fj->fi", frames, local
        )
    return out, forward


def hold_lowest(
    points: np.ndarray, forward: np.ndarray, frame_rate: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """The lowest-hips frame held for a random HOLD_SECONDS (swaying, joined on both sides)."""
    hips = points[:, [IDX["left_hip"], IDX["right_hip"]], 2].mean(axis=1)
    k = int(np.argmin(hips))
    n = max(2, int(round(rng.uniform(*HOLD_SECONDS) * frame_rate)))
    held, turned = held_pose(
        points[k], n, frame_rate, rng, end_still=True, start_still=True, directions=forward[k]
    )
    return (
        np.concatenate([points[:k], held, points[k + 1 :]]),
        np.concatenate([forward[:k], turned, forward[k + 1 :]]),
    )


Variant = Callable[[np.ndarray, np.ndarray, float, np.random.Generator], tuple[np.ndarray, np.ndarray]]
VARIANTS: dict[str, Variant] = {"both_arms": both_arms, "hold_lowest": hold_lowest}


def apply_variant(
    name: str, points: np.ndarray, forward: np.ndarray, frame_rate: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """``points`` (F, 17, 3) and the head's ``forward`` (F, 3) as variant ``name`` ('' = as
    captured) performs them."""
    if not name:
        return points, forward
    try:
        return VARIANTS[name](points, forward, frame_rate, rng)
    except KeyError:
        raise ValueError(f"unknown motion variant {name!r}; known: {sorted(VARIANTS)}") from None
