"""Top-down backend vs MediaPipe Tasks: cost per frame by people count, tracking reuse, the pose
node's overhead and end-to-end `act-ros run`, all in one run on the same frames.

    .venv/bin/python benchmarks/bench_topdown.py [--frames 60] [--warmup 5] [--cpu 0]
        [--sections cost,node,run] [--json PATH]

cost  640x480 frames holding 1, 2, 5 and 10 people: a grid of tiles, each a real crop of the
      bundled clip (the man on the box, frames 0-90, every tile a few frames apart so the people
      move differently). Every backend runs every frame, in turn (the order rotates per frame), so
      all see the same machine load; the process is pinned to one core (``--cpu``) and every
      model runs on one thread. Top-down with the detector on every frame
      (``detection_interval=1``) and with tracking reuse (the default interval). Median ms per
      frame, people found per frame; a least-squares fit ``a + b x people`` of the reuse rows.
node  the pose node in this process (real rclpy node, image messages, tracker, publishing)
      calling its own ``process()`` on 640x480 frames of the bundled clip, interleaved with the
      raw estimator on the same frames: node / estimator time.
run   ``act-ros run`` on the bundled clip (1768x994, 230 frames) with each backend: frames/s
      as the command reports it (both nodes, real DDS on loopback, AcT, every frame).

The machine is shared: compare numbers of one run (the header gives the load average).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
for _path in (ROOT, HERE):  # runnable from a source checkout; node_harness is a sibling module
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from act_ros import environment  # noqa: E402  (ROS-free: safe before rclpy)

PEOPLE = (1, 2, 5, 10)
GRIDS = {1: (1, 1), 2: (2, 1), 5: (3, 2), 10: (5, 2)}  # columns, rows
WINDOW = (520, 0, 960, 480)  # the man on the box in the bundled clip, frames 0-90 (x0, y0, x1, y1)
SIZE = (640, 480)

# label -> (backend, options, detection_interval or None)
CONFIGS: dict[str, tuple[str, dict[str, Any]]] = {
    "mediapipe-lite": ("mediapipe", {"variant": "lite"}),
    "mediapipe-full": ("mediapipe", {"variant": "full"}),
    "topdown-lite, detector every frame": ("topdown", {"variant": "lite", "detection_interval": 1}),
    "topdown-lite, tracking reuse": ("topdown", {"variant": "lite"}),
    "topdown-full, detector every frame": ("topdown", {"variant": "full", "detection_interval": 1}),
    "topdown-full, tracking reuse": ("topdown", {"variant": "full"}),
}


def clip_frames(count: int, start: int = 0) -> list[np.ndarray]:
    from act_ros.data import demo_video_path

    cap = cv2.VideoCapture(str(demo_video_path()))
    frames = []
    for index in range(start + count):
        ok, bgr = cap.read()
        if not ok:
            break
        if index >= start:
            frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    cap.release()
    return frames


def _fit(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """``image`` scaled to fit width x height, centred on grey."""
    scale = min(width / image.shape[1], height / image.shape[0])
    small = cv2.resize(
        image,
        (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale))),
        interpolation=cv2.INTER_AREA,
    )
    out = np.full((height, width, 3), 114, np.uint8)
    y, x = (height - small.shape[0]) // 2, (width - small.shape[1]) // 2
    out[y : y + small.shape[0], x : x + small.shape[1]] = small
    return out


def mosaic_frames(people: int, count: int, clip: list[np.ndarray]) -> list[np.ndarray]:
    """``count`` 640x480 frames, each a grid of ``people`` tiles of the man on the box."""
    cols, rows = GRIDS[people]
    width, height = SIZE[0] // cols, SIZE[1] // rows
    x0, y0, x1, y1 = WINDOW
    frames = []
    for i in range(count):
        canvas = np.full((SIZE[1], SIZE[0], 3), 114, np.uint8)
        for k in range(people):
            source = clip[(i + 9 * k) % len(clip)][y0:y1, x0:x1]
            r, c = divmod(k, cols)
            canvas[r * height : (r + 1) * height, c * width : (c + 1) * width] = _fit(source, width, height)
        frames.append(canvas)
    return frames


def run_cost(args: argparse.Namespace) -> dict[str, Any]:
    from tqdm import tqdm

    from act_ros.pose import create_estimator

    clip = clip_frames(91)
    results: dict[str, dict[int, dict[str, float]]] = {name: {} for name in CONFIGS}
    for people in PEOPLE:
        frames = mosaic_frames(people, args.frames + args.warmup, clip)
        estimators = {
            name: create_estimator(b, num_poses=max(PEOPLE) + 2, num_threads=1, **o)
            for name, (b, o) in CONFIGS.items()
        }
        times: dict[str, list[float]] = {name: [] for name in CONFIGS}
        found: dict[str, list[int]] = {name: [] for name in CONFIGS}
        names = list(CONFIGS)
        try:
            for i, frame in enumerate(tqdm(frames, desc=f"{people} people", leave=False)):
                order = names[i % len(names) :] + names[: i % len(names)]
                for name in order:
                    t0 = time.perf_counter()
                    det = estimators[name].estimate(frame, i * 33_333_333)
                    if i >= args.warmup:
                        times[name].append(time.perf_counter() - t0)
                        found[name].append(len(det))
        finally:
            for est in estimators.values():
                est.close()
        for name in CONFIGS:
            ms = np.array(times[name]) * 1e3
            results[name][people] = {
                "median_ms": float(np.median(ms)),
                "p90_ms": float(np.percentile(ms, 90)),
                "mean_ms": float(ms.mean()),
                "people": float(np.mean(found[name])),
            }
    fits = {}
    for name in CONFIGS:
        if name.startswith("topdown"):
            x = np.array([results[name][n]["people"] for n in PEOPLE])
            y = np.array([results[name][n]["median_ms"] for n in PEOPLE])
            b, a = np.polyfit(x, y, 1)
            fits[name] = {"ms": float(a), "ms_per_person": float(b)}
    return {"results": results, "fits": fits}


def print_cost(res: dict[str, Any], args: argparse.Namespace) -> None:
    print(
        f"### Cost per 640x480 frame by people in view ({args.frames} timed frames after "
        f"{args.warmup}; one core (CPU {args.cpu}), one thread per model; load average "
        f"{os.getloadavg()[0]:.2f})"
    )
    print(
        "Frames: grids of 1, 2, 5, 10 real crops of the bundled clip's man on the box; every "
        "backend on every frame, in turn."
    )
    print("| backend | people in view | median ms | p90 ms | people found |")
    print("|---|---|---|---|---|")
    for name, by_n in res["results"].items():
        for n in PEOPLE:
            r = by_n[n]
            print(f"| {name} | {n} | {r['median_ms']:.1f} | {r['p90_ms']:.1f} | {r['people']:.1f} |")
    base = res["results"]["mediapipe-full"][1]["median_ms"]
    for name, fit in res["fits"].items():
        one = res["results"][name][1]["median_ms"]
        print(
            f"- {name}: {fit['ms']:.1f} ms + {fit['ms_per_person']:.1f} ms per person "
            f"(least squares over the four columns); one person = {one / base:.2f}x MediaPipe full"
        )
    print()


def run_node(args: argparse.Namespace) -> dict[str, Any]:
    """The pose node's process() vs its raw estimator, interleaved, per backend."""
    import node_harness as nh

    from act_ros.pose import create_estimator
    from act_ros.ros.pose_node import PoseNode

    nh.setup_environment("project", Path(tempfile.mkdtemp(prefix="act_ros_bench_topdown_")))
    frames = [_fit(f, *SIZE) for f in clip_frames(args.frames + args.warmup, start=60)]
    step = 33_333_333
    msgs = [nh.image_message(f, "rgb8", nh.STAMP0_NS + i * step) for i, f in enumerate(frames)]
    out: dict[str, Any] = {}
    for backend in ("mediapipe", "topdown"):
        host = nh.host("bench_topdown_node")
        try:
            node = host.create(PoseNode, {"backend": backend, "no_input_warning": 0.0})
            raw = create_estimator(backend, num_poses=node.params["num_poses"])
            node_s, raw_s = [], []
            try:
                for i, (rgb, msg) in enumerate(zip(frames, msgs)):
                    t0 = time.perf_counter()
                    raw.estimate(rgb, nh.STAMP0_NS + i * step)
                    t1 = time.perf_counter()
                    node.process(msg)
                    if i >= args.warmup:
                        raw_s.append(t1 - t0)
                        node_s.append(time.perf_counter() - t1)
            finally:
                raw.close()
        finally:
            host.close()
        out[backend] = {"raw_ms": float(np.mean(raw_s) * 1e3), "node_ms": float(np.mean(node_s) * 1e3)}
    return out


