"""``act-ros dataset build-mix`` and ``act-ros dataset import-mocap``."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from act_ros.datasets.mocap.mix import DEFAULT_MOCAP_DIR, build_mix
from act_ros.datasets.mocap.noise import NOISE_FILE
from act_ros.datasets.mocap.synthesize import SynthesisSettings
from act_ros.datasets.mocap.taxonomy import TAXONOMY_FILE


def build_mix_main(argv: list[str] | None = None) -> int:
    d = SynthesisSettings()
    p = argparse.ArgumentParser(
        prog="act-ros dataset build-mix",
        description="synthesized CMU + HDM05 windows and the real LZQ recordings -> one .npz",
    )
    p.add_argument("-o", "--output", type=Path, required=True)
    p.add_argument(
        "--mocap",
        type=Path,
        default=DEFAULT_MOCAP_DIR,
        help="folder with cmu/ and hdm05/ (default: %(default)s)",
    )
    p.add_argument("--lzq", type=Path, default=None, help="LZQ CSV folder (default: bundled)")
    p.add_argument("--sources", nargs="+", default=["cmu", "hdm05", "lzq"], choices=["cmu", "hdm05", "lzq"])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--frame-rate", type=float, default=d.frame_rate, help="the model's (fps)")
    p.add_argument("--window-length", type=int, default=d.window_length)
    p.add_argument("--stride", type=int, default=d.stride, help="frames between windows")
    p.add_argument("--views", type=int, default=d.views, help="random cameras per motion")
    p.add_argument("--speeds", type=float, nargs="+", default=list(d.speeds))
    p.add_argument("--noise", type=Path, default=NOISE_FILE, help="measured noise statistics")
    p.add_argument("--taxonomy", type=Path, default=TAXONOMY_FILE)
    p.add_argument("--limit", type=int, default=0, help="motions per source (0 = all; tests)")
    p.add_argument("--report", type=Path, default=None, help="also write the report (markdown)")
    a = p.parse_args(argv)
    settings = SynthesisSettings(
        frame_rate=a.frame_rate,
        window_length=a.window_length,
        stride=a.stride,
        speeds=tuple(a.speeds),
        views=a.views,
    )
    ds, report = build_mix(a.mocap, a.lzq, a.seed, settings, a.noise, a.taxonomy, tuple(a.sources), a.limit)
    t = time.perf_counter()
    ds.save(a.output)
    size = a.output.stat().st_size
    lines = [
        f"wrote {a.output}: {len(ds)} windows {tuple(ds.poses.shape)}, "
        f"{size / 1e6:.1f} MB, {len(ds.class_names)} classes, "
        f"{len(set(ds.subject.tolist()))} subjects, {report['motions']} motion files; "
        f"built in {report['seconds']:.1f} s, saved in {time.perf_counter() - t:.1f} s",
        "",
        report["table"],
        "",
    ]
    parts = {s: int(np.sum(ds.split == s)) for s in ("train", "val", "test")}
    lines.append("windows per split: " + ", ".join(f"{k} {v}" for k, v in parts.items()))
    if report["failed"]:
        lines += ["", "failed to import:"] + [f"  {f}" for f in report["failed"]]
    lines += ["", f"left out: {len(report['left_out'])} files (see --report)"]
    print("\n".join(lines))
    if a.report:
        a.report.write_text(
            "\n".join(lines) + "\n\n## Left out\n" + "\n".join(f"- {x}" for x in report["left_out"]) + "\n"
        )
    return 0


def import_main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="act-ros dataset import-mocap",
        description="read BVH / ASF+AMC files: rig, rate, length; "
        "optionally save their 3-D COCO-17 keypoints",
    )
    p.add_argument("files", type=Path, nargs="+")
    p.add_argument("--rig", default="auto", help="auto, a rig name, or a YAML joint map file")
    p.add_argument("--asf", type=Path, default=None, help="the ASF skeleton of AMC files")
    p.add_argument(
        "-o",
        "--output",
        type=Path,
        default=None,
        help=".npz with coco17_<n> (F, 17, 3) metres, z up, and frame_rate_<n>",
    )
    a = p.parse_args(argv)
    from act_ros.datasets.mocap.coco17 import motion_to_coco17
    from act_ros.datasets.mocap.motion import clean_motion

    arrays = {}
    for n, path in enumerate(a.files):
        if path.suffix.lower() == ".amc":
            from act_ros.datasets.mocap.asf_amc import read_asf_amc

            motion = read_asf_amc(path, a.asf, rig="acclaim" if a.rig == "auto" else a.rig)
        else:
            from act_ros.datasets.mocap.bvh import read_bvh

            motion = read_bvh(path, rig=a.rig)
        motion = clean_motion(motion)
        print(
            f"{path}: rig {motion.rig.name}, {motion.frame_rate:g} fps, {motion.num_frames} "
            f"frames ({motion.duration_s:.1f} s), kept {motion.meta.get('frames_kept')}"
        )
        arrays[f"coco17_{n}"] = motion_to_coco17(motion).astype(np.float32)
        arrays[f"frame_rate_{n}"] = np.array(motion.frame_rate)
    if a.output:
        np.savez_compressed(a.output, **arrays)
        print(f"wrote {a.output}")
    return 0
