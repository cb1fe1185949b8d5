"""End to end over DDS: real video frames as sensor_msgs/Image -> pose node (its own process)
-> AcT node (its own process) -> /human_actions."""

from __future__ import annotations

import cv2
import pytest
from rclpy.qos import QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
from sensor_msgs.msg import Image

from act_ros.msg import PersonActionArray, PersonPose2DArray
from footage import demo_video_path
from node_fixtures import stamp_ns_of
from ros_harness import wait_until
from test_runtime_pose_node import image_msg

RELIABLE = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE)
FPS = 30.0
T0 = 1_700_000_000 * 1_000_000_000


@pytest.mark.slow
def test_video_to_actions_across_processes(ros_graph, node_process):
    # Best-effort images, as a camera driver sends them, between processes: the project's Fast
    # DDS profile (shared-memory segment) is what makes that lossless for raw images.
    pose_proc = node_process(
        "act_ros.ros.pose_node", params={"model_variant": "lite", "num_poses": 2, "no_input_warning": 0.0}
    )
    act_proc = node_process("act_ros.ros.act_node", params={"min_frames": 5, "no_input_warning": 0.0})
    images = ros_graph.publisher(Image, "image_raw", qos_profile_sensor_data)
    poses = ros_graph.collect(PersonPose2DArray, "human_poses", RELIABLE)
    actions = ros_graph.collect(PersonActionArray, "human_actions", RELIABLE)
    ros_graph.wait_for_subscribers(images, timeout=60)
    wait_until(
        lambda: (
            ros_graph.node.count_publishers("/human_actions") >= 1
            and ros_graph.node.count_subscribers("/human_poses") >= 2
        ),
        60,
        "pose -> act -> test connections",
    )

    cap = cv2.VideoCapture(str(demo_video_path()))
    stamps = []
    for i in range(75):  # 2.5 s of video
        ok, bgr = cap.read()
        assert ok
        stamp = T0 + round(i * 1e9 / FPS)
        stamps.append(stamp)
        n = len(actions.messages)
        images.publish(image_msg(cv2.resize(bgr, (884, 497)), "bgr8", stamp))
        actions.wait_for(n + 1, 60, f"actions for frame {i}")  # flow control: no frame dropped
    assert pose_proc.alive() and act_proc.alive(), pose_proc.log() + act_proc.log()

    # One pose message and one action message per image, each with the image's stamp.
    assert [stamp_ns_of(m) for m in poses.messages] == stamps
    assert [stamp_ns_of(m) for m in actions.messages] == stamps
    pose_ids = {stamp_ns_of(m): {p.track_id for p in m.people} for m in poses.messages}
    labelled = 0
    for msg in actions.messages:
        assert {a.track_id for a in msg.actions} <= pose_ids[stamp_ns_of(msg)]
        for a in msg.actions:
            assert (
                a.label in msg.class_names or (a.label == "unknown" and a.label_index == -1)
            ) and 0 < a.confidence <= 1
            assert 5 <= a.window_frames <= a.window_length
            labelled += 1
    assert labelled >= 20, "the walking person should get labels for most of 2.5 s"
    # Two people in the clip; a rare spurious MediaPipe pose may briefly get its own ID, and a new
    # person is 0 (not tracked yet) for a few frames.
    people = {p.track_id for m in poses.messages for p in m.people} - {0}
    assert 1 <= len(people) <= 4, people
