"""The ROS package is well-formed: package.xml is valid and declares every runtime import,
CMakeLists.txt installs what exists, and the ROS-free core imports without ROS."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "act_ros"

# Top-level import -> how it is declared. rosdep keys must be in package.xml; "pip:<name>"
# must be in requirements/runtime.txt (no rosdep key exists for them); "extra:<file>" are tools'
# dependencies (training / evaluation), never needed by a node.
RUNTIME_DEPENDENCIES = {
    "rclpy": "rclpy",
    "std_msgs": "std_msgs",
    "sensor_msgs": "sensor_msgs",
    "diagnostic_msgs": "diagnostic_msgs",
    "builtin_interfaces": "builtin_interfaces",
    "rcl_interfaces": "rcl_interfaces",
    "rosgraph_msgs": "rosgraph_msgs",
    "launch": "launch",
    "launch_ros": "launch_ros",
    "numpy": "python3-numpy",
    "cv2": "python3-opencv",
    "yaml": "python3-yaml",
    "tqdm": "python3-tqdm",
    "mediapipe": "python3-mediapipe-pip",
    "ai_edge_litert": "pip:ai-edge-litert",
    "tflite_runtime": "pip:optional",
    "flatbuffers": "pip:flatbuffers",
    "rosbags": "pip:rosbags",
    "threadpoolctl": "pip:threadpoolctl",
    "ament_index_python": "ament_index_python",
    "norfair": "pip:norfair",
    "trackers": "pip:trackers",
    "cv_bridge": "optional",  # used when present (real ROS installs), else our own conversion
    "av": "optional",  # H.264 videos when present (requirements/video.txt), else OpenCV's mp4v
}
TOOL_DEPENDENCIES = {
    "tensorflow": "train",
    "keras": "train",
    "sklearn": "train",
    "matplotlib": "train",
    "mpose": "train",
    "pybvh": "train",
    "pytest": "test",
    "launch_testing": "test",
}


def package_xml():
    from catkin_pkg.package import parse_package

    return parse_package(str(ROOT / "package.xml"))


def third_party_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return {n for n in names if n not in sys.stdlib_module_names and n not in ("act_ros", "__future__")}


def test_package_xml_is_valid_format3_with_the_setup_py_version():
    pkg = package_xml()
    pkg.validate()
    assert pkg.package_format == 3 and pkg.name == "act_ros"
    assert [e.content for e in pkg.exports if e.tagname == "build_type"] == ["ament_cmake"]
    import act_ros

    assert pkg.version == act_ros.__version__
    assert f'version="{pkg.version}"' in (ROOT / "setup.py").read_text()
    build = {d.name for d in pkg.buildtool_depends}
    assert {"ament_cmake", "ament_cmake_python", "rosidl_default_generators"} <= build
    assert "rosidl_interface_packages" in {g.name for g in pkg.member_of_groups}


def test_every_runtime_import_is_declared():
    pkg = package_xml()
    exec_keys = {d.name for d in pkg.exec_depends + pkg.build_export_depends} | {
        d.name for d in pkg.build_depends
    }
    runtime_reqs = (ROOT / "requirements" / "runtime.txt").read_text()
    undeclared = []
    for path in sorted(PKG.rglob("*.py")):
        tool_module = path.relative_to(PKG).parts[0] in ("training", "bag", "datasets", "bench.py")
        for name in third_party_imports(path):
            where = f"{path.relative_to(ROOT)} imports {name}"
            dep = RUNTIME_DEPENDENCIES.get(name)
            if dep is None:
                if name in TOOL_DEPENDENCIES and tool_module:
                    req = ROOT / "requirements" / f"{TOOL_DEPENDENCIES[name]}.txt"
                    if not re.search(rf"^{name}\b", req.read_text(), re.M | re.I) and name not in (
                        "keras",
                        "sklearn",
                    ):  # keras comes with tensorflow; sklearn = scikit-learn
                        undeclared.append(f"{where}: not in {req.name}")
                    continue
                undeclared.append(f"{where}: unknown dependency (declare it here and in package.xml)")
            elif dep.startswith("pip:") and dep != "pip:optional":
                if not re.search(rf"^{dep[4:]}\b", runtime_reqs, re.M):
                    undeclared.append(f"{where}: not in requirements/runtime.txt")
            elif not dep.startswith("pip:") and dep != "optional" and dep not in exec_keys:
                undeclared.append(f"{where}: {dep} missing from package.xml")
    assert not undeclared, "\n".join(undeclared)


def test_cmakelists_generates_every_msg_and_installs_every_script():
    cmake = (ROOT / "CMakeLists.txt").read_text()
    for msg in (ROOT / "msg").glob("*.msg"):
        assert f'"msg/{msg.name}"' in cmake, msg.name
    for script in (ROOT / "scripts").iterdir():
        assert f"scripts/{script.name}" in cmake, script.name
        assert script.stat().st_mode & 0o111, f"{script} is not executable"
    assert "install(DIRECTORY launch config DESTINATION share/${PROJECT_NAME})" in cmake


def _run_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=300, cwd=ROOT
    )


@pytest.mark.train  # imports act_ros.training too, whose model module needs keras
def test_ros_free_core_imports_without_ros():
    """Every module outside act_ros.ros (the core, act_ros.messages, act_ros.environment and the
    bag code) imports with rclpy and all ROS message packages made unimportable, and none of them
    pulls in TensorFlow unless it is training code (test_foundation_layers checks the import
    statements themselves)."""
    result = _run_python("""
        import importlib, pkgutil, sys
        BLOCKED = ("rclpy", "std_msgs", "sensor_msgs", "diagnostic_msgs", "builtin_interfaces",
                   "rcl_interfaces", "act_ros.msg", "launch", "launch_ros")
        class Blocker:
            def find_spec(self, name, path=None, target=None):
                if name in BLOCKED or name.startswith(tuple(b + "." for b in BLOCKED)):
                    raise ImportError(f"blocked for this test: {name}")
        sys.meta_path.insert(0, Blocker())
        import act_ros
        failures, imported = [], []
        for info in pkgutil.walk_packages(act_ros.__path__, "act_ros."):
            name = info.name
            if name.startswith(("act_ros.ros", "act_ros.msg")):
                continue
            try:
                importlib.import_module(name)
                imported.append(name)
            except Exception as exc:
                failures.append(f"{name}: {exc!r}")
        print("FAILURES", failures)
        print("IMPORTED", " ".join(imported))
        """)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "FAILURES []" in result.stdout, result.stdout[-3000:]
    imported = set(result.stdout.split("IMPORTED", 1)[1].split())
    assert {
        "act_ros.messages",
        "act_ros.environment",
        "act_ros.bag.bag_io",
        "act_ros.bag.direct",
        "act_ros.bag.make_bag",
        "act_ros.bag.images",
        "act_ros.bag.scoring",
    } <= imported


@pytest.mark.ros  # imports the nodes in a subprocess
@pytest.mark.parametrize(
    "module",
    [
        "act_ros.ros.pose_node",
        "act_ros.ros.act_node",
        "act_ros.ros.run",
        "act_ros.ros.evaluate",
        "act_ros.ros.replay",
    ],
)
def test_nodes_never_import_training_frameworks(module):
    if not (PKG / Path(*module.split(".")[1:])).with_suffix(".py").exists():
        pytest.skip(f"{module} not written yet")
    result = _run_python(f"""
        import sys, importlib
        importlib.import_module("{module}")
        heavy = sorted(m for m in ("tensorflow", "keras", "sklearn", "matplotlib", "torch", "mpose")
                       if m in sys.modules)
        print("HEAVY", heavy)
        """)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "HEAVY []" in result.stdout
