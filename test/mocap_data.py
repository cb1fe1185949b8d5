"""Where the tests find the motion-capture data: ../shared/data/mocap (the project's sibling
folder; present in CI). Outside CI a checkout without it skips those tests; in CI (CI=true) a
missing folder is an error."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def mocap_dir() -> Path:
    candidates = [Path(os.environ["ACT_ROS_MOCAP_DIR"])] if os.environ.get("ACT_ROS_MOCAP_DIR") else []
    candidates += [
        ROOT.parent / "shared" / "data" / "mocap",
        ROOT.parent.parent / "shared" / "data" / "mocap",
    ]  # a worktree one level down
    for c in candidates:
        if (c / "cmu" / "index.csv").is_file() and (c / "hdm05" / "index.csv").is_file():
            return c
    message = f"motion-capture data not found in {', '.join(str(c) for c in candidates)}"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)
