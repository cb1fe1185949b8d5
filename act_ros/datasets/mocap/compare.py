"""Synthetic vs measured: the noise statistics of synthesized tracks filmed like the real footage.

For each measured video, walking and running captures are synthesized at that video's frame
rate and image size, from cameras placed so that people appear at the video's median torso
size, then :func:`~.noise_stats.track_statistics` is computed exactly as on the real tracks.
The test suite checks the result against the measured targets; ``act-ros dataset
noise-report`` prints the table and draws the histograms.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from act_ros.datasets.mocap.camera import camera_at
from act_ros.datasets.mocap.coco17 import motion_to_coco17
from act_ros.datasets.mocap.mix import cmu_items, load_item
from act_ros.datasets.mocap.motion import Motion
from act_ros.datasets.mocap.noise import NoiseModel, fit_jitter
from act_ros.datasets.mocap.noise_stats import NAMES, track_statistics
from act_ros.datasets.mocap.synthesize import IDX, SynthesisSettings, synthesize_view
from act_ros.datasets.mocap.taxonomy import load_taxonomy

TORSO_M = 0.50  # mid-shoulders to mid-hips of an adult, metres
FOOTAGE_HFOV_DEG = 60.0
FOOTAGE_CAMERA_HEIGHT_M = (1.2, 3.0)


def matched_tracks(
    motions: list[Motion], video: dict, noise: NoiseModel, rng: np.random.Generator, views: int = 6
) -> list[np.ndarray]:
    """Synthetic (T, 17, 3) tracks of ``motions`` filmed like ``video`` (its statistics and
    info: frame rate, image size, median torso length in pixels)."""
    stats, info = video["statistics"], video["info"]
    width, height = info["image_size"]
    fps = float(info["frame_rate"])
    fx = (width / 2) / math.tan(math.radians(FOOTAGE_HFOV_DEG) / 2)
    distance = fx * TORSO_M / max(stats["torso_px"], 1.0)
    settings = SynthesisSettings(frame_rate=fps)
    tracks = []
    for motion in motions:
        points = motion_to_coco17(motion)
        mid = points[:, [IDX["left_hip"], IDX["right_hip"]]].mean(axis=1)
        for _ in range(views):
            target = mid[int(rng.integers(len(mid)))]
            cam = camera_at(
                target,
                float(rng.uniform(0, 360)),
                distance,
                float(rng.uniform(*FOOTAGE_CAMERA_HEIGHT_M)),
                width,
                height,
                FOOTAGE_HFOV_DEG,
            )
            view = synthesize_view(
                points,
                motion.head_frame[:, :, 2],
                motion.frame_rate,
                noise,
                settings,
                rng,
                speed=1.0,
                camera=cam,
                occluders=False,
            )
            tracks.append(view.poses)
    return tracks


def synthetic_statistics(
    motions: list[Motion], measured: dict, noise: NoiseModel, seed: int = 0, views: int = 6
) -> dict:
    """Per-video and pooled statistics of matched synthetic tracks (same keys as measured)."""
    rng = np.random.default_rng(seed)
    per_video, tracks = {}, {}
    for name, video in measured["per_video"].items():
        tracks[name] = matched_tracks(motions, video, noise, rng, views)
        per_video[name] = track_statistics(tracks[name], video["info"]["frame_rate"])
    # Pool like the measurement: each video's share of person-frames as in the real footage.
    share = {
        n: measured["per_video"][n]["statistics"]["person_frames"] / max(per_video[n]["person_frames"], 1)
        for n in tracks
    }
    top = max(share.values()) if share else 1.0
    pooled = [t for n, ts in tracks.items() for t in ts[: max(1, round(len(ts) * share[n] / top))]]
    rates = [v["info"]["frame_rate"] for v in measured["per_video"].values()]
    return {"per_video": per_video, "pooled": track_statistics(pooled, float(np.median(rates)))}


CALIBRATION_ROUNDS = 3


def calibrate(
    motions: list[Motion], measured: dict, noise: NoiseModel, seed: int = 0, views: int = 6
) -> dict:
    """``jitter_fit`` for the statistics file. The measured jitter holds more than the per-frame
    noise: the people's own motion and the gross errors widen r_t too, so a noise of the
    measured size comes out ~30 % too wide once synthesized. Each round synthesizes the
    footage's conditions, divides every video's per-joint noise target by the ratio
    synthetic / measured, and refits a, b."""
    videos = {
        n: v
        for n, v in measured["per_video"].items()
        if v["statistics"]["torso_px"] > 0 and v["statistics"]["person_frames"]
    }
    real = {n: np.array([v["statistics"]["joints"][j]["jitter"] for j in NAMES]) for n, v in videos.items()}
    targets = {n: r.copy() for n, r in real.items()}
    model = noise
    for _ in range(CALIBRATION_ROUNDS):
        a, b = fit_jitter([v["statistics"] for v in videos.values()], list(targets.values()))
        model = replace(model, jitter_a=a, jitter_b=b)
        synthetic = synthetic_statistics(motions, measured, model, seed, views)["per_video"]
        for n in videos:
            got = np.array([synthetic[n]["joints"][j]["jitter"] for j in NAMES])
            targets[n] = targets[n] * real[n] / np.maximum(got, 1e-9)
    a, b = fit_jitter([v["statistics"] for v in videos.values()], list(targets.values()))
    return {
        "a": a.round(5).tolist(),
        "b": b.round(4).tolist(),
        "note": "sigma^2 = a^2 + (b / torso_px)^2 torso lengths, calibrated so that the "
        "synthesized footage conditions give the measured jitter (compare.calibrate: "
        f"{CALIBRATION_ROUNDS} rounds, {len(motions)} CMU walks x {views} views per "
        "video)",
    }


def noise_motions(mocap_dir, count: int = 8) -> list[Motion]:
    """Walking CMU captures: what the footage shows (people walking), to calibrate with."""
    items, _ = cmu_items(mocap_dir, load_taxonomy())
    return [load_item(i) for i in [i for i in items if i.class_name == "walk"][:count]]
