#!/usr/bin/env python3
"""Parity of the robot runtime across machines: the same fixed inputs through the shipped AcT
models and every registered pose backend, on the host and in the arm64 root filesystem
(tools/arm64_check.sh), then compared.

  arm64_parity.py inputs  INPUTS.npz [--windows N] [--frames N]   (host: fixes the inputs)
  arm64_parity.py run     INPUTS.npz OUTPUTS.npz                  (each machine)
  arm64_parity.py compare HOST.npz ARM.npz                        (host: numbers, exit 1 on failure)
  arm64_parity.py bundles MODEL_DIR [--like DIR]                  (built model files vs pins)

The inputs are made once, on the host: pose windows of the LZQ test split (what the shipped
models' card scores) and video frames decoded and resized by the host's OpenCV, stored as raw
arrays, so both machines see identical bytes and video decoders cannot differ. Thresholds:
the same top class for every window, probabilities within 1e-5, features within 1e-5; for each
pose backend the same number of people per frame and keypoints within 1 px.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import sys
from pathlib import Path

import numpy as np

PROB_TOL = 1e-5
FEATURE_TOL = 1e-5
PX_TOL = 1.0
# The test split of the shipped models' dataset (their model card: T=30, stride 2, seed 0).
LZQ_WINDOW, LZQ_STRIDE = 30, 2
FRAME_SIZE = (640, 360)  # a camera-like size; the clip itself is 1768x994


def make_inputs(out: Path, windows: int, segments: list[tuple[int, int]]) -> None:
    import cv2

    from act_ros.data import demo_video_path, lzq_data_dir
    from act_ros.datasets.lzq import build_lzq_dataset

    ds = build_lzq_dataset(lzq_data_dir(), window_length=LZQ_WINDOW, stride=LZQ_STRIDE)
    test = np.flatnonzero(ds.split == "test")
    pick = (
        test
        if windows <= 0 or windows >= len(test)
        else test[np.linspace(0, len(test) - 1, windows).astype(int)]
    )
    wanted = {start + k: k for start, length in segments for k in range(length)}
    cap = cv2.VideoCapture(str(demo_video_path()))
    decoded: dict[int, np.ndarray] = {}
    index = 0
    while len(decoded) < len(wanted):
        ok, bgr = cap.read()
        if not ok:
            raise SystemExit(f"the demo clip ends at frame {index}; segments {segments}")
        if index in wanted:
            small = cv2.resize(bgr, FRAME_SIZE, interpolation=cv2.INTER_AREA)
            decoded[index] = cv2.cvtColor(small, cv2.COLOR_BGR2RGB)
        index += 1
    cap.release()
    # Each segment starts again at time 0: a backend that tracks resets there (time went back).
    order = [start + k for start, length in segments for k in range(length)]
    stamps = [int(round(wanted[i] * 1e9 / 30.0)) for i in order]
    np.savez_compressed(
        out,
        windows=ds.poses[pick].astype(np.float32),
        labels=ds.labels[pick],
        window_index=pick,
        test_windows=len(test),
        frames=np.stack([decoded[i] for i in order]),
        frame_index=np.array(order),
        stamps_ns=np.array(stamps, dtype=np.int64),
    )
    print(
        f"inputs: {len(pick)} of the {len(test)} LZQ test windows, {len(order)} frames "
        f"{FRAME_SIZE[0]}x{FRAME_SIZE[1]} of the demo clip in {len(segments)} segments -> {out}"
    )


def _versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    info = {
        "machine": platform.machine(),
        "python": platform.python_version(),
        "libc": " ".join(platform.libc_ver()),
    }
    for dist in ("numpy", "mediapipe", "ai-edge-litert", "opencv-contrib-python"):
        try:
            info[dist] = version(dist)
        except PackageNotFoundError:
            info[dist] = "-"
    return info


def run(inputs: Path, out: Path) -> None:
    from tqdm import tqdm

    from act_ros.pose import available_estimators, create_estimator
    from act_ros.preprocessing import pose_features
    from act_ros.runtime import MODELS_DIR, ActClassifier

    data = np.load(inputs)
    result: dict[str, np.ndarray] = {"versions": np.array(json.dumps(_versions()))}
    features = pose_features(data["windows"])
    result["features"] = features
    # Every shipped model, the ones in subfolders (other class sets) too: named by relative path.
    for path in sorted(MODELS_DIR.rglob("*.tflite")):
        name = path.relative_to(MODELS_DIR).with_suffix("").as_posix().replace("/", ":")
        result[f"act__{name}"] = ActClassifier(path).predict_proba(features)
    frames, stamps = data["frames"], data["stamps_ns"]
    errors = {}
    for backend in available_estimators():
        try:
            estimator = create_estimator(backend)
        except Exception as exc:  # noqa: BLE001 - reported, and fails the comparison
            errors[backend] = f"{type(exc).__name__}: {exc}"
            continue
        try:
            people = [
                estimator.estimate(f, int(t))
                for f, t in zip(tqdm(frames, desc=f"pose {backend}", leave=False), stamps)
            ]
        finally:
            estimator.close()
        result[f"pose__{backend}__counts"] = np.array([len(p) for p in people])
        result[f"pose__{backend}__keypoints"] = np.concatenate([p.keypoints for p in people]).reshape(
            -1, 17, 3
        )
    result["errors"] = np.array(json.dumps(errors))
    np.savez_compressed(out, **result)
    print(f"outputs: {len(features)} windows, {len(result) - 3} model/backend results -> {out}")


def _match(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Order of b's people that best matches a's (mean distance over shared valid points)."""
    from scipy.optimize import linear_sum_assignment

    both = (a[:, None, :, 2] > 0) & (b[None, :, :, 2] > 0)
    dist = np.linalg.norm(a[:, None, :, :2] - b[None, :, :, :2], axis=-1)
    cost = np.where(both, dist, 0).sum(-1) / np.maximum(both.sum(-1), 1) + 1e4 * (both.sum(-1) == 0)
    _, cols = linear_sum_assignment(cost)
    return cols


