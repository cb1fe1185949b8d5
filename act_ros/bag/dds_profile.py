"""A Fast DDS profile for replaying bags of large raw images into nodes in other processes.

Measured here (Fast DDS from the Kilted wheels): a 640x360 bgr8 image (691 KB) published to a
best-effort subscriber in another process (the pose node subscribes with sensor-data QoS) almost
never arrives, while 320x180 (173 KB) always does. The samples go through the publisher's
shared-memory segment, 512 KB by default, which cannot hold them. A publisher whose participant
has a 32 MB segment delivered every 640 and 884 px frame. The profile below adds that SHM
transport to the built-in ones (the UDP set-up, and so ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST,
is untouched) and keeps the project's fast initial discovery.

Fast DDS reads its profile file once per process, when the first participant is created: the
replay applies it before rclpy starts, and only when the user has not chosen their own file.
"""
from __future__ import annotations

import os
import tempfile
from collections.abc import MutableMapping
from pathlib import Path

SHM_SEGMENT_BYTES = 32 * 1024 * 1024

PROFILE_XML = f"""<?xml version="1.0" encoding="UTF-8" ?>
<!-- act_ros bag replay: a shared-memory segment large enough for raw camera images, plus the
     project's fast initial discovery (see act_ros/ros/fastdds_fast_discovery.xml). -->
<dds xmlns="http://www.eprosima.com">
  <profiles>
    <transport_descriptors>
      <transport_descriptor>
        <transport_id>act_ros_large_shm</transport_id>
        <type>SHM</type>
        <segment_size>{SHM_SEGMENT_BYTES}</segment_size>
      </transport_descriptor>
    </transport_descriptors>
    <participant profile_name="act_ros_bag_replay" is_default_profile="true">
      <rtps>
        <userTransports>
          <transport_id>act_ros_large_shm</transport_id>
        </userTransports>
        <builtin>
          <discovery_config>
            <initialAnnouncements>
              <count>20</count>
              <period>
                <sec>0</sec>
                <nanosec>50000000</nanosec>
              </period>
            </initialAnnouncements>
          </discovery_config>
        </builtin>
      </rtps>
    </participant>
  </profiles>
</dds>
"""


def profile_path() -> Path:
    """The profile written to a file (once per user; rewritten if its text changed)."""
    path = Path(tempfile.gettempdir()) / f"act_ros_bag_replay_{os.getuid()}.xml"
    if not path.is_file() or path.read_text() != PROFILE_XML:
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(PROFILE_XML)
        tmp.replace(path)
    return path


def apply(env: MutableMapping[str, str] | None = None) -> str | None:
    """Use the replay profile unless the user set their own FASTDDS_DEFAULT_PROFILES_FILE.

    The project's own default profile (fast discovery only) is replaced, since this one
    includes it. Returns the profile file now in effect (None = Fast DDS defaults).
    """
    env = os.environ if env is None else env
    current = env.get("FASTDDS_DEFAULT_PROFILES_FILE")
    try:
        from act_ros.ros.environment import FAST_DISCOVERY_PROFILE
        project_default = str(FAST_DISCOVERY_PROFILE)
    except ImportError:  # pragma: no cover - the ros subpackage is part of the package
        project_default = ""
    if not current or current == project_default:
        env["FASTDDS_DEFAULT_PROFILES_FILE"] = str(profile_path())
    return env.get("FASTDDS_DEFAULT_PROFILES_FILE")
