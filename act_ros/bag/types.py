"""The rosbags type store for act_ros bags: the standard ROS 2 types plus the package's messages.

The project's messages are registered from their ``.msg`` text, found where the package is
installed: ``share/act_ros/msg`` on a colcon or venv install (ament index, or next to the
interpreter's prefix), else the ``msg/`` folder of this source tree. rosbags computes the same
RIHS01 type hashes as the ROS build, so bags written with this store open in ``ros2 bag``.
"""

from __future__ import annotations

import os
import sys
from functools import lru_cache
from pathlib import Path

from rosbags.typesys import Stores, get_types_from_msg, get_typestore
from rosbags.typesys.store import Typestore

PACKAGE = "act_ros"
MESSAGE_NAMES = ("Keypoint2D", "PersonPose2D", "PersonPose2DArray", "PersonAction", "PersonActionArray")

IMAGE_TYPE = "sensor_msgs/msg/Image"
COMPRESSED_IMAGE_TYPE = "sensor_msgs/msg/CompressedImage"
POSE_ARRAY_TYPE = f"{PACKAGE}/msg/PersonPose2DArray"
ACTION_ARRAY_TYPE = f"{PACKAGE}/msg/PersonActionArray"
CLOCK_TYPE = "rosgraph_msgs/msg/Clock"

# Kilted's definitions; Image, CompressedImage and Header are identical (same hashes) in Jazzy.
STORE = Stores.ROS2_KILTED


def _candidate_msg_dirs() -> list[Path]:
    dirs: list[Path] = []
    for prefix in os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep):
        if prefix:
            dirs.append(Path(prefix) / "share" / PACKAGE / "msg")
    dirs.append(Path(sys.prefix) / "share" / PACKAGE / "msg")
    # The source tree (act_ros/bag/types.py -> repository root/msg).
    dirs.append(Path(__file__).resolve().parents[2] / "msg")
    return dirs


def find_msg_dir() -> Path:
    """The folder holding the package's ``.msg`` files (first installed copy found)."""
    tried = _candidate_msg_dirs()
    for path in tried:
        if all((path / f"{name}.msg").is_file() for name in MESSAGE_NAMES):
            return path
    raise FileNotFoundError(
        "cannot find the act_ros message definitions (*.msg); looked in: "
        + ", ".join(str(p) for p in tried)
        + ". Build/install the package (colcon build, or tools/setup_venv.sh)."
    )


@lru_cache(maxsize=1)
def typestore() -> Typestore:
    """A type store with the standard ROS 2 types and act_ros/msg/* registered (cached)."""
    store = get_typestore(STORE)
    msg_dir = find_msg_dir()
    types: dict = {}
    for name in MESSAGE_NAMES:
        text = (msg_dir / f"{name}.msg").read_text()
        types.update(get_types_from_msg(text, f"{PACKAGE}/msg/{name}"))
    store.register(types)
    return store


def is_known_type(msgtype: str) -> bool:
    """Whether the store can (de)serialize ``msgtype``."""
    return msgtype in typestore().fielddefs
