"""The process environment the project sets for itself: DDS on loopback, its Fast DDS profile."""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET

from act_ros import environment

NS = {"f": "http://www.eprosima.com"}


def test_tests_run_with_discovery_on_localhost_and_the_project_profile():
    assert os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] == "LOCALHOST"
    assert os.environ["FASTDDS_DEFAULT_PROFILES_FILE"] == str(environment.FASTDDS_PROFILE)
    assert 1 <= int(os.environ["ROS_DOMAIN_ID"]) <= 100


def test_apply_forces_localhost_and_keeps_a_users_profile(tmp_path):
    env = {"ROS_AUTOMATIC_DISCOVERY_RANGE": "SUBNET", "FASTDDS_DEFAULT_PROFILES_FILE": "/mine.xml"}
    environment.apply(env, domain_id=42, log_dir=tmp_path)
    assert env["ROS_AUTOMATIC_DISCOVERY_RANGE"] == "LOCALHOST"
    assert env["FASTDDS_DEFAULT_PROFILES_FILE"] == "/mine.xml"
    assert (env["ROS_DOMAIN_ID"], env["ROS_LOG_DIR"]) == ("42", str(tmp_path))
    env = {"ROS_AUTOMATIC_DISCOVERY_RANGE": "SUBNET"}
    environment.apply(env, force_localhost=False)
    assert env["ROS_AUTOMATIC_DISCOVERY_RANGE"] == "SUBNET"


def test_profile_only_adds_to_the_builtin_transports():
    root = ET.parse(environment.FASTDDS_PROFILE).getroot()
    # Built-in transports stay on: the middleware (and so the LOCALHOST range) decides the UDP
    # set-up; the profile adds a larger shared-memory segment and faster announcements only.
    assert root.find(".//f:useBuiltinTransports", NS) is None
    assert root.find(".//f:transport_descriptor/f:type", NS).text == "SHM"
    assert int(root.find(".//f:transport_descriptor/f:segment_size", NS).text) >= 8 * 2**20
    assert root.find(".//f:participant", NS).get("is_default_profile") == "true"
    assert root.find(".//f:initialAnnouncements/f:count", NS).text == "20"
    assert root.find(".//f:interfaceWhiteList", NS) is None and root.find(".//f:locator", NS) is None
