"""The child processes of the node benchmarks (started by node_harness.server_process):

    node_servers.py echo                      ack every image_raw message with its header
    node_servers.py camera --frames N ...     publish the demo clip in real time, print a summary
    node_servers.py pose-node --marks FILE    the real PoseNode; its per-frame timing marks to FILE
    node_servers.py act-node --act-model M    the real ActNode

``--executor single|multi`` runs a node on that rclpy executor (the executor comparison). The
environment (domain, discovery range, DDS profile) comes from the parent benchmark.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import node_harness as nh


def _executor_class(kind: str) -> type:
    from rclpy.executors import MultiThreadedExecutor, SingleThreadedExecutor

    return SingleThreadedExecutor if kind == "single" else MultiThreadedExecutor


def serve_echo(args: argparse.Namespace) -> int:
    from rclpy.qos import qos_profile_sensor_data
    from sensor_msgs.msg import Image
    from std_msgs.msg import Header

    from act_ros.messages import IMAGE_TOPIC
    from act_ros.ros.host import NodeHost

    with NodeHost(signal_handlers=True) as host:
        node = host.node("bench_image_echo")
        ack = node.create_publisher(Header, "image_ack", nh.reliable())
        node.create_subscription(
            Image, IMAGE_TOPIC, lambda msg: ack.publish(msg.header), qos_profile_sensor_data
        )
        host.spin()
    return 0


def serve_camera(args: argparse.Namespace) -> int:
    """The demo clip on image_raw at ``--fps`` in real time (stamp = publish time), without
    waiting for anything; a JSON summary on stdout."""
    from rclpy.qos import qos_profile_sensor_data
    from sensor_msgs.msg import Image

    from act_ros.messages import IMAGE_TOPIC, set_stamp
    from act_ros.ros.host import NodeHost, wait_until
    from bench_pose import load_frames

    frames = load_frames(count=args.frames, size=nh.parse_size(args.size))
    msgs = [nh.image_message(f, args.encoding) for f in frames]
    with NodeHost() as host:  # a publisher needs no spinning
        pub = host.node("bench_camera").create_publisher(Image, IMAGE_TOPIC, qos_profile_sensor_data)
        if not wait_until(lambda: pub.get_subscription_count() >= 1, 60):
            print(json.dumps({"error": "no subscriber on image_raw"}), flush=True)
            return 1
        period = 1.0 / args.fps
        publish, late = [], 0
        start = time.perf_counter()
        total = len(msgs) * args.loops
        for i in range(total):
            target = start + i * period
            now = time.perf_counter()
            if target > now:
                time.sleep(target - now)
            elif now - target > period:
                late += 1
            msg = msgs[i % len(msgs)]
            set_stamp(msg, time.time_ns())  # ROS system time, the clock the nodes stamp with
            t0 = time.perf_counter()
            pub.publish(msg)
            publish.append(time.perf_counter() - t0)
        elapsed = time.perf_counter() - start
    print(
        json.dumps(
            {
                "published": total,
                "late": late,
                "seconds": elapsed,
                "rate": total / elapsed,
                "publish_ms": nh.stats_ms(publish),
            }
        ),
        flush=True,
    )
    return 0


def serve_pose_node(args: argparse.Namespace) -> int:
    """The real PoseNode; every processed frame's timing marks (perf_counter = CLOCK_MONOTONIC,
    the same clock in every process) keyed by stamp, written to ``--marks`` as JSON at exit."""
    from act_ros.messages import header_stamp_ns
    from act_ros.ros.host import NodeHost
    from act_ros.ros.pose_node import PoseNode

    marks: dict[int, dict[str, float]] = {}

    class MarkedPoseNode(PoseNode):
        def process(self, msg: Any, received_at: float | None = None) -> Any:
            out = super().process(msg, received_at)
            marks[header_stamp_ns(msg)] = dict(self.last_timing)
            return out

    ros_args = [
        "--ros-args",
        "--params-file",
        str(nh.CONFIG),
        "-p",
        f"model_variant:={nh.pose_variant(args.pose_variant)}",
        "-p",
        "no_input_warning:=0.0",
    ]
    host = NodeHost(args=ros_args, signal_handlers=True, executor_class=_executor_class(args.executor))
    try:
        host.create(MarkedPoseNode)
        host.spin()
    finally:
        # The marks first: a teardown error (once seen on a loaded machine) must not lose them.
        if args.marks:
            Path(args.marks).write_text(json.dumps({str(k): v for k, v in marks.items()}))
        host.close()
    return 0


def serve_act_node(args: argparse.Namespace) -> int:
    """The real ActNode (config/act_ros.yaml, 1 thread) on the executor ``--executor``."""
    from act_ros.ros.act_node import ActNode
    from act_ros.ros.host import NodeHost

    ros_args = [
        "--ros-args",
        "--params-file",
        str(nh.CONFIG),
        "-p",
        f"model_path:={args.act_model}",
        "-p",
        "num_threads:=1",
        "-p",
        "no_input_warning:=0.0",
    ]
    with NodeHost(args=ros_args, signal_handlers=True, executor_class=_executor_class(args.executor)) as host:
        host.create(ActNode)
        host.spin()
    return 0


SERVERS = {
    "echo": serve_echo,
    "camera": serve_camera,
    "pose-node": serve_pose_node,
    "act-node": serve_act_node,
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("mode", choices=sorted(SERVERS))
    ap.add_argument("--executor", choices=("single", "multi"), default="single")
    ap.add_argument("--marks", help="pose-node: write the timing marks here")
    ap.add_argument("--pose-variant", default=None, help="default: the configured one (nh.pose_variant)")
    ap.add_argument("--act-model")
    ap.add_argument("--frames", type=int, default=230, help="camera: clip frames (from frame 0)")
    ap.add_argument("--loops", type=int, default=1, help="camera: times the clip is played")
    ap.add_argument("--fps", type=float, default=30.0)
    ap.add_argument("--size", default="native", help="camera: image size (native or WxH)")
    ap.add_argument("--encoding", choices=("rgb8", "bgr8"), default="rgb8")
    args = ap.parse_args(argv)
    nh.environment.apply()  # the parent set the domain and profile; the network rule holds
    return SERVERS[args.mode](args)


if __name__ == "__main__":
    sys.exit(main())
