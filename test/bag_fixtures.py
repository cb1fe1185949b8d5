"""Shared helpers for the bag tests: the real demo clip, its labels, and bags made from them."""

from __future__ import annotations

import os
from pathlib import Path


ROOT = Path(__file__).resolve().parents[1]
DEMO_LABELS = ROOT / "act_ros" / "data" / "sports2d_demo_labels.csv"
LZQ_CSV = ROOT / "act_ros" / "data" / "lzq_openpose_har" / "data.csv"
# A fixed first stamp keeps bags reproducible (and far from 0, which tools treat as "unset").
START_TIME_S = 1_700_000_000.0


def demo_video() -> Path:
    """The bundled real clip (act_ros/data)."""
    from act_ros.data import demo_video_path

    return demo_video_path()


def lzq_csv() -> Path:
    """The bundled LZQ recordings (act_ros/data/lzq_openpose_har)."""
    assert LZQ_CSV.is_file(), f"{LZQ_CSV} is missing from the repository"
    return LZQ_CSV


def make_video_bag(out: Path, labels: Path | str, *extra: str, classes: str | None = None) -> Path:
    """Run the real `act-ros make-bag` on the demo clip; fails the test on a non-zero exit."""
    from act_ros.bag.make_bag import main

    argv = [
        str(demo_video()),
        "--labels",
        str(labels),
        "-o",
        str(out),
        "--quiet",
        "--start-time",
        str(START_TIME_S),
        *extra,
    ]
    if classes:
        argv += ["--classes", classes]
    assert main(argv) == 0, f"make-bag failed for {argv}"
    return out


def write_text(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def truncate_file(path: Path, fraction: float = 0.5) -> None:
    size = path.stat().st_size
    with open(path, "r+b") as fh:
        fh.truncate(int(size * fraction))


def storage_file(bag: Path) -> Path:
    """The .mcap / .db3 file inside a bag folder."""
    files = [p for p in bag.iterdir() if p.suffix in (".mcap", ".db3")]
    assert len(files) == 1, files
    return files[0]


def ros_env_ready() -> bool:
    return os.environ.get("ROS_AUTOMATIC_DISCOVERY_RANGE") == "LOCALHOST"
