"""Motion variants: a capture re-performed the way people also do that action, made in 3-D
before any camera sees it (so every view, noise and occluder applies to them as to the capture).

The captures hold one way of doing each action: CMU's waves are a hello at head height with one
hand, HDM05's squats go down once and straight back up. Real people also wave with both hands
to call someone, hail a robot with an arm raised high over the head, and squat and stay down
(crouching), often with the hands on the knees where HDM05's actors hold their arms out in
front; the real LZQ recordings show those (one arm overhead; a held squat, hands at the knees)
and the models read them as ``stand`` / ``reach_up`` and ``pick_up``.

* ``both_arms``: the arm that moves most, mirrored onto the other arm in the torso's frame
  (left-right reflected about the body's mid-plane, attached at the other shoulder), every frame.
* ``overhead``: the arm that moves most raised over the head: its upper arm and forearm turned
  about the shoulder / elbow in the body's frontal plane (a random angle per capture), so the
  whole wave, its swing and its timing, happens OVERHEAD_DEG from hanging.
* ``hands_on_knees``: both hands reach for a point just above their knee (HAND_ON_THIGH of the
  way from hip to knee) every frame, as far as the arm's bone lengths allow (two-bone reach,
  elbows out): arms hanging while the person stands, hands down by the thighs at the bottom
  (HDM05's arms are too short to reach the knees of its shallow squats).
* ``hold_lowest``: the frame where the hips are lowest, held for HOLD_SECONDS with the sway of
  quiet standing (:mod:`.stand`), the motion before and after it unchanged.

Variants compose with ``+``, applied left to right (``hands_on_knees+hold_lowest``).

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
# Where the raised arm points on average, degrees from hanging (180 = straight up): from
# up-and-out to nearly vertical, the range of a hailing wave.
OVERHEAD_DEG = (135.0, 170.0)
HAND_ON_THIGH = (0.75, 0.95)  # where a hand rests on its thigh: fraction of the way hip -> knee


def _torso(points: np.ndarray) -> np.ndarray:
    return torso_frames(
        *(points[:, IDX[n]] for n in ("left_shoulder", "right_shoulder", "left_hip", "right_hip"))
    )


def _to_torso(frames: np.ndarray, v: np.ndarray) -> np.ndarray:
    """(F, 3) world offsets -> (left, up, forward) coordinates of each frame's torso."""
    return np.einsum("fji,fj->fi", frames, v)


def _from_torso(frames: np.ndarray, v: np.ndarray) -> np.ndarray:
    """(F, 3) torso coordinates -> world offsets (the inverse of :func:`_to_torso`)."""
    return np.einsum("fij,fj->fi", frames, v)


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
        local = _to_torso(frames, points[:, IDX[f"{src}_{part}"]] - points[:, IDX[f"{src}_shoulder"]])
        local[:, 0] *= -1.0
        out[:, IDX[f"{dst}_{part}"]] = points[:, IDX[f"{dst}_shoulder"]] + _from_torso(frames, local)
    return out, forward


def _turn_in_frontal_plane(local: np.ndarray, outward: float, target_deg: float) -> np.ndarray:
    """(F, 3) torso-frame offsets turned about the forward axis so their mean points target_deg
    from hanging, away from the body (``outward`` +1 = the person's left); the swing about the
    mean, the forward component and the length stay as they were."""
    lateral, down = local[:, 0] * outward, -local[:, 1]
    turn = np.radians(target_deg) - np.arctan2(lateral.mean(), down.mean())
    c, s = np.cos(turn), np.sin(turn)
    out = local.copy()
    out[:, 0] = (lateral * c + down * s) * outward
    out[:, 1] = -(down * c - lateral * s)
    return out


