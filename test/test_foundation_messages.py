"""The package's messages: generated types import with the right fields, and every type
round-trips between two processes over DDS with all fields intact."""

from __future__ import annotations

import importlib
import random
import re
from pathlib import Path

import numpy as np
import pytest

from ros_harness import wait_until

ROOT = Path(__file__).resolve().parents[1]
MSG_NAMES = sorted(p.stem for p in (ROOT / "msg").glob("*.msg"))

# The interface as documented in msg/*.msg (what `ros2 interface show` would print).
EXPECTED_FIELDS = {
    "Keypoint2D": {"x": "float", "y": "float", "confidence": "float"},
    "PersonPose2D": {
        "track_id": "uint32",
        "box_x_min": "float",
        "box_y_min": "float",
        "box_x_max": "float",
        "box_y_max": "float",
        "score": "float",
        "keypoints": "act_ros/Keypoint2D[17]",
    },
    "PersonPose2DArray": {
        "header": "std_msgs/Header",
        "image_width": "uint32",
        "image_height": "uint32",
        "keypoint_layout": "string",
        "people": "sequence<act_ros/PersonPose2D>",
    },
    "PersonAction": {
        "track_id": "uint32",
        "label_index": "int32",
        "label": "string",
        "confidence": "float",
        "scores": "sequence<float>",
        "window_frames": "uint16",
        "window_length": "uint16",
    },
    "PersonActionArray": {
        "header": "std_msgs/Header",
        "class_names": "sequence<string>",
        "actions": "sequence<act_ros/PersonAction>",
    },
}


def msg_class(name: str) -> type:
    return getattr(importlib.import_module("act_ros.msg"), name)


def test_every_msg_file_is_generated_with_the_documented_fields():
    assert MSG_NAMES == sorted(EXPECTED_FIELDS)
    for name in MSG_NAMES:
        cls = msg_class(name)
        assert cls.get_fields_and_field_types() == EXPECTED_FIELDS[name], name


def test_pose_keypoints_are_a_fixed_coco17_array_with_index_constants():
    pose = msg_class("PersonPose2D")()
    assert len(pose.keypoints) == 17 == pose.NUM_KEYPOINTS
    assert (pose.LEFT_SHOULDER, pose.RIGHT_SHOULDER, pose.RIGHT_ANKLE) == (5, 6, 16)
    checked = msg_class("PersonPose2D")(check_fields=True)
    with pytest.raises(AssertionError, match="length 17"):
        checked.keypoints = [msg_class("Keypoint2D")()] * 16


# --- generic filling: every field gets a distinct, type-correct value ---------------------------
_INT_RANGES = {
    "uint8": 255,
    "uint16": 65535,
    "uint32": 2**32 - 1,
    "int32": 2**31 - 1,
    "int64": 2**40,
    "uint64": 2**40,
    "octet": 255,
    "int8": 127,
    "int16": 32767,
}


def _scalar(type_name: str, rng: random.Random):
    if type_name in ("float", "double"):
        return float(np.float32(rng.uniform(-1e4, 1e4)))  # exactly representable in float32
    if type_name in _INT_RANGES:
        return rng.randint(0, _INT_RANGES[type_name])
    if type_name == "string":
        return "".join(rng.choice("abcdefghij_ XYZ0123456789") for _ in range(rng.randint(1, 12)))
    if type_name == "boolean":
        return bool(rng.getrandbits(1))
    if "/" in type_name:
        package, name = type_name.split("/")
        return fill(getattr(importlib.import_module(f"{package}.msg"), name)(), rng)
    raise NotImplementedError(type_name)


def fill(msg, rng: random.Random):
    for field, type_name in msg.get_fields_and_field_types().items():
        if m := re.fullmatch(r"sequence<(.+?)(?:, \d+)?>", type_name):
            value = [_scalar(m.group(1), rng) for _ in range(rng.randint(1, 4))]
        elif m := re.fullmatch(r"(.+)\[(\d+)\]", type_name):
            value = [_scalar(m.group(1), rng) for _ in range(int(m.group(2)))]
        else:
            value = _scalar(type_name, rng)
        setattr(msg, field, value)
    return msg


def as_plain(msg):
    """Message -> nested dicts/lists of Python scalars, for exact comparison."""
    if hasattr(msg, "get_fields_and_field_types"):
        return {f: as_plain(getattr(msg, f)) for f in msg.get_fields_and_field_types()}
    if isinstance(msg, (list, tuple, np.ndarray)) or type(msg).__name__ == "array":
        return [as_plain(v) for v in msg]
    if isinstance(msg, np.generic):
        return msg.item()
    return msg


def test_every_message_type_round_trips_between_two_processes(ros_graph, node_process):
    from rclpy.qos import QoSProfile, ReliabilityPolicy

    qos = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE)
    specs = [f"act_ros/msg/{name}:rt_{name.lower()}" for name in MSG_NAMES]
    echo = node_process("echo_node", args=specs)

    publishers, collectors = {}, {}
    for name in MSG_NAMES:
        topic = f"rt_{name.lower()}"
        publishers[name] = ros_graph.publisher(msg_class(name), topic, qos)
        collectors[name] = ros_graph.collect(msg_class(name), f"{topic}_echo", qos)
    for name in MSG_NAMES:
        ros_graph.wait_for_subscribers(publishers[name])
        ros_graph.wait_for_publishers(f"/rt_{name.lower()}_echo")
        # The echo's publisher must also have matched our subscription before we send.
        wait_until(
            lambda n=name: ros_graph.node.count_subscribers(f"/rt_{n.lower()}_echo") >= 1,
            10,
            "our echo subscription",
        )

    rng = random.Random(7)
    sent = {name: [fill(msg_class(name)(), rng) for _ in range(3)] for name in MSG_NAMES}
    for name, messages in sent.items():
        for msg in messages:
            publishers[name].publish(msg)
    for name, messages in sent.items():
        received = collectors[name].wait_for(len(messages), timeout=15, what=f"{name} echoes")
        assert [as_plain(m) for m in received] == [as_plain(m) for m in messages], name
    assert echo.alive(), echo.log()
