"""The --ros-free selection (test/needs.py): what the arm64 check runs where ROS 2 and the
training extra are absent, and that it names everything it leaves out."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import needs

TEST_DIR = Path(__file__).resolve().parent


@pytest.mark.parametrize(
    "name, need",
    [
        ("rclpy", "ros"),
        ("rclpy.qos", "ros"),
        ("sensor_msgs.msg", "ros"),
        ("rcl_interfaces.msg", "ros"),
        ("launch_ros.actions", "ros"),
        ("act_ros.msg", "ros"),
        ("catkin_pkg.package", "ros"),
        ("tensorflow", "train"),
        ("keras", "train"),
        ("mpose", "train"),
        ("numpy", None),
        ("cv2", None),
        ("rosbags.rosbag2", None),
        ("sklearn.metrics", None),
        ("act_ros.preprocessing", None),
        ("act_ros.environment", None),
    ],
)
def test_import_names_are_classified(name, need):
    assert needs.need_of_import(name) == need


def test_modules_are_followed_through_helpers_and_the_ros_layer():
    assert needs.module_needs(TEST_DIR / "test_core_preprocessing.py") == ()
    # node tests reach rclpy through their helper modules
    assert dict(needs.module_needs(TEST_DIR / "test_foundation_messages.py"))["ros"].startswith(
        "imports ros_harness"
    )
    # the environment module conftest uses is ROS-free
    assert needs.module_needs(TEST_DIR / "test_foundation_environment.py") == ()
    assert "train" in dict(needs.module_needs(TEST_DIR / "test_training_pipeline.py"))


def test_a_function_needs_what_it_and_its_module_helpers_import(tmp_path, monkeypatch):
    (tmp_path / "sample_tests.py").write_text(
        textwrap.dedent("""
        import numpy

        def _spin():
            import rclpy
            return rclpy

        def test_uses_a_helper():
            _spin()

        def test_plain():
            numpy.zeros(1)

        def test_needs_tensorflow():
            import pytest
            pytest.importorskip("tensorflow")

        def test_whole_clip():
            demo_detections_for("full")
        """)
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    import sample_tests

    assert dict(needs.function_needs(sample_tests.test_uses_a_helper)) == {"ros": "imports rclpy"}
    assert needs.function_needs(sample_tests.test_plain) == ()
    assert dict(needs.function_needs(sample_tests.test_needs_tensorflow)) == {"train": "imports tensorflow"}
    assert "heavy" in dict(needs.function_needs(sample_tests.test_whole_clip))


@pytest.mark.parametrize(
    "found, marked, ros_free, emulated, why",
    [
        ({}, False, False, None, None),
        ({"ros": "imports rclpy"}, False, False, None, None),  # the host runs everything
        ({"ros": "imports rclpy"}, False, True, None, "ros: imports rclpy"),
        ({"train": "imports tensorflow"}, False, True, None, "train: imports tensorflow"),
        ({"heavy": "marked heavy"}, False, True, None, None),  # heavy only matters emulated
        ({"heavy": "marked heavy"}, False, True, "all", "heavy: marked heavy"),
        ({}, False, True, "all", None),
        ({}, False, False, "core", "not marked emulated"),  # --emulated implies --ros-free
        ({}, True, False, "core", None),
        ({}, True, True, "all", None),
        ({"ros": "imports rclpy"}, False, True, "core", "ros: imports rclpy"),
        # needs win over the mark (a module marked emulated may hold such tests)
        ({"ros": "marked ros"}, True, False, "core", "ros: marked ros"),
        ({"heavy": "marked heavy"}, True, False, "core", "heavy: marked heavy"),
        ({"heavy": "marked heavy"}, True, True, None, None),
    ],
)
def test_the_selection_rule(found, marked, ros_free, emulated, why):
    assert needs.left_out_because(found, marked, ros_free=ros_free, emulated=emulated) == why


# The areas the emulated core must cover (the numeric core whose results could differ on another
# CPU), by test module; MediaPipe over video and training stay out (the parity check runs the
# pose backends on fixed frames instead).
EMULATED_CORE = (
    "test_core_preprocessing.py",
    "test_runtime_recognizer.py",
    "test_core_runtime.py",
    "test_core_model_spec.py",
    "test_core_messages.py",
    "test_pose_base.py",
    "test_pose_tracking.py",
    "test_core_datasets.py",
    "test_bag_make.py",
    "test_bag_labels.py",
    "test_bag_scoring.py",
    "test_bag_errors.py",
)
NEVER_EMULATED = (
    "test_pose_mediapipe.py",
    "test_pose_drawing.py",
    "test_pose_model_bundles.py",
    "test_benchmarks_smoke.py",
    "test_mocap_synthesis.py",
    "test_training_augment.py",
)


def _collect_blocked(*args: str) -> str:
    """pytest --collect-only with rclpy, the message packages, the generated messages and
    TensorFlow unimportable (as in the arm64 root filesystem); returns its output."""
    code = textwrap.dedent("""
        import sys
        BLOCKED = ("rclpy", "std_msgs", "sensor_msgs", "diagnostic_msgs", "builtin_interfaces",
                   "rcl_interfaces", "act_ros.msg", "launch", "launch_ros", "catkin_pkg",
                   "tensorflow", "keras", "mpose")
        import importlib.machinery
        class Blocker:  # as if not installed: importing fails with ModuleNotFoundError
            def find_spec(self, name, path=None, target=None):
                if name in BLOCKED or name.startswith(tuple(b + "." for b in BLOCKED)):
                    return importlib.machinery.ModuleSpec(name, self)
            def create_module(self, spec):
                raise ModuleNotFoundError(f"No module named {spec.name!r} (blocked)", name=spec.name)
            def exec_module(self, module):
                pass
        sys.meta_path.insert(0, Blocker())
        import pytest
        sys.exit(pytest.main(sys.argv[1:] + ["--collect-only", "-q", "-p", "no:cacheprovider", "test"]))
        """)
    done = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=300, cwd=TEST_DIR.parent
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


def _collected_per_module(out: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for line in out.split("left out by --ros-free")[0].splitlines():  # the collected node ids
        if line.startswith("test/") and "::" in line:
            module = line.split("::")[0].removeprefix("test/")
            counts[module] = counts.get(module, 0) + 1
    return counts


def _summary_line(out: str, prefix: str) -> str:
    return out.split(prefix, 1)[1].splitlines()[0]


def test_the_ros_free_subset_collects_with_ros_and_tensorflow_unimportable():
    """What `--ros-free` and `--emulated=all` rely on, checked on every machine: collecting gives
    no error, and what is left out is listed with reasons."""
    out = _collect_blocked("--ros-free")
    assert "left out by --ros-free" in out
    assert "test_runtime_act_node.py (" in out and "test_training_pipeline.py (" in out
    assert "test_core_messages_rclpy.py (" in out
    collected = _collected_per_module(out)
    assert {
        "test_core_preprocessing.py",
        "test_pose_mediapipe.py",
        "test_core_messages.py",
        "test_runtime_recognizer.py",
    } <= set(collected)  # the AcT node's core without ROS
    line = _summary_line(out, "ros-free selection: ")
    assert line.startswith(f"{sum(collected.values())} tests selected; left out ")


def test_the_emulated_core_is_the_marked_numeric_core_and_counts_what_it_leaves_out():
    """The arm64 check's default selection: only tests marked emulated, every area of the
    numeric core present, no MediaPipe over video, no training; counts in the summary."""
    out = _collect_blocked("--emulated")
    collected = _collected_per_module(out)
    assert set(EMULATED_CORE) <= set(collected), set(EMULATED_CORE) - set(collected)
    assert not set(NEVER_EMULATED) & set(collected)
    line = _summary_line(out, "ros-free selection (--emulated=core): ")
    assert line.startswith(f"{sum(collected.values())} tests selected; left out ")
    assert line.endswith(" ROS-free tests not marked emulated")
    # every module left out is named, with its count
    assert "test_runtime_act_node.py (" in out
    assert _summary_line(out, "test/test_pose_mediapipe.py: ").endswith(" tests not marked emulated")
