"""``act-ros dataset mocap-report``: the measured-vs-synthetic noise table and histograms, and
the picture of synthesized skeletons next to real pose-estimator skeletons.

Real skeletons: the project's pose backend on the bundled demo clip (the woman walking, frames
45-198, see act_ros/data/sports2d_demo_labels.csv), and the real LZQ recordings (OpenPose, a
webcam in front of the person) for squat and wave, the only real footage of those actions
here. Synthetic ones: the same actions from the mocap data, filmed from the same side (walk:
from the side, as in the clip; squat, wave: from the front, as LZQ's webcam), at the same frame
rate and person size, with the measured noise.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from act_ros.datasets.mocap.compare import noise_motions, synthetic_statistics
from act_ros.datasets.mocap.figures import noise_histograms, side_camera, skeleton_strips, synthetic_track
from act_ros.datasets.mocap.mix import DEFAULT_MOCAP_DIR, cmu_items, hdm05_items, load_item
from act_ros.datasets.mocap.noise import NOISE_FILE, NoiseModel
from act_ros.datasets.mocap.noise_stats import summary_table, torso_length
from act_ros.datasets.mocap.taxonomy import load_taxonomy

DEMO_WALK = (45, 198)  # frames of the walking woman in the demo clip
LZQ_SIZE = (640, 480)


def demo_walk_track(overrides: dict) -> tuple[np.ndarray, tuple[int, int]]:
    """(T, 17, 3) the pose backend's track of the walking woman in the bundled clip."""
    import act_ros.data
    from act_ros.datasets.mocap.measure import video_tracks

    clip = Path(act_ros.data.__file__).with_name("sports2d_demo.mp4")
    tracks, _, info = video_tracks(clip, overrides)
    best, cover = None, -1
    for track, start in zip(tracks, info["track_starts"]):
        a, b = max(DEMO_WALK[0], start), min(DEMO_WALK[1], start + len(track) - 1)
        frames = track[a - start : b - start + 1] if b >= a else track[:0]
        n = int((frames[..., 2].max(axis=1) > 0).sum())
        if n > cover:
            best, cover = frames, n
    if best is None:
        raise RuntimeError("the pose backend found nobody walking in the demo clip")
    return best, tuple(info["image_size"])


def lzq_track(class_name: str) -> np.ndarray:
    from act_ros.datasets.lzq import read_recordings
    from act_ros.datasets.mocap.mix import _bundled_lzq
    from act_ros.layouts import COCO18, to_coco17

    rec = next(r for r in read_recordings(_bundled_lzq()) if r.class_name == class_name)
    return to_coco17(rec.frames, COCO18)


def pick(items, key: str):
    return next(i for i in items if i.key == key)


def comparison_rows(mocap_dir: Path, noise: NoiseModel, overrides: dict, seed: int = 0):
    taxonomy = load_taxonomy()
    cmu, _ = cmu_items(mocap_dir, taxonomy)
    hdm, _ = hdm05_items(mocap_dir, taxonomy)
    walk_real, size = demo_walk_track(overrides)
    rows = [(f"walk, real\n{overrides.get('backend', 'mediapipe')} on the demo clip", walk_real)]
    walk = load_item(pick(cmu, "cmu:07_01"))
    from act_ros.datasets.mocap.coco17 import motion_to_coco17

    torso = float(np.nanmedian(torso_length(walk_real)))
    cam = side_camera(walk, motion_to_coco17(walk), 90.0, torso, *size)
    rows.append(("walk, synthetic\nCMU 07_01, side view", synthetic_track(walk, noise, 30.0, cam, seed)))
    for cls, key, label in (
        ("squat", "hdm05:HDM_bd_squat1Reps_001_120", "HDM05 bd squat"),
        ("wave", "cmu:141_16", "CMU 141_16"),
    ):
        real = lzq_track(cls)
        rows.append((f"{cls}, real\nLZQ (OpenPose, webcam)", real[:120]))
        motion = load_item(pick(hdm if key.startswith("hdm05") else cmu, key))
        t = float(np.nanmedian(torso_length(real)))
        cam = side_camera(motion, motion_to_coco17(motion), 0.0, t, *LZQ_SIZE, camera_height_m=1.3)
        rows.append(
            (f"{cls}, synthetic\n{label}, front view", synthetic_track(motion, noise, 10.0, cam, seed))
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="act-ros dataset mocap-report", description=__doc__.split("\n")[0])
    parser.add_argument("--mocap", type=Path, default=DEFAULT_MOCAP_DIR)
    parser.add_argument("--noise", type=Path, default=NOISE_FILE)
    parser.add_argument("--docs", type=Path, default=Path("docs"), help="where the PNGs go")
    parser.add_argument("--backend", default="mediapipe", help="for the real demo-clip skeletons")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    measured = json.loads(args.noise.read_text())
    noise = NoiseModel.from_file(args.noise)
    synthetic = synthetic_statistics(noise_motions(args.mocap), measured, noise, seed=args.seed)
    print(f"pooled ({measured['backend']}, {measured['pooled']['person_frames']} person-frames):")
    print(summary_table(measured["pooled"], synthetic["pooled"]))
    for name, video in measured["per_video"].items():
        stats = video["statistics"]
        print(
            f"\n{name} ({stats['person_frames']} person-frames, {video['info']['frame_rate']:g} "
            f"fps, torso {stats['torso_px']:.0f} px real / "
            f"{synthetic['per_video'][name]['torso_px']:.0f} px synthetic):"
        )
        print(summary_table(stats, synthetic["per_video"][name]))
    hist = noise_histograms(measured, synthetic, args.docs / "mocap_noise_histograms.png")
    rows = comparison_rows(
        args.mocap, noise, {"backend": args.backend, **measured.get("parameters", {})}, args.seed
    )
    strips = skeleton_strips(
        rows,
        args.docs / "mocap_vs_real_skeletons.png",
        title="Synthesized from motion capture vs real pose-estimator output",
    )
    print(f"wrote {hist} and {strips}")
    return 0
