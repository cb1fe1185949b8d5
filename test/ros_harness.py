"""Helpers to run real ROS 2 nodes in tests: in-process executors, child processes, and waits
on the ROS graph (never fixed sleeps)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import rclpy
from rclpy.node import Node
from rclpy.qos import QoSProfile

from act_ros.ros import host as _host
from act_ros.parameters import ros_arg_value


def wait_until(predicate: Callable[[], bool], timeout: float, what: str, poll: float = 0.01) -> None:
    """Poll ``predicate`` until it holds; fail the test with ``what`` after ``timeout`` s."""
    if not _host.wait_until(predicate, timeout, poll):
        raise TimeoutError(f"timed out after {timeout:.1f} s waiting for {what}")


class Collector:
    """Collects the messages of one subscription in arrival order, thread-safe."""

    def __init__(self) -> None:
        self.messages: list[Any] = []
        self._cond = threading.Condition()

    def __call__(self, msg: Any) -> None:
        with self._cond:
            self.messages.append(msg)
            self._cond.notify_all()

    def wait_for(self, count: int, timeout: float = 10.0, what: str = "messages") -> list[Any]:
        with self._cond:
            ok = self._cond.wait_for(lambda: len(self.messages) >= count, timeout)
            if not ok:
                raise TimeoutError(f"got {len(self.messages)} of {count} {what} within {timeout:.1f} s")
            return list(self.messages)


class Graph:
    """A test node and the nodes under test on the project's NodeHost, spinning in the
    background (the same executor and teardown as the programs)."""

    def __init__(self, context: rclpy.Context, name: str = "test_harness") -> None:
        self.context = context
        self.host = _host.NodeHost(context=context)
        self.node = self.host.node(name)
        self.host.start()

    def add(self, node: Node) -> Node:
        return self.host.add(node)

    def collect(self, msg_type: type, topic: str, qos: QoSProfile | int = 10) -> Collector:
        collector = Collector()
        self.node.create_subscription(msg_type, topic, collector, qos)
        return collector

    def publisher(self, msg_type: type, topic: str, qos: QoSProfile | int = 10):
        return self.node.create_publisher(msg_type, topic, qos)

    def wait_for_subscribers(self, publisher, count: int = 1, timeout: float = 15.0) -> None:
        wait_until(
            lambda: publisher.get_subscription_count() >= count,
            timeout,
            f"{count} subscriber(s) on {publisher.topic_name}",
        )

    def wait_for_publishers(self, topic: str, count: int = 1, timeout: float = 15.0) -> None:
        wait_until(
            lambda: self.node.count_publishers(topic) >= count, timeout, f"{count} publisher(s) on {topic}"
        )

    def close(self) -> None:
        self.host.close()


class NodeProcess:
    """A Python module run in a child process with ``--ros-args``; stopped with SIGINT."""

    def __init__(
        self,
        module: str,
        *,
        log_dir: Path,
        args: Sequence[str] = (),
        params: dict[str, Any] | None = None,
        remap: dict[str, str] | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        ros_args: list[str] = []
        for key, value in (params or {}).items():
            ros_args += ["-p", f"{key}:={ros_arg_value(value)}"]
        for src, dst in (remap or {}).items():
            ros_args += ["-r", f"{src}:={dst}"]
        cmd = [sys.executable, "-m", module, *args]
        if ros_args:
            cmd += ["--ros-args", *ros_args]
        self.log_path = Path(log_dir) / f"{module.rsplit('.', 1)[-1]}_{time.monotonic_ns()}.log"
        self._log = open(self.log_path, "w")
        child_env = {**os.environ, **(env or {})}
        # The test helpers (e.g. echo_node) are importable in the child too.
        here = str(Path(__file__).resolve().parent)
        child_env["PYTHONPATH"] = os.pathsep.join(p for p in (here, child_env.get("PYTHONPATH", "")) if p)
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT, env=child_env)

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text()

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self, timeout: float = 10.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        return self.proc.returncode

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait()
