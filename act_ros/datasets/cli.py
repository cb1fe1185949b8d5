"""`act-ros dataset`: make and inspect pose dataset files (.npz, see act_ros/datasets/npz.py).

act-ros dataset import-lzq <csv folder> -o lzq.npz [--window-length 30 --stride 1 ...]
act-ros dataset mpose2021 --extractor openpose --split 1 -o mpose_openpose_1.npz
act-ros dataset info <file.npz | mpose2021:... | lzq:...>
act-ros dataset build-mix -o mix.npz [--mocap ../shared/data/mocap --views 8 --seed 0 ...]
act-ros dataset import-mocap <file.bvh | file.amc> ... [--rig auto|<name>|map.yaml] [-o x.npz]
act-ros dataset measure-noise --footage <video> ... --backend mediapipe -o pose_noise.json
act-ros dataset mocap-report [--docs docs]   (noise table, histograms, skeleton picture)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from act_ros.datasets.sources import DATASET_HELP, load_dataset


def _info(source: str) -> str:
    ds = load_dataset(source)
    lines = [
        f"{source}: {ds.source}",
        f"  {len(ds)} samples, poses {tuple(ds.poses.shape)} ({ds.keypoint_layout}), "
        f"frame rate {ds.frame_rate or 'unknown'}",
    ]
    missing = float(np.mean(ds.poses[..., 2] <= 0)) if len(ds) else 0.0
    lines.append(f"  missing keypoints: {missing:.1%}")
    parts = (
        ("all",) if ds.split is None else tuple(s for s in ("train", "val", "test") if np.any(ds.split == s))
    )
    width = max(len(c) for c in ds.class_names)
    lines.append("  " + " " * width + "".join(f"{p:>8}" for p in parts))
    for i, name in enumerate(ds.class_names):
        counts = [
            int(np.sum(ds.labels == i)) if p == "all" else int(np.sum((ds.labels == i) & (ds.split == p)))
            for p in parts
        ]
        lines.append(f"  {name:<{width}}" + "".join(f"{c:>8}" for c in counts))
    if ds.groups is not None:
        lines.append(f"  groups: {len(np.unique(ds.groups))}")
    return "\n".join(lines)


# Sub-commands with their own modules and parsers (mocap: training extra).
DELEGATED = {
    "build-mix": "act_ros.datasets.mocap.cli:build_mix_main",
    "import-mocap": "act_ros.datasets.mocap.cli:import_main",
    "measure-noise": "act_ros.datasets.mocap.measure:main",
    "mocap-report": "act_ros.datasets.mocap.report:main",
}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in DELEGATED:
        import importlib

        module, _, func = DELEGATED[argv[0]].partition(":")
        return int(getattr(importlib.import_module(module), func)(argv[1:]) or 0)
    parser = argparse.ArgumentParser(prog="act-ros dataset", description=__doc__.split("\n")[0])
    parser.epilog = "also: " + ", ".join(DELEGATED) + " (each with --help)"
    sub = parser.add_subparsers(dest="cmd", required=True)
    lzq = sub.add_parser("import-lzq", help="LZQ OpenPose HAR CSV folder -> .npz windows")
    lzq.add_argument("folder", type=Path)
    lzq.add_argument("-o", "--output", type=Path, required=True)
    lzq.add_argument("--window-length", type=int, default=30)
    lzq.add_argument("--stride", type=int, default=1, help="frames between window starts")
    lzq.add_argument("--segments", type=int, default=10, help="contiguous segments per recording")
    lzq.add_argument("--val-fraction", type=float, default=0.1, help="of segments")
    lzq.add_argument("--test-fraction", type=float, default=0.2, help="of segments")
    lzq.add_argument("--seed", type=int, default=0, help="which segments go where")
    lzq.add_argument(
        "--train-speeds",
        type=float,
        nargs="+",
        default=[1.0],
        help="also resample training windows at these playback speeds",
    )
    lzq.add_argument(
        "--image-size",
        type=int,
        nargs=2,
        default=[640, 480],
        help="assumed image size: the CSV is normalised by it",
    )
    mp = sub.add_parser("mpose2021", help="MPOSE2021 (mpose package) -> .npz")
    mp.add_argument("--extractor", choices=("openpose", "posenet", "movenet"), default="openpose")
    mp.add_argument("--split", type=int, choices=(1, 2, 3), default=1)
    mp.add_argument("-o", "--output", type=Path, required=True)
    info = sub.add_parser("info", help="summary of a dataset")
    info.add_argument("source", help=DATASET_HELP)
    args = parser.parse_args(argv)

    if args.cmd == "info":
        print(_info(args.source))
        return 0
    if args.cmd == "import-lzq":
        from act_ros.datasets.lzq import build_lzq_dataset

        ds = build_lzq_dataset(
            args.folder,
            window_length=args.window_length,
            stride=args.stride,
            segments_per_recording=args.segments,
            val_fraction=args.val_fraction,
            test_fraction=args.test_fraction,
            seed=args.seed,
            train_speeds=tuple(args.train_speeds),
            image_size=tuple(args.image_size),
        )
    else:
        from act_ros.datasets.mpose2021 import load_mpose2021

        ds = load_mpose2021(args.extractor, args.split, verbose=True)
    ds.save(args.output)
    print(f"wrote {args.output}")
    print(_info(str(args.output)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
