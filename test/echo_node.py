"""A node that republishes what it receives, for round-trip tests across processes.

    python -m echo_node act_ros/msg/PersonPose2DArray:poses ... --ros-args ...
subscribes to each topic and republishes every message unchanged on ``<topic>_echo``.
"""

from __future__ import annotations

import importlib
import sys

import rclpy
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy


def message_type(name: str) -> type:
    package, kind, cls = name.split("/")
    return getattr(importlib.import_module(f"{package}.{kind}"), cls)


def main() -> None:
    argv = rclpy.utilities.remove_ros_args(sys.argv)[1:]
    rclpy.init()
    node = Node("echo_node")
    qos = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE)
    for spec in argv:
        type_name, topic = spec.split(":")
        msg_type = message_type(type_name)
        pub = node.create_publisher(msg_type, f"{topic}_echo", qos)
        node.create_subscription(msg_type, topic, pub.publish, qos)
    try:
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        node.destroy_node()
        rclpy.try_shutdown()


if __name__ == "__main__":
    main()
