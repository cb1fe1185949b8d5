"""DDS transport of one sensor_msgs/Image between two processes (issue 4, "Performance").

    .venv/bin/python benchmarks/bench_transport.py [--quick] [--sizes 640x360,...,native]
        [--count 20] [--json PATH] [--png PATH]

Images of each size go best effort (the pose node's sensor-data QoS) from this process to an
echo process that answers with the header; the round trip is timed and an image not answered
within 1 s is lost. Run under the project's Fast DDS profile and under the same profile without
its transport settings (Fast DDS's default 512 KB shared-memory segment), each in a process of
its own, since Fast DDS reads its profile once per process.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

import node_harness as nh

PROFILES = ("project", "default-transports")


def probe(
    sizes: Sequence[str], count: int, encoding: str, run_dir: Path, timeout: float = 1.0
) -> list[dict[str, Any]]:
    """Send ``count`` images of each size to an echo process and time the acknowledgement."""
    import cv2
    from rclpy.qos import qos_profile_sensor_data
    from sensor_msgs.msg import Image
    from std_msgs.msg import Header

    from act_ros.messages import IMAGE_TOPIC, set_stamp, stamp_to_ns
    from act_ros.ros.host import StampedMessages
    from bench_pose import load_frames

    echo = nh.server_process("echo", run_dir)
    host = nh.host("bench_transport")
    try:
        node = host.nodes[0]
        pub = node.create_publisher(Image, IMAGE_TOPIC, qos_profile_sensor_data)
        # The echo answers with the image's std_msgs/Header.
        acks = StampedMessages(stamp_of=lambda header: stamp_to_ns(header.stamp))
        sub = node.create_subscription(Header, "image_ack", acks, nh.reliable())
        nh.spin_or_fail(
            host,
            lambda: pub.get_subscription_count() >= 1 and sub.get_publisher_count() >= 1,
            30,
            "the echo process",
            [echo],
        )
        frame = load_frames(count=1)[0]
        stamp = nh.STAMP0_NS
        # A small image first: the first sample after matching is sometimes lost while the
        # transports connect; that is not what this table is about.
        warm = nh.image_message(np.zeros((8, 8, 3), np.uint8), encoding)
        for _ in range(20):
            stamp += 1000
            set_stamp(warm, stamp)
            pub.publish(warm)
            if host.spin_until(lambda stamp=stamp: stamp in acks, 0.5):
                break
        rows = []
        for size in sizes:
            wh = nh.parse_size(size)
            pixels = frame if wh is None else cv2.resize(frame, wh, interpolation=cv2.INTER_AREA)
            msg = nh.image_message(pixels, encoding)
            rtts, publish = [], []
            for _ in range(count):
                stamp += 1000
                set_stamp(msg, stamp)
                t0 = time.perf_counter()
                pub.publish(msg)
                publish.append(time.perf_counter() - t0)
                if host.spin_until(lambda stamp=stamp: stamp in acks, timeout):
                    rtts.append(acks.arrival(stamp) - t0)
            rows.append(
                {
                    "size": f"{pixels.shape[1]}x{pixels.shape[0]}",
                    "megabytes": len(msg.data) / 1e6,
                    "sent": count,
                    "delivered": len(rtts),
                    "rtt_ms": nh.stats_ms(rtts),
                    "publish_ms": nh.stats_ms(publish),
                }
            )
        return rows
    finally:
        host.close()
        echo.stop()


def run(args: argparse.Namespace, run_dir: Path) -> dict[str, Any]:
    """The probe under both profiles, each in a child process of this script."""
    results = {}
    for profile in PROFILES:
        env = dict(os.environ, FASTDDS_DEFAULT_PROFILES_FILE=nh.profile_path(profile, run_dir))
        cmd = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--probe",
            "--sizes",
            args.sizes,
            "--count",
            str(args.count),
            "--encoding",
            args.encoding,
        ]
        child = nh.Child(cmd, run_dir / f"probe_{profile}.log", env=env, capture_stdout=True)
        results[profile] = child.result(timeout=600)
    return {"profiles": results, "load": os.getloadavg()}


def print_results(res: dict[str, Any], profile_in_use: str) -> None:
    print(
        "### DDS transport of one sensor_msgs/Image between two processes (best effort, "
        "sensor-data QoS like the pose node)"
    )
    print(
        f"rclpy publish -> echo process -> std_msgs/Header back; lost = no answer within 1 s. "
        f"'project' = {nh.environment.FASTDDS_PROFILE.name} (the project's profile); "
        f"'default-transports' = the same without its transport settings (Fast DDS's default "
        f"512 KB shared-memory segment). The node benchmarks use '{profile_in_use}' unless "
        f"told otherwise (--dds-profile)."
    )
    rows = []
    for profile, entries in res["profiles"].items():
        for e in entries:
            rows.append(
                [
                    profile,
                    e["size"],
                    e["megabytes"],
                    f"{e['delivered']}/{e['sent']}",
                    e["rtt_ms"]["median"],
                    e["rtt_ms"]["p90"],
                    e["publish_ms"]["median"],
                ]
            )
    nh.print_table(
        [
            "DDS profile",
            "image",
            "MB",
            "delivered",
            "round trip median ms",
            "round trip p90 ms",
            "publish() median ms",
        ],
        rows,
    )


def plot(ax: Any, results: dict[str, Any]) -> str:
    res = results["transport"]["profiles"]
    sizes = [e["size"] for e in next(iter(res.values()))]
    x = np.arange(len(sizes))
    width = 0.8 / len(res)
    for i, (profile, entries) in enumerate(res.items()):
        ax.bar(
            x + (i - (len(res) - 1) / 2) * width,
            [e["delivered"] / max(1, e["sent"]) for e in entries],
            width=width,
            label=profile,
        )
    ax.set_xticks(x, sizes)
    ax.set_ylabel("share of images delivered (best effort)")
    ax.legend(fontsize=7)
    return "sensor_msgs/Image between two processes"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    nh.add_common_arguments(ap)
    ap.add_argument(
        "--sizes",
        default="640x360,640x480,1280x720,native",
        help="image sizes: WxH, or 'native' (the demo clip's 1768x994)",
    )
    ap.add_argument("--count", type=int, default=20, help="images per size and profile")
    ap.add_argument("--probe", action="store_true", help=argparse.SUPPRESS)  # the child
    args = ap.parse_args(argv)
    if args.quick:
        args.count = min(args.count, 3)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.probe:  # a child of this benchmark: the environment came from the parent
        nh.environment.apply()
        rows = probe(args.sizes.split(","), args.count, args.encoding, Path(os.environ["ROS_LOG_DIR"]).parent)
        print(json.dumps(rows), flush=True)
        return 0

    def measure(run_dir: Path, results: dict[str, Any]) -> None:
        results["transport"] = run(args, run_dir)
        print_results(results["transport"], args.dds_profile)

    return nh.run_benchmark(args, "act_ros DDS transport benchmark", measure, plot)


if __name__ == "__main__":
    sys.exit(main())