def overhead(
    points: np.ndarray, forward: np.ndarray, frame_rate: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """(F, 17, 3) COCO-17 world metres: the moving arm waving over the head."""
    side = moving_arm(points)
    outward = 1.0 if side == "left" else -1.0
    frames = _torso(points)
    shoulder, elbow, wrist = (points[:, IDX[f"{side}_{p}"]] for p in ("shoulder", "elbow", "wrist"))
    target = rng.uniform(*OVERHEAD_DEG)
    # Upper arm to the target, forearm roughly in line with it (a raised arm is near straight):
    # each turned as a whole, so the wave's swing at the elbow is kept.
    upper = _turn_in_frontal_plane(_to_torso(frames, elbow - shoulder), outward, target)
    fore = _turn_in_frontal_plane(
        _to_torso(frames, wrist - elbow), outward, target + rng.uniform(-20.0, 10.0)
    )
    out = points.copy()
    out[:, IDX[f"{side}_elbow"]] = shoulder + _from_torso(frames, upper)
    out[:, IDX[f"{side}_wrist"]] = out[:, IDX[f"{side}_elbow"]] + _from_torso(frames, fore)
    return out, forward


def reach(
    shoulder: np.ndarray, target: np.ndarray, upper: np.ndarray, fore: np.ndarray, bend: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(elbow, wrist), each (F, 3): a two-bone arm of lengths ``upper``, ``fore`` (F,) from
    ``shoulder`` towards ``target`` (as close as the arm reaches), the elbow bent towards
    ``bend`` (F, 3)."""
    to = target - shoulder
    dist = np.linalg.norm(to, axis=-1)
    u = to / np.maximum(dist, 1e-9)[:, None]
    d = np.clip(dist, np.abs(upper - fore) + 1e-6, (upper + fore) * (1.0 - 1e-6))
    along = (upper**2 - fore**2 + d**2) / (2.0 * d)  # shoulder -> the elbow's foot on the reach line
    side = bend - u * np.sum(bend * u, axis=-1, keepdims=True)
    side /= np.maximum(np.linalg.norm(side, axis=-1, keepdims=True), 1e-9)
    elbow = shoulder + u * along[:, None] + side * np.sqrt(np.maximum(upper**2 - along**2, 0.0))[:, None]
    return elbow, shoulder + u * d[:, None]


def hands_on_knees(
    points: np.ndarray, forward: np.ndarray, frame_rate: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """(F, 17, 3) COCO-17 world metres: both hands reaching down for their knees."""
    frames = _torso(points)
    out = points.copy()
    for side, outward in (("left", 1.0), ("right", -1.0)):
        j = {n: points[:, IDX[f"{side}_{n}"]] for n in ("shoulder", "elbow", "wrist", "hip", "knee")}
        target = j["hip"] + rng.uniform(*HAND_ON_THIGH) * (j["knee"] - j["hip"])
        bend = outward * frames[:, :, 0] - 0.5 * frames[:, :, 2]  # elbows out and a little back
        out[:, IDX[f"{side}_elbow"]], out[:, IDX[f"{side}_wrist"]] = reach(
            j["shoulder"],
            target,
            np.linalg.norm(j["elbow"] - j["shoulder"], axis=-1),
            np.linalg.norm(j["wrist"] - j["elbow"], axis=-1),
            bend,
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
VARIANTS: dict[str, Variant] = {
    "both_arms": both_arms,
    "overhead": overhead,
    "hands_on_knees": hands_on_knees,
    "hold_lowest": hold_lowest,
}


def variant_steps(name: str) -> list[str]:
    """The variants ``name`` applies in order ('a+b' = a, then b; '' = none)."""
    return [step for step in name.split("+") if step]


def apply_variant(
    name: str, points: np.ndarray, forward: np.ndarray, frame_rate: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """``points`` (F, 17, 3) and the head's ``forward`` (F, 3) as variant ``name`` ('' = as
    captured) performs them."""
    for step in variant_steps(name):
        if step not in VARIANTS:
            raise ValueError(f"unknown motion variant {step!r}; known: {sorted(VARIANTS)}")
        points, forward = VARIANTS[step](points, forward, frame_rate, rng)
    return points, forward
