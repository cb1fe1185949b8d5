"""The package's layers, checked statically on every import statement (module level and inside
functions): rclpy and the ROS message packages only under act_ros/ros; nothing outside
act_ros/ros imports it; rosbags and act_ros.bag stay out of the core; no import circle.

    core (act_ros/*.py, pose/, datasets/, training/)  <-  bag/ (rosbags)  <-  ros/ (rclpy)

The sub-command table (cli.py, evaluate_cli.py) names modules of every layer as strings and
imports them only when a command runs; it is the top, not a layer.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "act_ros"

# Importable only under act_ros/ros: rclpy and the messages' rclpy classes.
ROS = (
    "rclpy",
    "std_msgs",
    "sensor_msgs",
    "diagnostic_msgs",
    "builtin_interfaces",
    "rcl_interfaces",
    "rosgraph_msgs",
    "launch",
    "launch_ros",
    "act_ros.msg",
    "act_ros.ros",
)
# Importable only under act_ros/bag and act_ros/ros.
BAG = ("rosbags", "act_ros.bag")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PKG.rglob("*.py"))}


def imported_names(path: Path, name: str | None = None) -> set[str]:
    """Every module name an import statement in ``path`` names (``from a import b``: a and a.b);
    ``name``: the module's name (default: from its place in the package)."""
    name = name or module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([base] if base else []))
            names.add(base)
            names.update(f"{base}.{a.name}" for a in node.names)
    return names


def _matches(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def violations(
    prefixes: tuple[str, ...], allowed: tuple[str, ...], modules: dict[str, Path] = MODULES
) -> list[str]:
    """Modules outside the ``allowed`` sub-packages that import any of ``prefixes``."""
    found = []
    for name, path in modules.items():
        if name.split(".")[1:2] and name.split(".")[1] in allowed:
            continue
        bad = sorted(n for n in imported_names(path, name) if _matches(n, prefixes))
        if bad:
            found.append(f"{name} imports {', '.join(bad)}")
    return found


def test_only_act_ros_ros_imports_rclpy_the_ros_messages_or_itself():
    assert {"act_ros.ros.host", "act_ros.messages", "act_ros.bag.bag_io"} <= set(MODULES)
    found = violations(ROS, allowed=("ros",))
    assert not found, "\n".join(found)


def test_rosbags_and_act_ros_bag_stay_out_of_the_core():
    found = violations(BAG, allowed=("bag", "ros"))
    assert not found, "\n".join(found)


def test_the_scan_sees_lazy_and_relative_imports(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text("def f():\n    from rclpy.node import Node\n    from ..ros import host\n")
    found = violations(ROS, allowed=("ros",), modules={"act_ros.bag.probe": probe})
    assert found == ["act_ros.bag.probe imports act_ros.ros, act_ros.ros.host, rclpy.node, rclpy.node.Node"]
    assert not violations(ROS, allowed=("ros",), modules={"act_ros.ros.probe": probe})


def import_graph() -> dict[str, set[str]]:
    """Module -> the act_ros modules it imports (package __init__ files are docstrings only and
    left out: importing a.b.c runs a/__init__ and a/b/__init__ without a dependency on them)."""
    plain = {n for n, p in MODULES.items() if p.name != "__init__.py"}
    return {n: {m for m in imported_names(MODULES[n]) if m in plain and m != n} for n in plain}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_circle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    graph = import_graph()
    assert "act_ros.bag.pose_datasets" in graph["act_ros.bag.make_bag"]
    assert not cycles(graph), cycles(graph)


def test_no_python_file_over_600_lines():
    """Small modules with one job: a reader can follow each file (act_ros/ and benchmarks/)."""
    files = sorted(PKG.rglob("*.py")) + sorted((ROOT / "benchmarks").glob("*.py"))
    long = {str(p.relative_to(ROOT)): n for p in files if (n := len(p.read_text().splitlines())) > 600}
    assert len(files) > 50 and not long, long
