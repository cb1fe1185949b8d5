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

import needs  # noqa: E402  (the --ros-free rule)


def pytest_report_header(config):
    return (
        f"ROS: ROS_AUTOMATIC_DISCOVERY_RANGE={os.environ['ROS_AUTOMATIC_DISCOVERY_RANGE']} "
        f"ROS_DOMAIN_ID={os.environ['ROS_DOMAIN_ID']} ROS_LOG_DIR={os.environ['ROS_LOG_DIR']}"
    )


def pytest_addoption(parser):
    parser.addoption(
        "--ros-free",
        action="store_true",
        help="run only the tests that need neither ROS 2 nor the training extra, "
        "and list the ones left out (the rule: test/needs.py)",
    )
    parser.addoption(
        "--emulated",
        nargs="?",
        const="core",
        default=None,
        choices=needs.EMULATED_MODES,
        help="for CPU emulation (implies --ros-free): 'core' (the default) runs only "
        "the tests marked emulated, the light numeric core; 'all' runs every "
        "ROS-free test except the heavy ones (about an hour under QEMU)",
    )


def _ros_free(config) -> bool:
    return config.getoption("--ros-free") or bool(config.getoption("--emulated"))


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: takes more than ~30 s (still run in CI)")
    config.addinivalue_line(
        "markers",
        "ros: needs rclpy / the generated messages (set by test/needs.py "
        "from the code; mark by hand what it cannot see)",
    )
    config.addinivalue_line("markers", "train: needs the training extra (TensorFlow, mpose)")
    config.addinivalue_line("markers", "heavy: too slow for CPU emulation (left out by --emulated)")
    config.addinivalue_line(
        "markers", "emulated: the emulated core, run by --emulated (light, numeric; test/needs.py)"
    )
    config._ros_free_left_out = []  # (what, reason) for the summary
    config._ros_free_counts = {}


def pytest_ignore_collect(collection_path, config):
    """--ros-free: modules whose imports need ROS or TensorFlow are not imported at all."""
    if (
        not _ros_free(config)
        or collection_path.suffix != ".py"
        or not collection_path.name.startswith("test_")
    ):
        return None
    found = needs.module_needs(collection_path)
    if not found:
        return None
    count = needs.count_tests(collection_path)
    config._ros_free_left_out.append(
        (f"{collection_path.name} ({count} tests)", "; ".join(f"{n}: {why}" for n, why in found))
    )
    return True


def pytest_collection_modifyitems(config, items):
    emulated = config.getoption("--emulated")
    kept, left_out = [], []
    unmarked: dict[str, int] = {}  # module -> tests left out only for want of the mark
    for item in items:
        found = needs.item_needs(item)
        for need in found:
            item.add_marker(need)
        why = needs.left_out_because(
            found,
            item.get_closest_marker(needs.EMULATED) is not None,
            ros_free=_ros_free(config),
            emulated=emulated,
        )
        (left_out if why else kept).append(item)
        if why == "not marked emulated":
            module = item.nodeid.split("::")[0]
            unmarked[module] = unmarked.get(module, 0) + 1
        elif why:
            config._ros_free_left_out.append((item.nodeid, why))
    for module, count in unmarked.items():
        config._ros_free_left_out.append((module, f"{count} tests not marked emulated"))
    config._ros_free_counts = {"selected": len(kept), "unmarked": sum(unmarked.values())}
    if left_out:
        items[:] = kept
        config.hook.pytest_deselected(items=left_out)


def pytest_terminal_summary(terminalreporter, config):
    if not _ros_free(config):
        return
    left = config._ros_free_left_out
    terminalreporter.section("left out by --ros-free (test/needs.py)")
    for what, why in left:
        terminalreporter.line(f"{what}: {why}")
    modules = [w for w, _ in left if w.endswith(" tests)")]
    tests = sum(int(w.rsplit("(", 1)[1].split()[0]) for w in modules)
    singles = sum(1 for w, why in left if "::" in w)
    counts = config._ros_free_counts
    emulated = config.getoption("--emulated")
    line = (
        f"ros-free selection{f' (--emulated={emulated})' if emulated else ''}: "
        f"{counts.get('selected', 0)} tests selected; left out {len(modules)} modules "
        f"({tests} tests) and {singles} single tests"
    )
    if emulated == "core":
        line += f", {counts.get('unmarked', 0)} ROS-free tests not marked emulated"
    terminalreporter.line(line)


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
