"""`act-ros run` / `act-ros evaluate` as child processes, a small real clip to run them on, and a
foreign ROS publisher (the robot's camera, another run) to disturb them."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def small_clip(path: Path, frames: int, width: int = 640) -> Path:
    """The first ``frames`` frames of the bundled clip at ``width`` (mp4v), once per path."""
    from act_ros.data import demo_video_path

    if path.is_file():
        return path
    cap = cv2.VideoCapture(str(demo_video_path()))
    fps = cap.get(cv2.CAP_PROP_FPS)
    writer = None
    for _ in range(frames):
        ok, bgr = cap.read()
        assert ok
        bgr = cv2.resize(
            bgr, (width, round(bgr.shape[0] * width / bgr.shape[1])), interpolation=cv2.INTER_AREA
        )
        if writer is None:
            writer = cv2.VideoWriter(
                str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (bgr.shape[1], bgr.shape[0])
            )
        writer.write(bgr)
    writer.release()
    return path


def start(command: str, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    """``act-ros COMMAND ARGS`` in a child process, output captured as text."""
    return subprocess.Popen(
        [sys.executable, "-m", "act_ros.cli", command, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
    )


def run(
    command: str,
    *args: str,
    timeout: float = 600,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess:
    proc = start(command, *args, env=env)
    out, err = proc.communicate(timeout=timeout)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


class LineWatcher:
    """Reads a child's stream in a thread; :meth:`wait_for` a line matching a pattern."""

    def __init__(self, stream) -> None:
        self.lines: list[str] = []
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream) -> None:
        buf = ""
        while True:
            chunk = stream.read(1)
            if not chunk:
                break
            buf += chunk
            if chunk in "\n\r":  # tqdm ends its updates with \r
                with self._cond:
                    self.lines.append(buf)
                    self._cond.notify_all()
                buf = ""
        with self._cond:
            if buf:
                self.lines.append(buf)
            self.lines.append("")  # EOF marker
            self._cond.notify_all()

    def wait_for(self, pattern: str, timeout: float) -> re.Match:
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        seen = 0
        with self._cond:
            while True:
                for line in self.lines[seen:]:
                    m = regex.search(line)
                    if m:
                        return m
                seen = len(self.lines)
                if self.lines and self.lines[-1] == "" or time.monotonic() > deadline:
                    raise TimeoutError(f"no line matching {pattern!r}; got:\n" + "".join(self.lines)[-3000:])
                self._cond.wait(max(0.0, deadline - time.monotonic()))

    def text(self) -> str:
        self._thread.join(timeout=30)
        return "".join(self.lines)


class ForeignTraffic:
    """Another program on the default graph: images on /image_raw, poses and actions with
    stamps nobody sent, at ``rate_hz`` each, until stopped."""

    def __init__(self, graph, rate_hz: float = 20.0) -> None:
        self._period = 1.0 / rate_hz
        from rclpy.qos import QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
        from sensor_msgs.msg import Image

        from act_ros.msg import PersonActionArray, PersonPose2DArray
        from act_ros.ros.conversions import image_msg

        reliable = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
        self._pubs = [
            (graph.publisher(Image, "/image_raw", qos_profile_sensor_data), "image"),
            (graph.publisher(Image, "/image_raw", reliable), "image"),
            (graph.publisher(PersonPose2DArray, "/human_poses", reliable), "poses"),
            (graph.publisher(PersonActionArray, "/human_actions", reliable), "actions"),
        ]
        self._image = image_msg(np.random.default_rng(0).integers(0, 255, (360, 640, 3), np.uint8))
        self._poses, self._actions = PersonPose2DArray(keypoint_layout="coco17"), PersonActionArray()
        self.sent = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> ForeignTraffic:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _loop(self) -> None:
        from act_ros.messages import set_stamp

        i = 0
        while not self._stop.wait(self._period):
            i += 1
            stamp = 1_000_000_000 * (1000 + i)  # stamps no run sends
            for msg in (self._image, self._poses, self._actions):
                set_stamp(msg, stamp)
            for pub, kind in self._pubs:
                pub.publish({"image": self._image, "poses": self._poses, "actions": self._actions}[kind])
            self.sent += 1
