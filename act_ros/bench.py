"""`act-ros bench`: AcT latency per size x threads x batch with the robot's runtime
(``ActClassifier.predict_logits``: what the node pays per pose message), as a table with the
ratio to the compute floor = model FLOPs / a float32 matmul peak measured in the same run with
numpy on the same number of threads.

Models: random-weight exports of each size (needs the training extra: TensorFlow; cached in
``~/.cache/act_ros/bench``), or ``--models`` files (e.g. the shipped ones).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

from act_ros.layouts import COCO17
from act_ros.model_sizes import MODEL_SIZES, macs_per_window
from act_ros.preprocessing import NUM_FEATURES

CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "act_ros" / "bench"


def matmul_peak_gflops(threads: int, n: int = 1024, repeats: int = 15) -> tuple[float, str]:
    """Best float32 GFLOP/s of an n x n matmul on ``threads`` BLAS threads, and the BLAS kernel."""
    a = np.random.default_rng(0).standard_normal((n, n), dtype=np.float32)
    b = np.random.default_rng(1).standard_normal((n, n), dtype=np.float32)
    kernel = "unknown BLAS"
    try:
        from threadpoolctl import threadpool_info, threadpool_limits
    except ImportError:
        threadpool_limits = None
    ctx = threadpool_limits(limits=threads, user_api="blas") if threadpool_limits else None
    try:
        if threadpool_limits:
            info = [i for i in threadpool_info() if i.get("user_api") == "blas"]
            if info:
                kernel = (
                    f"{info[0].get('internal_api')} {info[0].get('version')} "
                    f"({info[0].get('architecture')}, {info[0].get('num_threads')} threads)"
                )
        a @ b
        best = min(_timed(lambda: a @ b) for _ in range(repeats))
    finally:
        if ctx is not None:
            ctx.restore_original_limits()
    return 2 * n**3 / best / 1e9, kernel


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def random_model(size: str, window_length: int, precision: str, num_classes: int = 20) -> Path:
    """A random-weight AcT of ``size`` exported like a trained one (cached)."""
    from act_ros.model_spec import SPEC_FORMAT_VERSION, ModelMismatchError, load_model_spec

    # The description format is in the name: checkouts of different act_ros versions share this
    # cache, and one must not find a model the other cannot read (a CI run failed so).
    path = CACHE / f"act_{size}_T{window_length}_{precision}_f{SPEC_FORMAT_VERSION}.tflite"
    if path.is_file():
        try:
            load_model_spec(path)
            return path
        except ModelMismatchError:
            pass  # exported by an older act_ros (description not embedded): rebuild it
    try:
        import keras

        from act_ros.training.export import export_models
        from act_ros.training.model import build_act
    except ImportError as exc:
        raise SystemExit(
            f"act-ros bench: building {size} needs TensorFlow (training extra), "
            f"or pass --models FILE.tflite ({exc})"
        ) from exc
    keras.utils.set_random_seed(0)
    model = build_act(size, num_classes, window_length)
    export_models(
        [model],
        path,
        name=f"random_{size}",
        size=size,
        class_names=tuple(f"class_{i}" for i in range(num_classes)),
        keypoint_layout=COCO17,
        window_length=window_length,
        precision=precision,
    )
    return path


def time_model(
    path: Path, threads: int, batch: int, window_length: int, runs: int, warmup: int
) -> tuple[float, float]:
    from act_ros.runtime import ActClassifier

    clf = ActClassifier(path, num_threads=threads)
    x = np.random.default_rng(0).standard_normal((batch, window_length, NUM_FEATURES), dtype=np.float32)
    for _ in range(warmup):
        clf.predict_logits(x)
    times = np.array([_timed(lambda: clf.predict_logits(x)) for _ in range(runs)])
    return float(np.median(times)), float(np.percentile(times, 90))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="act-ros bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", nargs="+", choices=MODEL_SIZES, default=list(MODEL_SIZES))
    p.add_argument(
        "--models",
        nargs="+",
        type=Path,
        default=None,
        help="bench these .tflite files instead of random-weight models",
    )
    p.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    p.add_argument("--batches", nargs="+", type=int, default=[1, 8])
    p.add_argument("--window-length", type=int, default=30)
    p.add_argument("--precision", choices=("fp32", "fp16", "int8-dynamic"), default="fp32")
    p.add_argument("--runs", type=int, default=200)
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument(
        "--peak-size",
        type=int,
        default=1024,
        help="n of the n x n matmul that measures the peak (smaller under emulation)",
    )
    p.add_argument("--peak-repeats", type=int, default=15)
    args = p.parse_args(argv)

    if os.environ.get("OPENBLAS_CORETYPE"):
        print(
            "note: OPENBLAS_CORETYPE is set, which can slow numpy's matmul (a lower peak makes "
            "the ratios look better). For a fair peak run: env -u OPENBLAS_CORETYPE "
            "-u OPENBLAS_L2_SIZE act-ros bench ...",
            file=sys.stderr,
        )
    from act_ros.model_spec import load_model_spec

    if args.models:
        entries = []
        for m in args.models:
            spec = load_model_spec(m)
            entries.append(
                (
                    m,
                    spec.size if spec.size in MODEL_SIZES else "micro",
                    spec.num_classes,
                    spec.precision,
                    spec.ensemble_size,
                    m.name,
                )
            )
    else:
        entries = [
            (random_model(s, args.window_length, args.precision), s, 20, args.precision, 1, f"random {s}")
            for s in args.sizes
        ]

    # A peak is the best observed: other processes on the machine can only lower it, so it is
    # measured before and after the model timings and the higher value is kept.
    peaks = {t: matmul_peak_gflops(t, args.peak_size, args.peak_repeats) for t in sorted(set(args.threads))}
    rows = []
    for path, size, classes, precision, members, label in entries:
        flops = 2 * macs_per_window(size, args.window_length, num_classes=classes) * members
        for threads in args.threads:
            for batch in args.batches:
                median, p90 = time_model(path, threads, batch, args.window_length, args.runs, args.warmup)
                rows.append((label, precision, threads, batch, median, p90, flops))
    for t in peaks:
        again = matmul_peak_gflops(t, args.peak_size, args.peak_repeats)
        peaks[t] = max(peaks[t], again)
    for t, (gflops, kernel) in peaks.items():
        print(f"matmul peak, {t} thread(s): {gflops:.1f} GFLOP/s ({kernel})")
    header = (
        f"{'model':<22}{'prec':>6}{'thr':>5}{'batch':>6}{'median ms':>11}{'p90 ms':>9}"
        f"{'ms/window':>11}{'floor ms':>10}{'x floor':>9}"
    )
    print(header)
    print("-" * len(header))
    for label, precision, threads, batch, median, p90, flops in rows:
        floor = flops * batch / (peaks[threads][0] * 1e9)
        print(
            f"{label:<22}{precision:>6}{threads:>5}{batch:>6}{median * 1e3:>11.3f}"
            f"{p90 * 1e3:>9.3f}{median * 1e3 / batch:>11.3f}{floor * 1e3:>10.3f}"
            f"{median / floor:>9.2f}"
        )
    print()
    print(f"{'pose_features (the node calls it per pose message)':<52}{'median ms':>11}{'p90 ms':>9}")
    for batch in args.batches:
        median, p90 = time_features(batch, args.window_length, args.runs, args.warmup)
        print(
            f"{f'  {batch} people x {args.window_length} frames x 17 joints':<52}"
            f"{median * 1e3:>11.3f}{p90 * 1e3:>9.3f}"
        )
    return 0


def time_features(batch: int, window_length: int, runs: int, warmup: int) -> tuple[float, float]:
    from act_ros.preprocessing import pose_features

    rng = np.random.default_rng(0)
    poses = np.concatenate(
        [
            rng.uniform(0, 640, (batch, window_length, 17, 2)),
            (rng.random((batch, window_length, 17, 1)) > 0.1),
        ],
        axis=-1,
    )
    poses = poses.astype(np.float32)
    for _ in range(warmup):
        pose_features(poses)
    times = np.array([_timed(lambda: pose_features(poses)) for _ in range(runs)])
    return float(np.median(times)), float(np.percentile(times, 90))


if __name__ == "__main__":
    sys.exit(main())
