"""`act-ros evaluate`: a ROS 2 bag as first argument scores the running nodes on it
(``act_ros.ros.evaluate``); anything else scores models on a dataset
(``act_ros.training.evaluate``)."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path


def is_bag(path: str) -> bool:
    """A ROS 2 bag: a folder with metadata.yaml, or a .mcap / .db3 file."""
    p = Path(path)
    if p.is_dir():
        return (p / "metadata.yaml").is_file()
    return p.is_file() and p.suffix in (".mcap", ".db3")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    target = "act_ros.ros.evaluate" if argv and is_bag(argv[0]) else "act_ros.training.evaluate"
    return int(importlib.import_module(target).main(argv) or 0)


if __name__ == "__main__":
    sys.exit(main())
