"""People found on hand-counted real footage: MediaPipe Tasks vs the top-down backend.

    .venv/bin/python benchmarks/pose_recall.py [--backends mediapipe-full,topdown-lite,topdown-full]
        [--scenes vtest,...] [--montage docs/topdown_vs_mediapipe.jpg]
    .venv/bin/python benchmarks/pose_recall.py --candidates DIR   # pictures for labelling

Labels: ``act_ros/data/multi_person_labels.json`` (sources, licences and the counting rules are
in that file; the footage is fetched from Debian and PyPI packages on first use, see
``act_ros/data/footage.py``). Every backend runs with its node defaults in VIDEO mode over each
clip from its first frame to the last labelled one; the table counts, per scene group, the
people present on the labelled frames, the ones found and the false positives
(``act_ros/pose/people_count.py`` says how poses are matched to the labelled boxes).

``--candidates`` draws, for every labelled frame, numbered candidate boxes (raw detector boxes at
a low threshold whose crop the landmark model accepts, and the poses of both backends with low
thresholds) on a 50-pixel grid: the pictures the labels were made from.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # runnable from a source checkout without installing
    sys.path.insert(0, str(ROOT))

from act_ros.pose import create_estimator  # noqa: E402
from act_ros.pose.people_count import (  # noqa: E402
    LABELS_PATH,
    Count,
    Scene,
    count_frame,
    load_scenes,
    run_on_scene,
)

# name -> (backend, options): the node defaults of each backend.
BACKENDS: dict[str, tuple[str, dict[str, Any]]] = {
    "mediapipe-lite": ("mediapipe", {"variant": "lite", "num_poses": 20}),
    "mediapipe-full": ("mediapipe", {"variant": "full", "num_poses": 20}),
    "topdown-lite": ("topdown", {"variant": "lite", "num_poses": 20}),
    "topdown-full": ("topdown", {"variant": "full", "num_poses": 20}),
}


def evaluate(scenes: list[Scene], names: list[str], keep_frames: set[tuple[str, int]] | None = None):
    """{backend: {scene: {frame: (Count, PoseDetections)}}} for every labelled frame."""
    from tqdm import tqdm

    results: dict[str, dict[str, dict[int, tuple[Count, Any]]]] = {}
    for name in names:
        backend, options = BACKENDS[name]
        results[name] = {}
        for scene in tqdm(scenes, desc=name, leave=False):
            with create_estimator(backend, **options) as estimator:
                detections = run_on_scene(scene, estimator.estimate)
            results[name][scene.name] = {
                f.index: (count_frame(f, detections[f.index]), detections[f.index]) for f in scene.frames
            }
    return results


def recall_table(scenes: list[Scene], results) -> str:
    groups: list[str] = []
    for s in scenes:
        if s.group not in groups:
            groups.append(s.group)
    names = list(results)
    head = (
        "| scene | frames | people present | "
        + " | ".join(f"found by {n} (false pos.)" for n in names)
        + " |"
    )
    rows = [head, "|" + "---|" * (3 + len(names))]
    for group in groups:
        members = [s for s in scenes if s.group == group]
        frames = sum(len(s.frames) for s in members)
        present = sum(f.people for s in members for f in s.frames)
        cells = []
        for n in names:
            total = Count()
            for s in members:
                for count, _ in results[n][s.name].values():
                    total.add(count)
            cells.append(f"{total.found} ({100 * total.recall:.0f} %), {total.false_positives}")
        rows.append(f"| {group} | {frames} | {present} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


# --- pictures -----------------------------------------------------------------------------------
def _label_bar(bgr: np.ndarray, text: str) -> np.ndarray:
    bar = np.full((max(28, bgr.shape[0] // 18), bgr.shape[1], 3), 255, np.uint8)
    scale = bar.shape[0] / 40
    cv2.putText(
        bar,
        text,
        (8, int(bar.shape[0] * 0.72)),
        cv2.FONT_HERSHEY_SIMPLEX,
        scale,
        (0, 0, 0),
        max(1, round(scale * 2)),
        cv2.LINE_AA,
    )
    return np.vstack([bar, bgr])


def montage(scenes: list[Scene], results, picks: list[tuple[str, int]], path: Path, width: int = 640) -> None:
    """Rows = picked frames, columns = backends, skeletons drawn; saved as JPEG/PNG."""
    from act_ros.drawing import draw_poses
    from act_ros.pose.people_count import iter_frames

    by_name = {s.name: s for s in scenes}
    rows = []
    for scene_name, index in picks:
        scene = by_name[scene_name]
        rgb = next(f for i, _, f in iter_frames(scene, last=index) if i == index)
        labelled = next(f for f in scene.frames if f.index == index)
        tiles = []
        for name, per_scene in results.items():
            count, det = per_scene[scene_name][index]
            bgr = draw_poses(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), det, {})
            scale = width / bgr.shape[1]
            bgr = cv2.resize(bgr, (width, round(bgr.shape[0] * scale)), interpolation=cv2.INTER_AREA)
            tiles.append(
                _label_bar(
                    bgr,
                    f"{name}: {count.found} of {labelled.people} people"
                    f"{f', {count.false_positives} false' if count.false_positives else ''}"
                    f"  ({scene_name} #{index})",
                )
            )
        rows.append(np.hstack(tiles))
    width_max = max(r.shape[1] for r in rows)
    rows = [np.pad(r, ((0, 0), (0, width_max - r.shape[1]), (0, 0)), constant_values=255) for r in rows]
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.vstack(rows), [cv2.IMWRITE_JPEG_QUALITY, 85])


def candidates(scenes: list[Scene], out_dir: Path) -> None:
    """Numbered candidate boxes per labelled frame (PNG) and their coordinates (JSON)."""
    from act_ros.pose.blazepose_landmarks import BlazePoseLandmarker, roi_from_box
    from act_ros.pose.boxes import box_iou
    from act_ros.pose.person_detector import SsdPersonDetector
    from act_ros.pose.topdown_models import detector_files, landmark_model_path

    out_dir.mkdir(parents=True, exist_ok=True)
    detector = SsdPersonDetector(*detector_files(), score_threshold=0.15, nms_iou=0.5)
    landmarker = BlazePoseLandmarker(landmark_model_path("full"))
    found: dict[str, dict[int, list[list[float]]]] = {}
    loose = {
        "topdown": (
            "topdown",
            {
                "variant": "full",
                "num_poses": 20,
                "min_detection_confidence": 0.2,
                "min_presence_confidence": 0.3,
            },
        ),
        "mediapipe": (
            "mediapipe",
            {
                "variant": "full",
                "num_poses": 30,
                "min_detection_confidence": 0.2,
                "min_presence_confidence": 0.2,
            },
        ),
    }
    frames: dict[tuple[str, int], np.ndarray] = {}
    for backend, options in loose.values():
        for scene in scenes:

            def keep(index, rgb, det, scene=scene):
                frames[(scene.name, index)] = rgb
                found.setdefault(scene.name, {}).setdefault(index, []).extend(det.boxes.tolist())

            with create_estimator(backend, **options) as est:
                run_on_scene(scene, est.estimate, on_frame=keep)
    table: dict[str, dict[int, list[list[int]]]] = {}
    for (scene_name, index), rgb in frames.items():
        boxes, _ = detector.detect(rgb)
        accepted = [b for b in boxes if landmarker.run(rgb, roi_from_box(b, 1.25)).presence >= 0.3]
        merged: list[np.ndarray] = []
        for box in accepted + [np.asarray(b, np.float32) for b in found[scene_name][index]]:
            if merged and box_iou(np.stack(merged + [box]))[-1, :-1].max() > 0.5:
                continue
            merged.append(box)
        bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
        h, w = bgr.shape[:2]
        for x in range(0, w, 50):
            cv2.line(bgr, (x, 0), (x, h), (200, 200, 200) if x % 100 else (255, 255, 255), 1)
            cv2.putText(bgr, str(x), (x + 1, 10), cv2.FONT_HERSHEY_SIMPLEX, 0.3, (255, 255, 255), 1)
        for y in range(0, h, 50):
            cv2.line(bgr, (0, y), (w, y), (200, 200, 200) if y % 100 else (255, 255, 255), 1)
            cv2.putText(bgr, str(y), (1, y - 1), cv2.FONT_HERSHEY_SIMPLEX, 0.3, (255, 255, 255), 1)
        for k, box in enumerate(merged):
            color = [(0, 0, 255), (0, 200, 0), (255, 0, 0), (0, 200, 255), (255, 0, 255)][k % 5]
            x0, y0, x1, y1 = (int(round(v)) for v in box)
            cv2.rectangle(bgr, (x0, y0), (x1, y1), color, 1)
            cv2.putText(bgr, str(k), (x0, max(10, y0 - 2)), cv2.FONT_HERSHEY_SIMPLEX, 0.45, color, 1)
        cv2.imwrite(str(out_dir / f"{scene_name}_{index:04d}.png"), bgr)
        table.setdefault(scene_name, {})[index] = [[int(round(v)) for v in b] for b in merged]
    (out_dir / "candidates.json").write_text(json.dumps(table, indent=1, sort_keys=True))
    print(f"{len(frames)} frames with candidates in {out_dir}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--backends",
        default="mediapipe-full,topdown-lite,topdown-full",
        help=f"comma-separated subset of {', '.join(BACKENDS)}",
    )
    parser.add_argument("--scenes", default="", help="comma-separated scene names (default: all)")
    parser.add_argument("--labels", type=Path, default=LABELS_PATH)
    parser.add_argument(
        "--montage", type=Path, default=None, help="also save skeletons of every backend side by side here"
    )
    parser.add_argument(
        "--montage-frames",
        default="vtest:300,pose2sim_cam02:50,sports2d_demo:125",
        help="scene:frame rows of the montage",
    )
    parser.add_argument("--json", type=Path, default=None, help="also save per-frame counts here")
    parser.add_argument(
        "--candidates", type=Path, default=None, help="only draw labelling candidates into this folder"
    )
    args = parser.parse_args(argv)

    scenes = load_scenes(args.labels)
    if args.scenes:
        wanted = set(args.scenes.split(","))
        scenes = [s for s in scenes if s.name in wanted or s.group in wanted]
    if args.candidates:
        candidates(scenes, args.candidates)
        return 0
    names = [n for n in args.backends.split(",") if n]
    unknown = [n for n in names if n not in BACKENDS]
    if unknown:
        parser.error(f"unknown backends {unknown}; choose from {', '.join(BACKENDS)}")
    t0 = time.perf_counter()
    results = evaluate(scenes, names)
    print(
        f"\nPeople found on {sum(len(s.frames) for s in scenes)} hand-counted frames "
        f"({args.labels.name}); every backend with its defaults (num_poses=20), VIDEO mode over "
        f"each clip; {time.perf_counter() - t0:.0f} s, load average {os.getloadavg()[0]:.2f}"
    )
    print(recall_table(scenes, results))
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    n: {
                        s: {i: [c.present, c.found, c.false_positives] for i, (c, _) in frames.items()}
                        for s, frames in per.items()
                    }
                    for n, per in results.items()
                },
                indent=1,
            )
        )
    if args.montage:
        picks = [(p.split(":")[0], int(p.split(":")[1])) for p in args.montage_frames.split(",")]
        montage(scenes, results, [p for p in picks if any(s.name == p[0] for s in scenes)], args.montage)
        print(f"montage: {args.montage}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