def compare_pose(host: np.lib.npyio.NpzFile, arm: np.lib.npyio.NpzFile, backend: str) -> dict:
    hc, ac = host[f"pose__{backend}__counts"], arm[f"pose__{backend}__counts"]
    hk, ak = host[f"pose__{backend}__keypoints"], arm[f"pose__{backend}__keypoints"]
    count_mismatch = [i for i, (h, a) in enumerate(zip(hc, ac)) if h != a]
    px, conf, flips, points = 0.0, 0.0, 0, 0
    if not count_mismatch:
        starts = np.concatenate([[0], np.cumsum(hc)])
        for i in range(len(hc)):
            h, a = hk[starts[i] : starts[i + 1]], ak[starts[i] : starts[i + 1]]
            if not len(h):
                continue
            a = a[_match(h, a)]
            both = (h[..., 2] > 0) & (a[..., 2] > 0)
            flips += int(((h[..., 2] > 0) != (a[..., 2] > 0)).sum())
            points += int(both.sum())
            if both.any():
                px = max(px, float(np.abs(h[..., :2] - a[..., :2])[both].max()))
            conf = max(conf, float(np.abs(h[..., 2] - a[..., 2]).max()))
    ok = not count_mismatch and px <= PX_TOL and flips == 0
    return {
        "frames": len(hc),
        "people": int(hc.sum()),
        "points": points,
        "max_px": px,
        "max_conf": conf,
        "flips": flips,
        "count_mismatch": count_mismatch,
        "ok": ok,
    }


def compare(host_path: Path, arm_path: Path) -> int:
    host, arm = np.load(host_path), np.load(arm_path)
    hv, av = json.loads(str(host["versions"])), json.loads(str(arm["versions"]))
    print("versions: " + ", ".join(f"{k} {hv[k]} / {av.get(k)}" for k in hv))
    failures = []
    feat = float(np.abs(host["features"] - arm["features"]).max())
    print(f"features: {host['features'].shape[0]} windows, max |diff| {feat:.2e} (tol {FEATURE_TOL:g})")
    if feat > FEATURE_TOL:
        failures.append(f"features differ by {feat:.2e}")
    summary = []
    for key in sorted(k for k in host.files if k.startswith("act__")):
        name = key[5:]
        if key not in arm.files:
            failures.append(f"{name}: no arm64 result")
            continue
        hp, ap = host[key], arm[key]
        same = int((hp.argmax(1) == ap.argmax(1)).sum())
        diff = float(np.abs(hp - ap).max())
        print(f"AcT {name}: top class same {same}/{len(hp)}, max |prob diff| {diff:.2e} (tol {PROB_TOL:g})")
        summary.append(f"{name} top1 {same}/{len(hp)} dp {diff:.1e}")
        if same != len(hp) or diff > PROB_TOL:
            failures.append(f"{name}: top class differs in {len(hp) - same} windows, max |dp| {diff:.2e}")
    for side, data in (("host", host), ("arm64", arm)):
        for backend, err in json.loads(str(data["errors"])).items():
            failures.append(f"pose {backend} on {side}: {err}")
    backends = sorted(
        {k.split("__")[1] for k in host.files if k.startswith("pose__")}
        | {k.split("__")[1] for k in arm.files if k.startswith("pose__")}
    )
    for backend in backends:
        if f"pose__{backend}__counts" not in host.files or f"pose__{backend}__counts" not in arm.files:
            continue  # its creation error is listed above
        r = compare_pose(host, arm, backend)
        print(
            f"pose {backend}: {r['frames']} frames, {r['people']} people, {r['points']} keypoints; "
            f"max keypoint diff {r['max_px']:.3f} px (tol {PX_TOL:g}), max confidence diff "
            f"{r['max_conf']:.2e}, visibility flips {r['flips']}, frames with other counts "
            f"{r['count_mismatch'] or 'none'}"
        )
        summary.append(f"pose {backend} {r['max_px']:.2f} px")
        if not r["ok"]:
            failures.append(
                f"pose {backend}: counts {r['count_mismatch'] or 'same'}, "
                f"{r['max_px']:.3f} px, {r['flips']} flips"
            )
    if not backends:
        failures.append("no pose backend produced results")
    line = "; ".join(summary)
    if failures:
        print("PARITY FAILED: " + "; ".join(failures))
        print(f"parity summary: FAIL {line}")
        return 1
    print(f"parity summary: ok {line}")
    return 0


