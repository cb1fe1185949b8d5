"""3-D COCO-17 motion -> 2-D pose windows that look like the pose backend's output.

For each view of a motion: a playback speed, resampling from the capture rate (120 fps) to the
model's frame rate (a clip shorter than a window gets its first pose held before it), a random
real camera (:mod:`.camera`) placed around the person at a random
moment (so walkers cross the image and leave it), projection, self-occlusion from the 3-D pose,
the measured estimator noise (:mod:`.noise`), occlusion-like dropouts (an object hiding the legs,
an arm, or a vertical band of the image for a while), then windows of the model's length.
Everything random comes from the generator passed in: same seed, same output.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from act_ros.datasets.mocap.camera import Camera, random_camera
from act_ros.datasets.mocap.coco17 import COCO17_NAMES
from act_ros.datasets.mocap.noise import NoiseModel
from act_ros.datasets.mocap.stand import held_pose

IDX = {n: i for i, n in enumerate(COCO17_NAMES)}
FACE = [IDX[n] for n in ("nose", "left_eye", "right_eye", "left_ear", "right_ear")]
TORSO = [IDX[n] for n in ("left_shoulder", "right_shoulder", "left_hip", "right_hip")]
LEGS = [IDX[n] for n in ("left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle")]
LOWER_LEGS = LEGS[2:]
ARMS = {side: [IDX[f"{side}_{p}"] for p in ("elbow", "wrist")] for side in ("left", "right")}
MIN_VISIBLE_JOINTS = 6  # fewer in the image: the backend would not report the person at all

# Occlusion-like dropouts (a table, a passer-by, a pole): augmentation rates, chosen.
DROPOUT_PROB = 0.35  # of a view having one occluder event
DROPOUT_SECONDS = (0.4, 2.0)


@dataclass(frozen=True)
class SynthesisSettings:
    frame_rate: float = 10.0  # the model's (the shipped models: 10 fps)
    window_length: int = 30
    stride: int = 10  # frames between window starts
    speeds: tuple[float, ...] = (0.8, 1.0, 1.25)
    views: int = 10  # cameras per motion
    min_person_frames: float = 0.6  # of a window's frames must show the person
    occluder_prob: float = DROPOUT_PROB


@dataclass
class View:
    """One synthesized view of a motion: (T, 17, 3) x, y, confidence at the target frame rate."""

    poses: np.ndarray
    camera: Camera
    speed: float


def resample(points: np.ndarray, src_fps: float, dst_fps: float, speed: float = 1.0) -> np.ndarray:
    """(F, ...) samples at ``src_fps`` -> linearly interpolated at ``dst_fps``, played
    ``speed`` times as fast (speed 1.25: an action done 25 % quicker)."""
    f = points.shape[0]
    duration = (f - 1) / src_fps
    n = int(np.floor(duration * dst_fps / speed)) + 1
    t = np.arange(n) * speed / dst_fps * src_fps  # in source frames
    i0 = np.clip(np.floor(t).astype(int), 0, f - 1)
    i1 = np.clip(i0 + 1, 0, f - 1)
    w = (t - i0).reshape((-1,) + (1,) * (points.ndim - 1))
    return points[i0] * (1 - w) + points[i1] * w


def occlusion(points: np.ndarray, head_forward: np.ndarray, camera: Camera) -> np.ndarray:
    """(T, 17) how hidden each joint is behind the person's own body, 0..1, from the 3-D pose.

    Body joints: deeper than the torso centre (seen from the camera) and laterally within the
    torso's width. Face points: the face turned away (eyes, nose) or the far ear in profile.
    """
    cam = (points - camera.position) @ camera.rotation.T  # (T, 17, 3) camera frame
    centre = cam[:, TORSO].mean(axis=1, keepdims=True)
    half_w = np.maximum(np.abs(cam[:, TORSO, 0] - centre[..., 0]).max(axis=1, keepdims=True), 0.12)
    behind = np.clip((cam[..., 2] - centre[..., 2]) / 0.15, 0.0, 1.0)
    within = np.clip(1.0 - np.abs(cam[..., 0] - centre[..., 0]) / (1.3 * half_w), 0.0, 1.0)
    occ = behind * within
    view_dir = cam[:, FACE].mean(axis=1)  # camera -> head
    view_dir /= np.maximum(np.linalg.norm(view_dir, axis=-1, keepdims=True), 1e-9)
    fwd_cam = head_forward @ camera.rotation.T
    away = np.clip(np.sum(fwd_cam * view_dir, axis=-1), 0.0, 1.0)  # 1 = seen from behind
    occ[:, FACE[:3]] = away[:, None]
    head_c = cam[:, FACE].mean(axis=1, keepdims=True)
    occ[:, FACE[3:]] = np.clip((cam[:, FACE[3:], 2] - head_c[..., 2]) / 0.06, 0.0, 1.0)
    return occ


def torso_pixels(xy: np.ndarray) -> np.ndarray:
    """(T,) mid-shoulders to mid-hips distance in pixels of clean projections."""
    s = xy[:, [IDX["left_shoulder"], IDX["right_shoulder"]]].mean(axis=1)
    h = xy[:, [IDX["left_hip"], IDX["right_hip"]]].mean(axis=1)
    return np.nan_to_num(np.linalg.norm(s - h, axis=-1), nan=1.0)


def occluder_dropout(poses: np.ndarray, frame_rate: float, rng: np.random.Generator, width: int) -> None:
    """In place: one occluder event (legs, lower legs, an arm, or a vertical image band)."""
    t = len(poses)
    span = int(round(rng.uniform(*DROPOUT_SECONDS) * frame_rate))
    start = int(rng.integers(0, max(1, t - span + 1)))
    frames = slice(start, min(t, start + max(span, 1)))
    kind = rng.integers(4)
    if kind == 0:
        poses[frames, LEGS] = 0.0
    elif kind == 1:
        poses[frames, LOWER_LEGS] = 0.0
    elif kind == 2:
        poses[frames, ARMS["left" if rng.random() < 0.5 else "right"]] = 0.0
    else:
        lo = rng.uniform(0, width)
        band = (poses[frames, :, 0] >= lo) & (poses[frames, :, 0] < lo + rng.uniform(0.05, 0.2) * width)
        block = poses[frames]
        block[band & (block[..., 2] > 0)] = 0.0
        poses[frames] = block


def synthesize_view(
    points: np.ndarray,
    head_forward: np.ndarray,
    src_fps: float,
    noise: NoiseModel,
    settings: SynthesisSettings,
    rng: np.random.Generator,
    speed: float | None = None,
    camera: Camera | None = None,
    occluders: bool = True,
) -> View:
    """One view: ``points`` (F, 17, 3) world metres at ``src_fps``, ``head_forward`` (F, 3)."""
    speed = float(rng.choice(settings.speeds)) if speed is None else float(speed)
    pts = resample(points, src_fps, settings.frame_rate, speed)
    fwd = resample(head_forward, src_fps, settings.frame_rate, speed)
    short = settings.window_length - len(pts)
    if short > 0:
        # The person stood before the action: the first pose held, swaying like the synthesized
        # "stand" (a frozen lead-in would teach "perfectly still = this action", and real people
        # never are).
        lead, lead_fwd = held_pose(
            pts[0], short + 1, settings.frame_rate, rng, end_still=True, directions=fwd[0]
        )
        pts = np.concatenate([lead[:-1], pts])
        fwd = np.concatenate([lead_fwd[:-1], fwd])
    if camera is None:
        mid_hip = pts[:, [IDX["left_hip"], IDX["right_hip"]]].mean(axis=1)
        camera = random_camera(rng, mid_hip[int(rng.integers(len(pts)))])
    xy, depth = camera.project(pts)
    inside = camera.inside(xy, depth)
    clean = np.nan_to_num(xy)
    poses = noise.apply(
        clean, inside, occlusion(pts, fwd, camera), torso_pixels(clean), settings.frame_rate, rng
    )
    poses[inside.sum(axis=1) < MIN_VISIBLE_JOINTS] = 0.0
    if occluders and rng.random() < settings.occluder_prob:
        occluder_dropout(poses, settings.frame_rate, rng, camera.width)
    return View(poses.astype(np.float32), camera, speed)


def windows(poses: np.ndarray, settings: SynthesisSettings) -> np.ndarray:
    """(n, T, 17, 3) windows with enough person frames. Views are at least T frames long
    (synthesize_view holds the first pose of a short clip before it, the way
    act_ros.preprocessing.pad_front pads short windows at run time: HDM05's segmented clips
    last 0.9-3 s, a window 3 s); anything shorter is zero-filled at the end."""
    t, length = len(poses), settings.window_length
    if t < length:
        starts = [0]
    else:
        starts = list(range(0, t - length + 1, settings.stride))
    out = []
    for s in starts:
        w = np.zeros((length,) + poses.shape[1:], dtype=np.float32)
        piece = poses[s : s + length]
        w[: len(piece)] = piece
        seen = (piece[..., 2] > 0).any(axis=1).sum()
        if seen >= settings.min_person_frames * min(length, t):
            out.append(w)
    return np.stack(out) if out else np.zeros((0, length) + poses.shape[1:], np.float32)