def print_node(res: dict[str, Any], args: argparse.Namespace) -> None:
    print(
        f"### Pose node overhead over the raw backend (640x480 frames 60+ of the bundled clip, "
        f"{args.frames} timed; load average {os.getloadavg()[0]:.2f})"
    )
    print("| backend | raw estimate() ms | node process() ms | overhead |")
    print("|---|---|---|---|")
    for backend, r in res.items():
        print(
            f"| {backend} | {r['raw_ms']:.1f} | {r['node_ms']:.1f} | "
            f"{100 * (r['node_ms'] / r['raw_ms'] - 1):+.0f} % |"
        )
    print("process() = message to RGB, the pipeline (estimator + tracker), the pose message, publish.")
    print()


def run_end_to_end(args: argparse.Namespace) -> dict[str, Any]:
    from act_ros.data import demo_video_path

    out = {}
    for backend in ("mediapipe", "topdown"):
        with tempfile.TemporaryDirectory() as tmp:
            params = Path(tmp) / "params.yaml"
            params.write_text(f"pose_node:\n  ros__parameters:\n    backend: {backend}\n")
            cmd = [
                sys.executable,
                "-m",
                "act_ros.cli",
                "run",
                "--source",
                str(demo_video_path()),
                "--quiet",
                "--params-file",
                str(params),
            ]
            if args.max_frames:
                cmd += ["--max-frames", str(args.max_frames)]
            env = environment.apply(dict(os.environ))
            env.setdefault("TQDM_DISABLE", "1")
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=1800, env=env, cwd=ROOT)
        match = re.search(r"(\d+) frames in ([\d.]+) s \(([\d.]+) fps\)", done.stderr)
        if done.returncode != 0 or match is None:
            raise RuntimeError(f"act-ros run ({backend}) failed ({done.returncode}): {done.stderr[-2000:]}")
        out[backend] = {
            "frames": int(match.group(1)),
            "seconds": float(match.group(2)),
            "fps": float(match.group(3)),
        }
    return out


