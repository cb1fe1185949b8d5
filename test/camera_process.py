"""A camera driver stand-in for the launch tests: plays a video as sensor_msgs/Image in real
time, the way a driver publishes (best effort, depth 1, bgr8), with nothing of act_ros in it.

    python test/camera_process.py VIDEO [--width 640] [--frames 90 | --loop] [--sim-start 1000]
        [--ros-args -r image_raw:=/camera/image_raw]

Prints ``frame <index> <stamp_ns>`` for every image published (so the test knows the stamps)
and ``done <count>`` at the end; --loop plays the clip over and over until SIGINT. --sim-start S stamps frame i at S + i/fps seconds and publishes
that time on /clock before each frame, as `ros2 bag play --clock` does. It waits (up to 60 s)
for a subscriber before the first frame, so that a test does not race the node's start-up.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time

import cv2
import numpy as np
import rclpy
from builtin_interfaces.msg import Time
from rclpy.qos import QoSProfile, qos_profile_sensor_data
from rclpy.signals import SignalHandlerOptions
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import Image


def read_frames(path: str, width: int, count: int) -> tuple[list[np.ndarray], float]:
    video = cv2.VideoCapture(path)
    fps = video.get(cv2.CAP_PROP_FPS) or 30.0
    frames = []
    while len(frames) < count:
        ok, frame = video.read()
        if not ok:
            break
        if width and frame.shape[1] != width:
            frame = cv2.resize(
                frame, (width, round(frame.shape[0] * width / frame.shape[1])), interpolation=cv2.INTER_AREA
            )
        frames.append(np.ascontiguousarray(frame))
    if not frames:
        raise SystemExit(f"no frames in {path}")
    return frames, fps


def publish(
    images, clock, frame: np.ndarray, i: int, fps: float, start: float, sim_start: float | None
) -> None:
    """Frame ``i`` at its time (real-time pacing), stamped with wall or simulated time."""
    time.sleep(max(0.0, start + i / fps - time.monotonic()))
    stamp_ns = time.time_ns() if sim_start is None else round((sim_start + i / fps) * 1e9)
    stamp = Time(sec=stamp_ns // 10**9, nanosec=stamp_ns % 10**9)
    if clock is not None:
        clock.publish(Clock(clock=stamp))
    msg = Image(
        height=frame.shape[0],
        width=frame.shape[1],
        encoding="bgr8",
        step=frame.shape[1] * 3,
        data=frame.tobytes(),
    )
    msg.header.stamp = stamp
    msg.header.frame_id = "camera"
    # Said before publishing: a SIGINT between the two must not leave a published frame unlisted
    # (the tests check every result's stamp against this list).
    print(f"frame {i} {stamp_ns}", flush=True)
    images.publish(msg)


def main() -> int:
    argv = rclpy.utilities.remove_ros_args(sys.argv)[1:]
    parser = argparse.ArgumentParser()
    parser.add_argument("video")
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--frames", type=int, default=90)
    parser.add_argument("--loop", action="store_true")
    parser.add_argument("--sim-start", type=float, default=None)
    args = parser.parse_args(argv)
    frames, fps = read_frames(args.video, args.width, args.frames)

    # Ctrl-C is KeyboardInterrupt even when this process inherited SIGINT ignored: a shell
    # starts background jobs that way, and Python then leaves SIG_IGN in place (a CI run started
    # with `cmd &` saw the camera play on for 30 s after SIGINT).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    rclpy.init(signal_handler_options=SignalHandlerOptions.NO)  # Ctrl-C: KeyboardInterrupt
    node = rclpy.create_node("camera")
    images = node.create_publisher(Image, "image_raw", qos_profile_sensor_data)
    clock = (
        node.create_publisher(Clock, "/clock", QoSProfile(depth=10)) if args.sim_start is not None else None
    )
    deadline = time.monotonic() + 60.0
    while images.get_subscription_count() == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    start = time.monotonic()
    sent = 0
    try:
        while True:
            for frame in frames:
                publish(images, clock, frame, sent, fps, start, args.sim_start)
                sent += 1
            if not args.loop:
                break
    except KeyboardInterrupt:
        pass
    print(f"done {sent}", flush=True)
    node.destroy_node()
    rclpy.try_shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
