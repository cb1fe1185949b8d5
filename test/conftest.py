"""Test configuration shared by every test.

The environment is fixed HERE, before any test module imports rclpy: DDS discovery limited to
localhost (the network rule), a private ROS log folder, a per-run domain ID (so concurrent runs
on one machine do not see each other), and the fast-discovery Fast DDS profile.
"""
from __future__ import annotations

import os
import random
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))  # test helpers (ros_harness, ...)

from act_ros import environment  # noqa: E402  (ROS-free module)

_RUN_DIR = Path(tempfile.mkdtemp(prefix="act_ros_test_"))
environment.apply(
    os.environ,
    # 1..100: valid on every OS and away from 0, the default every other ROS program uses.
    domain_id=int(os.environ.get("ACT_ROS_TEST_DOMAIN_ID", random.Random(os.getpid()).randint(1, 100))),
    log_dir=_RUN_DIR / "ros_log",
)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# Generated message setters check types and fixed sizes (off by default for speed): a wrong-sized
# keypoint array fails loudly in tests instead of crashing the C serializer.
os.environ.setdefault("ROS_PYTHON_CHECK_FIELDS", "1")

import pytest  # noqa: E402


def pytest_report_header(config):
    return (
        f"ROS: ROS_AUTOMATIC_DISCOVERY_RANGE={os.environ['ROS_AUTOMATIC_DISCOVERY_RANGE']} "
        f"ROS_DOMAIN_ID={os.environ['ROS_DOMAIN_ID']} ROS_LOG_DIR={os.environ['ROS_LOG_DIR']}"
    )


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: takes more than ~30 s (still run in CI)")


@pytest.fixture(scope="session")
def run_dir() -> Path:
    """A folder private to this test run (outputs, logs of child processes)."""
    return _RUN_DIR


@pytest.fixture
def ros_context():
    """A fresh, initialised rclpy context (shut down after the test)."""
    import rclpy

    context = rclpy.Context()
    rclpy.init(context=context)
    try:
        yield context
    finally:
        context.try_shutdown()


@pytest.fixture
def ros_graph(ros_context):
    """In-process nodes spun by a background executor; see ros_harness.Graph."""
    from ros_harness import Graph

    graph = Graph(ros_context)
    try:
        yield graph
    finally:
        graph.close()


@pytest.fixture
def node_process(run_dir):
    """Start nodes in separate processes: ``node_process(module, params={...}, remap={...})``."""
    from ros_harness import NodeProcess

    started: list[NodeProcess] = []

    def start(module: str, **kwargs) -> NodeProcess:
        proc = NodeProcess(module, log_dir=run_dir, **kwargs)
        started.append(proc)
        return proc

    try:
        yield start
    finally:
        for proc in reversed(started):
            proc.stop()