def print_end_to_end(res: dict[str, Any]) -> None:
    print(
        f"### `act-ros run` on the bundled clip (1768x994, every frame; {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.2f})"
    )
    print("| pose backend | frames | seconds | frames/s |")
    print("|---|---|---|---|")
    for backend, r in res.items():
        print(f"| {backend} | {r['frames']} | {r['seconds']:.1f} | {r['fps']:.1f} |")
    print()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=60, help="timed frames per setting")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--cpu", type=int, default=0, help="CPU the cost section is pinned to")
    parser.add_argument("--sections", default="cost,node,run")
    parser.add_argument("--max-frames", type=int, default=0, help="act-ros run: stop after these")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--quick", action="store_true", help="a tiny run (smoke test; numbers mean nothing)")
    args = parser.parse_args(argv)
    if args.quick:
        args.frames, args.warmup, args.max_frames = 3, 1, 12
    sections = [s for s in args.sections.split(",") if s]
    print(f"bench_topdown: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at the start")
    out: dict[str, Any] = {}
    if "cost" in sections:
        affinity = os.sched_getaffinity(0)
        os.sched_setaffinity(0, {args.cpu})
        try:
            out["cost"] = run_cost(args)
        finally:
            os.sched_setaffinity(0, affinity)
        print_cost(out["cost"], args)
    if "node" in sections:
        out["node"] = run_node(args)
        print_node(out["node"], args)
    if "run" in sections:
        out["run"] = run_end_to_end(args)
        print_end_to_end(out["run"])
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
