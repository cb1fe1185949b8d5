"""Pictures of the synthesis: synthesized skeletons next to real pose-estimator skeletons of the
same actions at similar viewpoints, and the measured-vs-synthetic noise histograms
(``act-ros dataset noise-report``). Matplotlib (training extra), Agg backend."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from act_ros.datasets.mocap.camera import camera_at
from act_ros.datasets.mocap.coco17 import motion_to_coco17
from act_ros.datasets.mocap.motion import Motion, body_frames
from act_ros.datasets.mocap.noise import NoiseModel
from act_ros.datasets.mocap.noise_stats import CONF_BINS, NAMES, RESIDUAL_BINS, torso_length
from act_ros.datasets.mocap.synthesize import IDX, SynthesisSettings, synthesize_view
from act_ros.layouts import COCO17_LIMBS

LEFT_COLOUR, RIGHT_COLOUR, MID_COLOUR = "#1f77b4", "#ff7f0e", "#444444"


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def side_camera(
    motion: Motion,
    points: np.ndarray,
    relative_azimuth_deg: float,
    torso_px: float,
    width: int,
    height: int,
    camera_height_m: float = 1.4,
    hfov_deg: float = 60.0,
    at: float = 0.5,
):
    """A camera at ``relative_azimuth_deg`` from the person's facing (0 = in front, 90 = on the
    person's left) at the moment ``at`` (0..1 of the motion), as far as makes the torso
    ``torso_px`` pixels long."""
    t = int(at * (len(points) - 1))
    fwd = body_frames(motion.positions[t : t + 1], motion.joint_names, motion.rig)[0][:, 2]
    facing = math.degrees(math.atan2(fwd[1], fwd[0]))
    fx = (width / 2) / math.tan(math.radians(hfov_deg) / 2)
    torso_m = float(
        np.linalg.norm(
            points[t, [IDX["left_shoulder"], IDX["right_shoulder"]]].mean(0)
            - points[t, [IDX["left_hip"], IDX["right_hip"]]].mean(0)
        )
    )
    target = points[t, [IDX["left_hip"], IDX["right_hip"]]].mean(axis=0)
    return camera_at(
        target,
        facing + relative_azimuth_deg,
        fx * torso_m / torso_px,
        camera_height_m,
        width,
        height,
        hfov_deg,
    )


def synthetic_track(
    motion: Motion, noise: NoiseModel, frame_rate: float, camera, seed: int = 0
) -> np.ndarray:
    points = motion_to_coco17(motion)
    view = synthesize_view(
        points,
        motion.head_frame[:, :, 2],
        motion.frame_rate,
        noise,
        SynthesisSettings(frame_rate=frame_rate, window_length=1),
        np.random.default_rng(seed),
        speed=1.0,
        camera=camera,
        occluders=False,
    )
    return view.poses


def draw_skeleton(ax, pose: np.ndarray, centre: np.ndarray, scale: float) -> None:
    """One COCO-17 pose (17, 3) into ``ax``, centred and scaled (torso length = 1)."""
    xy = (pose[:, :2] - centre) / scale
    ok = pose[:, 2] > 0
    for a, b in COCO17_LIMBS:
        if ok[a] and ok[b]:
            na, nb = NAMES[a], NAMES[b]
            colour = (
                LEFT_COLOUR
                if na.startswith("left") and nb.startswith("left")
                else RIGHT_COLOUR
                if na.startswith("right") and nb.startswith("right")
                else MID_COLOUR
            )
            ax.plot(
                [xy[a, 0], xy[b, 0]],
                [xy[a, 1], xy[b, 1]],
                color=colour,
                lw=2,
                alpha=0.35 + 0.65 * float(min(pose[a, 2], pose[b, 2])),
            )
    ax.scatter(xy[ok, 0], xy[ok, 1], s=6, c="k", zorder=3)


def skeleton_strips(rows: list[tuple[str, np.ndarray]], path: Path, frames: int = 8, title: str = "") -> Path:
    """A grid: one row per (label, (T, 17, 3) track), ``frames`` evenly spaced frames each,
    every skeleton centred on its mid-hips and scaled to its torso length."""
    plt = _plt()
    fig, axes = plt.subplots(len(rows), frames, figsize=(1.6 * frames, 2.2 * len(rows)))
    for r, (label, track) in enumerate(rows):
        seen = np.nonzero((track[..., 2] > 0).sum(axis=1) >= 6)[0]
        pick = seen[np.linspace(0, len(seen) - 1, frames).round().astype(int)] if len(seen) else []
        scale = float(np.nanmedian(torso_length(track))) if len(seen) else 1.0
        for c in range(frames):
            ax = axes[r, c]
            ax.set_xlim(-1.6, 1.6)
            ax.set_ylim(2.4, -1.9)  # image y points down
            ax.set_aspect("equal")
            ax.set_xticks([])
            ax.set_yticks([])
            if c < len(pick):
                pose = track[pick[c]]
                hips = pose[[IDX["left_hip"], IDX["right_hip"]]]
                ok = hips[:, 2] > 0
                centre = hips[ok, :2].mean(axis=0) if ok.any() else pose[pose[:, 2] > 0, :2].mean(0)
                draw_skeleton(ax, pose, centre, scale)
            if c == 0:
                ax.set_ylabel(label, fontsize=7)
    if title:
        fig.suptitle(title, fontsize=9)
    fig.text(
        0.5,
        0.005,
        "blue = the person's left side, orange = right; line strength = confidence; missing joints not drawn",
        ha="center",
        fontsize=7,
    )
    fig.tight_layout(rect=(0, 0.02, 1, 0.97))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def noise_histograms(measured: dict, synthetic: dict, path: Path) -> Path:
    """Confidence and jitter-residual histograms per joint group, real vs synthetic, and the
    per-joint missing rates and jitter of each video."""
    plt = _plt()
    groups = {
        "face": NAMES[:5],
        "shoulders, hips": ("left_shoulder", "right_shoulder", "left_hip", "right_hip"),
        "elbows, wrists": NAMES[7:11],
        "knees, ankles": NAMES[13:17],
    }
    fig, axes = plt.subplots(3, 4, figsize=(15, 9))
    real, syn = measured["pooled"]["joints"], synthetic["pooled"]["joints"]
    for c, (gname, joints) in enumerate(groups.items()):
        for r, (key, bins, xlabel) in enumerate(
            (
                ("confidence_histogram", CONF_BINS, "confidence"),
                ("residual_histogram", RESIDUAL_BINS, "r_t / torso length"),
            )
        ):
            ax = axes[r, c]
            for stats, label, colour in ((real, "real (pose backend)", "k"), (syn, "synthetic", "tab:red")):
                h = np.sum([stats[j][key] for j in joints], axis=0).astype(float)
                h /= max(h.sum(), 1.0)
                ax.stairs(h, bins, label=label, color=colour, lw=1.6)
            ax.set_title(f"{gname}: {xlabel}", fontsize=9)
            if key == "confidence_histogram":
                ax.set_yscale("log")
            ax.legend(fontsize=7)
    x = np.arange(len(NAMES))
    ax = axes[2, 0]
    ax.bar(x - 0.2, [real[n]["missing_rate"] for n in NAMES], 0.4, color="k", label="real")
    ax.bar(x + 0.2, [syn[n]["missing_rate"] for n in NAMES], 0.4, color="tab:red", label="synthetic")
    ax.set_title("missing rate per joint (pooled)", fontsize=9)
    ax.set_xticks(
        x, [n.replace("left_", "L ").replace("right_", "R ") for n in NAMES], rotation=90, fontsize=6
    )
    ax.legend(fontsize=7)
    for c, name in enumerate(list(measured["per_video"])[:3], start=1):
        ax = axes[2, c]
        m = measured["per_video"][name]["statistics"]["joints"]
        s = synthetic["per_video"][name]["joints"]
        ax.bar(x - 0.2, [m[n]["jitter"] for n in NAMES], 0.4, color="k", label="real")
        ax.bar(x + 0.2, [s[n]["jitter"] for n in NAMES], 0.4, color="tab:red", label="synthetic")
        ax.set_title(f"jitter per joint, {name} (torso lengths)", fontsize=9)
        ax.set_xticks(
            x, [n.replace("left_", "L ").replace("right_", "R ") for n in NAMES], rotation=90, fontsize=6
        )
        ax.legend(fontsize=7)
    for ax in axes[2, len(measured["per_video"]) + 1 :]:
        ax.axis("off")
    fig.suptitle(
        f"Pose-estimator noise: measured ({measured['backend']}, "
        f"{measured['pooled']['person_frames']} person-frames) vs synthetic",
        fontsize=11,
    )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