def bundles(model_dir: Path, like: Path | None) -> int:
    """Every model file in ``model_dir`` against its pinned sha256 (the MediaPipe bundles built
    there, the top-down files taken from their npm tarballs: all must be present), and every
    model file against the host's copy in ``like``."""
    from act_ros.pose import topdown_models
    from act_ros.pose.model_bundles import BUNDLE_SHA256, bundle_filename

    bad = 0
    for variant, pinned in BUNDLE_SHA256.items():
        path = model_dir / bundle_filename(variant)
        got = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "missing"
        same = got == pinned
        bad += not same
        print(f"{path.name}: {'= pinned' if same else f'{got[:16]} != pinned {pinned[:16]}'}")
    for name, status in topdown_models.status(cache_dir=model_dir).items():
        bad += status != "ok"
        print(f"topdown/{name}: {'= pinned' if status == 'ok' else status}")
    if like is not None:
        # Every model file built here against the host's copy of it (the host's folder may hold
        # more: other branches' builds share the cache on a machine).
        for mine in sorted(
            p for p in model_dir.rglob("*") if p.is_file() and p.suffix in (".task", ".tflite")
        ):
            ref = like / mine.relative_to(model_dir)
            if ref.is_file():
                same = mine.read_bytes() == ref.read_bytes()
                bad += not same
                print(
                    f"{mine.relative_to(model_dir)}: {'= host build' if same else 'DIFFERS from the host build'}"
                )
    print(f"bundles: {'ok' if not bad else f'{bad} mismatches'}")
    return 1 if bad else 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    i = sub.add_parser("inputs")
    i.add_argument("out", type=Path)
    # Emulated, one AcT window costs ~0.7 s and one pose frame 30-45 s per backend: 24 windows
    # (spread over the whole test split, every class) and 4 frames (3 consecutive: a tracking
    # backend's second and third frames follow the first; then a fresh start) keep this phase to
    # a few minutes. The thresholds do not change with the counts.
    i.add_argument("--windows", type=int, default=24, help="LZQ test windows (0 = all)")
    i.add_argument(
        "--segments",
        default="88:3,200:1",
        help="demo-clip frames START:COUNT,... (consecutive within a segment; picked "
        "where MediaPipe finds people from a fresh start)",
    )
    r = sub.add_parser("run")
    r.add_argument("inputs", type=Path)
    r.add_argument("out", type=Path)
    c = sub.add_parser("compare")
    c.add_argument("host", type=Path)
    c.add_argument("arm", type=Path)
    b = sub.add_parser("bundles")
    b.add_argument("model_dir", type=Path)
    b.add_argument("--like", type=Path, default=None, help="the host's model folder")
    args = p.parse_args(argv)
    if args.cmd == "inputs":
        segments = [tuple(int(v) for v in seg.split(":")) for seg in args.segments.split(",")]
        make_inputs(args.out, args.windows, segments)
    elif args.cmd == "run":
        run(args.inputs, args.out)
    elif args.cmd == "compare":
        return compare(args.host, args.arm)
    else:
        return bundles(args.model_dir, args.like)
    return 0


if __name__ == "__main__":
    sys.exit(main())
