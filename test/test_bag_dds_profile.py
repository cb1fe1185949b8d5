"""The replay's Fast DDS profile: well-formed, and applied only where the user chose nothing."""
from __future__ import annotations

import xml.etree.ElementTree as ET

from act_ros.bag import dds_profile
from act_ros.ros.environment import FAST_DISCOVERY_PROFILE


def test_profile_is_valid_xml_with_a_large_shm_segment():
    root = ET.fromstring(dds_profile.profile_path().read_text())
    ns = {"f": "http://www.eprosima.com"}
    segment = root.find(".//f:transport_descriptor/f:segment_size", ns)
    assert int(segment.text) >= 8 * 1024 * 1024  # room for several raw 640-1280 px frames
    assert root.find(".//f:transport_descriptor/f:type", ns).text == "SHM"
    # Built-in transports stay on (no useBuiltinTransports=false): the UDP set-up, hence
    # ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST, is left to the middleware.
    assert root.find(".//f:useBuiltinTransports", ns) is None
    participant = root.find(".//f:participant", ns)
    assert participant.get("is_default_profile") == "true"
    assert root.find(".//f:initialAnnouncements/f:count", ns).text == "20"


def test_applied_unless_the_user_chose_a_profile(tmp_path):
    env: dict[str, str] = {}
    assert dds_profile.apply(env) == str(dds_profile.profile_path())
    env = {"FASTDDS_DEFAULT_PROFILES_FILE": str(FAST_DISCOVERY_PROFILE)}  # the project default
    assert dds_profile.apply(env) == str(dds_profile.profile_path())
    mine = str(tmp_path / "mine.xml")
    env = {"FASTDDS_DEFAULT_PROFILES_FILE": mine}
    assert dds_profile.apply(env) == mine
