"""Raw pose-estimator speed: MediaPipe lite/full/heavy x threads x image size, on real frames.

    .venv/bin/python benchmarks/bench_pose.py [--frames 120] [--variants lite,full,heavy]
        [--threads 1,2] [--sizes native,640x360] [--png bench_pose.png]

Each configuration runs a fresh estimator in VIDEO mode over the same consecutive frames (from
the first one: MediaPipe's results depend on what it saw before) of the demo clip (``act_ros/data/sports2d_demo.mp4``, 1768x994, two people) after a few warm-up frames,
and reports the time per ``estimate()`` call (median, p90), the throughput (1 / mean) and the
process CPU time per wall second (1.0 = one busy core). Other processes on the machine inflate
these numbers: compare rows of one run. The pose node benchmark compares its throughput with
:func:`measure_estimator` on the same frames.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any
from collections.abc import Sequence

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # runnable from a source checkout without installing
    sys.path.insert(0, str(ROOT))

from act_ros.pose import create_estimator  # noqa: E402


def load_frames(
    path: str | Path | None = None, count: int = 60, size: tuple[int, int] | None = None, start: int = 0
) -> list[np.ndarray]:
    """``count`` consecutive RGB frames of a video (default: the demo clip), optionally resized."""
    if path is None:
        from act_ros.data import demo_video_path

        path = demo_video_path()
    cap = cv2.VideoCapture(str(path))
    frames: list[np.ndarray] = []
    index = 0
    while len(frames) < count:
        ok, bgr = cap.read()
        if not ok:
            break
        if index >= start:
            if size is not None:
                bgr = cv2.resize(bgr, size, interpolation=cv2.INTER_AREA)
            frames.append(np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)))
        index += 1
    cap.release()
    if not frames:
        raise RuntimeError(f"no frames read from {path}")
    return frames


def measure_estimator(
    frames: Sequence[np.ndarray],
    backend: str = "mediapipe",
    *,
    warmup: int = 5,
    fps: float = 30.0,
    **options: Any,
) -> dict[str, float]:
    """Time ``estimate()`` of a fresh estimator over ``frames`` (stamps spaced 1/fps apart).

    Returns median_ms, p90_ms, mean_ms, fps (1000 / mean_ms), cpu (process CPU seconds per
    wall second during the timed part), people (mean per frame), frames (timed) and
    init_ms (estimator creation). The first ``warmup`` frames are run but not timed.
    """
    if len(frames) <= warmup:
        raise ValueError(f"need more than warmup={warmup} frames, got {len(frames)}")
    t0 = time.perf_counter()
    estimator = create_estimator(backend, **options)
    init_ms = (time.perf_counter() - t0) * 1e3
    step_ns = int(round(1e9 / fps))
    times: list[float] = []
    people = 0
    try:
        for i, frame in enumerate(frames[:warmup]):
            estimator.estimate(frame, i * step_ns)
        cpu0, wall0 = time.process_time(), time.perf_counter()
        for i, frame in enumerate(frames[warmup:], start=warmup):
            t = time.perf_counter()
            det = estimator.estimate(frame, i * step_ns)
            times.append(time.perf_counter() - t)
            people += len(det)
        cpu = (time.process_time() - cpu0) / max(1e-9, time.perf_counter() - wall0)
    finally:
        estimator.close()
    ms = np.array(times) * 1e3
    return {
        "median_ms": float(np.median(ms)),
        "p90_ms": float(np.percentile(ms, 90)),
        "mean_ms": float(ms.mean()),
        "fps": float(1e3 / ms.mean()),
        "cpu": float(cpu),
        "people": people / len(times),
        "frames": float(len(times)),
        "init_ms": init_ms,
    }


def _parse_size(text: str) -> tuple[int, int] | None:
    if text == "native":
        return None
    w, _, h = text.partition("x")
    return int(w), int(h)


def _plot(rows: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [f"{r['variant']}\n{r['size']}\nt={r['threads']}" for r in rows]
    fig, ax = plt.subplots(figsize=(max(6, 0.9 * len(rows)), 4))
    ax.bar(range(len(rows)), [r["median_ms"] for r in rows], color="tab:blue", label="median")
    ax.errorbar(
        range(len(rows)),
        [r["median_ms"] for r in rows],
        yerr=[[0] * len(rows), [r["p90_ms"] - r["median_ms"] for r in rows]],
        fmt="none",
        ecolor="black",
        capsize=3,
        label="p90",
    )
    ax.set_xticks(range(len(rows)), labels, fontsize=8)
    ax.set_ylabel("ms per frame")
    ax.set_title("MediaPipe PoseLandmarker (VIDEO mode), demo clip, " + time.strftime("%Y-%m-%d"))
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--frames",
        type=int,
        default=120,
        help="timed frames per configuration (the clip's 2nd person enters at ~59)",
    )
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--variants", default="lite,full,heavy")
    parser.add_argument("--threads", default="1,2", help="num_threads values to request")
    parser.add_argument("--sizes", default="native,640x360", help="native and/or WxH")
    parser.add_argument("--num-poses", type=int, default=5)
    parser.add_argument("--video", default=None, help="another video instead of the demo clip")
    parser.add_argument("--png", type=Path, default=None, help="also save a bar chart here")
    args = parser.parse_args(argv)

    from tqdm import tqdm

    variants = [v for v in args.variants.split(",") if v]
    threads = [int(t) for t in args.threads.split(",") if t]
    sizes = [s for s in args.sizes.split(",") if s]
    frames_by_size = {s: load_frames(args.video, args.frames + args.warmup, _parse_size(s)) for s in sizes}
    configs = [(v, s, t) for s in sizes for v in variants for t in threads]
    rows = []
    for variant, size, n in tqdm(configs, desc="configurations", leave=False):
        r = measure_estimator(
            frames_by_size[size], warmup=args.warmup, variant=variant, num_poses=args.num_poses, num_threads=n
        )
        h, w = frames_by_size[size][0].shape[:2]
        rows.append({"variant": variant, "size": f"{w}x{h}", "threads": n, **r})

    import mediapipe

    print(
        f"\nMediaPipe {mediapipe.__version__} PoseLandmarker, VIDEO mode, num_poses={args.num_poses}; "
        f"{args.frames} timed frames after {args.warmup} warm-up; {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    print("| variant | image | threads asked | median ms | p90 ms | FPS | CPU (cores) | people/frame |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['variant']} | {r['size']} | {r['threads']} | {r['median_ms']:.1f} | "
            f"{r['p90_ms']:.1f} | {r['fps']:.1f} | {r['cpu']:.2f} | {r['people']:.2f} |"
        )
    print(
        "mediapipe's Tasks API has no thread setting: 'threads asked' changes nothing, the CPU "
        "column shows what runs (about one core)."
    )
    if args.png:
        _plot(rows, args.png)
        print(f"chart: {args.png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
