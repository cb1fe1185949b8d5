"""Process environment for everything this project starts itself (tests, CI, the demo).

DDS discovery must stay on the loopback interface: without ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST
Fast DDS multicasts on the machine's network interface. (ROS_LOCALHOST_ONLY is ignored since
Kilted, so it is not relied on.) These variables are read when the first rclpy context starts:
call `apply` before `rclpy.init`, ideally before importing rclpy. The Fast DDS profile
(`fastdds_profile.xml`: fast discovery, a shared-memory segment large enough for raw images) is
applied unless the user chose their own.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import MutableMapping
from pathlib import Path

FASTDDS_PROFILE = Path(__file__).with_name("fastdds_profile.xml")


def apply(
    env: MutableMapping[str, str] | None = None,
    *,
    domain_id: int | None = None,
    log_dir: str | os.PathLike | None = None,
    force_localhost: bool = True,
) -> MutableMapping[str, str]:
    """Set the project's safe ROS 2 defaults in ``env`` (default: ``os.environ``) and return it.

    force_localhost: overwrite any other discovery range. The demo passes False only when the
    user explicitly asked for another range on the command line.
    """
    env = os.environ if env is None else env
    if force_localhost or "ROS_AUTOMATIC_DISCOVERY_RANGE" not in env:
        env["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
    env.setdefault("RMW_IMPLEMENTATION", "rmw_fastrtps_cpp")
    env.setdefault("FASTDDS_DEFAULT_PROFILES_FILE", str(FASTDDS_PROFILE))
    if domain_id is not None:
        env["ROS_DOMAIN_ID"] = str(domain_id)
    if log_dir is not None:
        env["ROS_LOG_DIR"] = str(log_dir)
    elif "ROS_LOG_DIR" not in env:
        env["ROS_LOG_DIR"] = tempfile.mkdtemp(prefix="act_ros_ros_log_")
    return env


def is_localhost_only(env: MutableMapping[str, str] | None = None) -> bool:
    env = os.environ if env is None else env
    return env.get("ROS_AUTOMATIC_DISCOVERY_RANGE") == "LOCALHOST"
