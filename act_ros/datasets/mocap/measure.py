"""Measure a pose backend's output statistics on real footage (``act-ros dataset measure-noise``).

Runs the project's own pose pipeline (:func:`act_ros.assembly.pose_pipeline_from_parameters`:
the backend, its tracker, the pose node's defaults) over real videos, cuts the output into per-person tracks
and computes :func:`act_ros.datasets.mocap.noise_stats.track_statistics` per video and pooled.
The result is a small JSON file that the synthesis reads (``noise.NoiseModel.from_file``), so
re-measuring with another backend is one command:

    act-ros dataset measure-noise --backend mediapipe --footage act_ros/data/sports2d_demo.mp4 \\
        ~/.cache/act_ros/test-footage/vtest.avi -o act_ros/datasets/mocap/pose_noise.json
"""

from __future__ import annotations

import argparse
import datetime
import json
import re
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from tqdm import tqdm

from act_ros.datasets.mocap.noise_stats import track_statistics
from act_ros.layouts import NUM_KEYPOINTS

MIN_TRACK_FRAMES = 10  # shorter tracks are mostly false or passing detections


def video_tracks(
    path: Path, overrides: dict[str, Any], max_frames: int = 0
) -> tuple[list[np.ndarray], float, dict[str, Any]]:
    """Per-person (T, 17, 3) tracks of one video (absent frames zero) and its frame rate."""
    from act_ros.assembly import pose_pipeline_from_parameters

    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise FileNotFoundError(f"cannot open video {path}")
    fps = float(cap.get(cv2.CAP_PROP_FPS)) or 30.0
    total = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) or None
    pipeline = pose_pipeline_from_parameters(overrides)
    per_track: dict[int, dict[int, np.ndarray]] = {}
    frame = 0
    info: dict[str, Any] = {"file": path.name, "frame_rate": fps}
    try:
        with tqdm(
            total=min(total or 0, max_frames or total or 0) or None, desc=path.name, unit="frame"
        ) as bar:
            while not max_frames or frame < max_frames:
                ok, bgr = cap.read()
                if not ok:
                    break
                if not frame:
                    info["image_size"] = [int(bgr.shape[1]), int(bgr.shape[0])]
                rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
                det = pipeline.process(rgb, int(frame * 1e9 / fps))
                for kp, tid in zip(det.keypoints, det.track_ids):
                    if tid:
                        per_track.setdefault(int(tid), {})[frame] = kp
                frame += 1
                bar.update(1)
        info["backend"] = pipeline.estimator.name
    finally:
        pipeline.close()
        cap.release()
    tracks, starts = [], []
    for frames in per_track.values():
        if len(frames) < MIN_TRACK_FRAMES:
            continue
        first, last = min(frames), max(frames)
        track = np.zeros((last - first + 1, NUM_KEYPOINTS, 3))
        for f, kp in frames.items():
            track[f - first] = kp
        tracks.append(track)
        starts.append(first)
    info.update(frames=frame, tracks=len(tracks), track_starts=starts)
    return tracks, fps, info


def measure(footage: list[Path], overrides: dict[str, Any], max_frames: int = 0) -> dict:
    """Statistics per video and pooled (pooled jitter mixes frame rates: see per_video)."""
    all_tracks: list[np.ndarray] = []
    per_video = {}
    rates = []
    backend = ""
    for path in footage:
        tracks, fps, info = video_tracks(Path(path), overrides, max_frames)
        backend = info.get("backend", backend)
        per_video[info["file"]] = {"info": info, "statistics": track_statistics(tracks, fps)}
        all_tracks += tracks
        rates += [fps] * sum(len(t) for t in tracks)
    return {
        "backend": backend,
        "parameters": overrides,
        "measured": datetime.date.today().isoformat(),
        "command": "act-ros dataset measure-noise",
        "pooled": track_statistics(all_tracks, float(np.median(rates)) if rates else 0.0),
        "per_video": per_video,
    }


def _value(text: str) -> Any:
    """A command-line parameter value as the type the parameter tables expect."""
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def compact_json(data: dict) -> str:
    """Indented JSON with every list of numbers on one line (a small, diffable file)."""
    text = json.dumps(data, indent=1)
    return (
        re.sub(
            r"\[\s*([-0-9.eE,\s]+?)\s*\]",
            lambda m: "[" + ", ".join(v.strip() for v in m.group(1).split(",")) + "]",
            text,
        )
        + "\n"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="act-ros dataset measure-noise", description=__doc__.split("\n")[0])
    parser.add_argument("--footage", type=Path, nargs="+", required=True, help="real videos")
    parser.add_argument("--backend", default="mediapipe", help="pose backend (create_estimator)")
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="other pose-node parameters, e.g. model_variant=full",
    )
    parser.add_argument("--max-frames", type=int, default=0, help="per video (0 = all)")
    parser.add_argument(
        "--mocap",
        type=Path,
        default=Path("../shared/data/mocap"),
        help="CMU walks to calibrate the jitter with (compare.calibrate); "
        "a missing folder skips the calibration",
    )
    parser.add_argument("-o", "--output", type=Path, required=True)
    args = parser.parse_args(argv)
    overrides: dict[str, Any] = {"backend": args.backend}
    for item in args.param:
        name, _, value = item.partition("=")
        overrides[name] = _value(value)
    result = measure(args.footage, overrides, args.max_frames)
    if (args.mocap / "cmu" / "index.csv").is_file():
        from act_ros.datasets.mocap.compare import calibrate
        from act_ros.datasets.mocap.noise import NoiseModel
        from act_ros.datasets.mocap.compare import noise_motions

        noise = NoiseModel.from_statistics(
            result["pooled"], [v["statistics"] for v in result["per_video"].values()], result["backend"]
        )
        result["jitter_fit"] = calibrate(noise_motions(args.mocap), result, noise)
    else:
        print(f"no mocap data in {args.mocap}: jitter not calibrated (see compare.calibrate)")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(compact_json(result))
    from act_ros.datasets.mocap.noise_stats import summary_table

    print(summary_table(result["pooled"]))
    print(
        f"wrote {args.output} ({result['pooled']['person_frames']} person-frames, backend "
        f"{result['backend']})"
    )
    return 0
