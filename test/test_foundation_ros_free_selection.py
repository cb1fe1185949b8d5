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


@pytest.mark.parametrize("name, need", [
    ("rclpy", "ros"), ("rclpy.qos", "ros"), ("sensor_msgs.msg", "ros"), ("rcl_interfaces.msg", "ros"),
    ("launch_ros.actions", "ros"), ("act_ros.msg", "ros"), ("catkin_pkg.package", "ros"),
    ("tensorflow", "train"), ("keras", "train"), ("mpose", "train"),
    ("numpy", None), ("cv2", None), ("rosbags.rosbag2", None), ("sklearn.metrics", None),
    ("act_ros.preprocessing", None), ("act_ros.environment", None),
])
def test_import_names_are_classified(name, need):
    assert needs.need_of_import(name) == need


def test_modules_are_followed_through_helpers_and_the_ros_layer():
    assert needs.module_needs(TEST_DIR / "test_core_preprocessing.py") == ()
    # node tests reach rclpy through their helper modules
    assert dict(needs.module_needs(TEST_DIR / "test_foundation_messages.py"))["ros"].startswith(
        "imports ros_harness")
    # the environment module conftest uses is ROS-free
    assert needs.module_needs(TEST_DIR / "test_foundation_environment.py") == ()
    assert "train" in dict(needs.module_needs(TEST_DIR / "test_training_pipeline.py"))


def test_a_function_needs_what_it_and_its_module_helpers_import(tmp_path, monkeypatch):
    (tmp_path / "sample_tests.py").write_text(textwrap.dedent("""
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
        """))
    monkeypatch.syspath_prepend(str(tmp_path))
    import sample_tests

    assert dict(needs.function_needs(sample_tests.test_uses_a_helper)) == {"ros": "imports rclpy"}
    assert needs.function_needs(sample_tests.test_plain) == ()
    assert dict(needs.function_needs(sample_tests.test_needs_tensorflow)) == {
        "train": "imports tensorflow"}
    assert "heavy" in dict(needs.function_needs(sample_tests.test_whole_clip))


def test_the_ros_free_subset_collects_with_ros_and_tensorflow_unimportable():
    """What the arm64 check relies on, checked on every machine: with rclpy, the message
    packages, the generated messages and TensorFlow blocked, collecting --ros-free gives no
    error, and what it leaves out is listed with reasons."""
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
        sys.exit(pytest.main(["--ros-free", "--emulated", "--collect-only", "-q",
                              "-p", "no:cacheprovider", "test"]))
        """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300, cwd=TEST_DIR.parent)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    assert "left out by --ros-free" in out and "ros-free selection: left out" in out
    assert "test_runtime_act_node.py (" in out and "test_training_pipeline.py (" in out
    assert "test/test_core_preprocessing.py::" in out  # collected
    assert "test/test_runtime_recognizer.py::" in out  # the AcT node's core runs without ROS
