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
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from rclpy.qos import QoSProfile


def wait_until(predicate: Callable[[], bool], timeout: float, what: str, poll: float = 0.01) -> None:
    """Poll ``predicate`` until it holds; fail the test with ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.1f} s waiting for {what}")
        time.sleep(poll)


class Collector:
    """Collects the messages of one subscription, thread-safe."""

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
                raise TimeoutError(
                    f"got {len(self.messages)} of {count} {what} within {timeout:.1f} s")
            return list(self.messages)


class Graph:
    """Owns a test node and an executor spinning in a background thread."""

    def __init__(self, context: rclpy.Context, name: str = "test_harness") -> None:
        self.context = context
        self.executor = SingleThreadedExecutor(context=context)  # as the nodes' programs
        self.node = Node(name, context=context)
        self.executor.add_node(self.node)
        self._nodes: list[Node] = [self.node]
        self._thread = threading.Thread(target=self._spin, daemon=True)
        self._thread.start()

    def _spin(self) -> None:
        try:
            self.executor.spin()
        except Exception:  # shutdown races end the thread; the test sees its own failures
            pass

    def add(self, node: Node) -> Node:
        self.executor.add_node(node)
        self._nodes.append(node)
        return node

    def collect(self, msg_type: type, topic: str, qos: QoSProfile | int = 10) -> Collector:
        collector = Collector()
        self.node.create_subscription(msg_type, topic, collector, qos)
        return collector

    def publisher(self, msg_type: type, topic: str, qos: QoSProfile | int = 10):
        return self.node.create_publisher(msg_type, topic, qos)

    def wait_for_subscribers(self, publisher, count: int = 1, timeout: float = 15.0) -> None:
        wait_until(lambda: publisher.get_subscription_count() >= count, timeout,
                   f"{count} subscriber(s) on {publisher.topic_name}")

    def wait_for_publishers(self, topic: str, count: int = 1, timeout: float = 15.0) -> None:
        wait_until(lambda: self.node.count_publishers(topic) >= count, timeout,
                   f"{count} publisher(s) on {topic}")

    def close(self) -> None:
        self.executor.shutdown(timeout_sec=2.0)
        for node in self._nodes:
            close = getattr(node, "close", None)  # nodes with worker threads stop them first
            if close:
                close()
            node.destroy_node()
        self._thread.join(timeout=5.0)


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
            ros_args += ["-p", f"{key}:={_param_text(value)}"]
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
        child_env["PYTHONPATH"] = os.pathsep.join(
            p for p in (here, child_env.get("PYTHONPATH", "")) if p)
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


def _param_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_param_text(v) for v in value) + "]"
    if isinstance(value, str):
        return f"'{value}'" if value == "" else value
    return str(value)
