"""Which tests need ROS 2 or the training extra: the rule behind ``pytest --ros-free``.

The arm64 check (``tools/arm64_check.sh``) runs the suite where only the robot runtime is
installed: no rclpy (no aarch64 wheels; robots get it from the ROS apt repository), no generated
messages, no TensorFlow. ``--ros-free`` runs every test that needs none of those and names the
ones left out; nothing is skipped quietly. The rule reads the test code, never the library:

* a test module is left out whole when its top-level imports (followed through the helper
  modules in ``test/`` and the ROS layer ``act_ros/ros``) reach a ROS or training module, or when
  it calls ``pytest.importorskip`` on one at top level;
* a single test is left out when its own body, a fixture it uses, or a helper function of its
  module that it calls imports one (the ROS fixtures of conftest.py import rclpy);
* ``@pytest.mark.ros`` / ``@pytest.mark.train`` mark what reading the code cannot see (a test
  that starts ``act-ros run`` or a node in a subprocess).

Under CPU emulation (QEMU, where float SIMD runs ~1000x slower than natively) the whole ROS-free
subset takes about an hour, so ``--emulated`` (implies ``--ros-free``) runs the emulated core only:
the tests marked ``@pytest.mark.emulated`` by hand (module ``pytestmark`` or per test), the
numeric core whose results could differ on another CPU: preprocessing, the recognizer and the
shipped models through the runtime, model specs, message conversions, layouts, tracking, dataset
and bag files. A test is marked when it is cheap there (few model calls, no pose model over
video, no training): MediaPipe is checked by the arm64 parity check instead. Needs win over
the mark: a test of a module marked ``emulated`` that needs ROS or is heavy is left out.
``--emulated=all`` runs every ROS-free test except the ``heavy`` ones: those that run a pose model
over the whole demo clip (they use one of ``HEAVY_HELPERS``) or carry ``@pytest.mark.heavy``.

The ROS-free core (``act_ros/*.py``, ``act_ros/pose``, ``act_ros/bag``, ...) is not followed: if
it ever imports rclpy, its tests fail in ``--ros-free`` runs instead of being left out.
"""

from __future__ import annotations

import ast
import functools
import inspect
import textwrap
from pathlib import Path

TEST_DIR = Path(__file__).resolve().parent
ROOT = TEST_DIR.parent

# Top-level import names. ROS: what requirements/ros.txt brings (the rclpy stack, message
# packages, the build tools) and the package's generated messages.
ROS_PREFIXES = ("rcl", "rmw", "rosidl", "launch", "ament_", "catkin")
ROS_SUFFIXES = ("_msgs", "_interfaces")
# The training extra (requirements/train.txt) by import name. The eval extra (scikit-learn,
# matplotlib) has aarch64 wheels and is installed where --ros-free runs.
TRAIN_MODULES = ("tensorflow", "keras", "mpose")
NEEDS = ("ros", "train", "heavy")
EMULATED = "emulated"  # the mark of the emulated core
EMULATED_MODES = ("core", "all")
# Test helpers (pose_fixtures.py) that run MediaPipe on all 230 frames of the 1768x994 demo clip.
HEAVY_HELPERS = ("demo_detections", "demo_detections_for")
HEAVY_REASON = "runs MediaPipe over the whole demo clip"


def need_of_import(name: str) -> str | None:
    """'ros', 'train' or None for a dotted module name (``act_ros.ros.*`` is resolved by
    :func:`module_needs` from its file)."""
    top = name.split(".")[0]
    if name == "act_ros.msg" or name.startswith("act_ros.msg."):
        return "ros"
    if top == "act_ros":
        return None
    if top.startswith(ROS_PREFIXES) or top.endswith(ROS_SUFFIXES):
        return "ros"
    if top in TRAIN_MODULES:
        return "train"
    return None


def _imported_names(nodes) -> list[str]:
    """Modules imported by these statements (not descending into function bodies), including
    ``pytest.importorskip("x")`` calls."""
    names: list[str] = []
    for node in nodes:
        for sub in (
            ast.walk(node)
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
            else ()
        ):
            if isinstance(sub, ast.Import):
                names += [a.name for a in sub.names]
            elif isinstance(sub, ast.ImportFrom) and sub.module and not sub.level:
                names.append(sub.module)
                names += [f"{sub.module}.{a.name}" for a in sub.names]
            elif isinstance(sub, ast.Call) and _is_importorskip(sub):
                names.append(sub.args[0].value)
    return names


def _body_imports(func: ast.AST) -> list[str]:
    """Every module a function imports anywhere in its body (nested blocks included)."""
    return _imported_names(
        [n for n in ast.walk(func) if isinstance(n, (ast.Import, ast.ImportFrom, ast.Call))]
    )


def _is_importorskip(call: ast.Call) -> bool:
    f = call.func
    named = (isinstance(f, ast.Attribute) and f.attr == "importorskip") or (
        isinstance(f, ast.Name) and f.id == "importorskip"
    )
    return (
        named
        and bool(call.args)
        and isinstance(call.args[0], ast.Constant)
        and isinstance(call.args[0].value, str)
    )


def _local_file(name: str) -> Path | None:
    """The file of a test helper module or of an ``act_ros.ros`` module, else None."""
    if "." not in name:
        path = TEST_DIR / f"{name}.py"
        return path if path.is_file() else None
    if name.startswith("act_ros.ros"):
        base = ROOT.joinpath(*name.split("."))
        for path in (base.with_suffix(".py"), base / "__init__.py"):
            if path.is_file():
                return path
    return None


@functools.cache
def module_needs(path: Path) -> tuple[tuple[str, str], ...]:
    """(need, reason) pairs of a module's top-level imports, followed through local modules."""
    return _needs_of_names(_imported_names(ast.parse(path.read_text()).body), frozenset({path}))


def _needs_of_names(names: list[str], seen: frozenset) -> tuple[tuple[str, str], ...]:
    found: dict[str, str] = {}
    for name in names:
        need = need_of_import(name)
        if need:
            found.setdefault(need, f"imports {name}")
            continue
        path = _local_file(name)
        if path is not None and path not in seen:
            for need, why in _needs_of_names(
                _imported_names(ast.parse(path.read_text()).body), seen | {path}
            ):
                found.setdefault(need, f"imports {name} ({why})")
    return tuple(found.items())


@functools.cache
def _module_functions(path: Path) -> dict[str, ast.AST]:
    tree = ast.parse(path.read_text())
    return {
        n.name: n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
    }


def function_needs(func) -> tuple[tuple[str, str], ...]:
    """(need, reason) pairs of a test or fixture function: imports in its body and in the
    functions and classes of its own module that it refers to (transitively)."""
    try:
        path = Path(inspect.getsourcefile(func) or "")
        tree = ast.parse(textwrap.dedent(inspect.getsource(func)))
    except (OSError, TypeError, SyntaxError):
        return ()
    local = _module_functions(path) if path.is_file() else {}
    names: list[str] = []
    todo, done = [tree], set()
    while todo:
        node = todo.pop()
        names += _body_imports(node)
        for ref in {n.id for n in ast.walk(node) if isinstance(n, ast.Name)} - done:
            done.add(ref)
            if ref in local:
                todo.append(local[ref])
    found = _needs_of_names(names, frozenset())
    heavy = sorted(done & set(HEAVY_HELPERS))
    return found + ((("heavy", f"{HEAVY_REASON} ({heavy[0]})"),) if heavy else ())


def item_needs(item) -> dict[str, str]:
    """need -> reason for one collected test item (explicit marks, its code, its fixtures)."""
    found: dict[str, str] = {}
    for need in NEEDS:
        if item.get_closest_marker(need):
            found[need] = f"marked {need}"
    funcs = [getattr(item, "function", None)]
    info = getattr(item, "_fixtureinfo", None)
    heavy = sorted(set(getattr(info, "names_closure", ())) & set(HEAVY_HELPERS))
    if heavy:
        found.setdefault("heavy", f"{HEAVY_REASON} (fixture {heavy[0]})")
    for name in getattr(info, "names_closure", ()):
        for fixturedef in info.name2fixturedefs.get(name) or ():
            funcs.append(fixturedef.func)
    for func in funcs:
        if func is None:
            continue
        for need, why in function_needs(func):
            owner = "" if func is funcs[0] else f"fixture {func.__name__}: "
            found.setdefault(need, owner + why)
    return found


def count_tests(path: Path) -> int:
    """Test functions defined in a module (top level and in Test* classes; a parametrized test
    counts once): what a module left out whole would have contributed."""
    tree = ast.parse(path.read_text())
    count = 0
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test"):
            count += 1
        elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
            count += sum(
                isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name.startswith("test")
                for n in node.body
            )
    return count


def left_out_because(
    found: dict[str, str], marked_emulated: bool, *, ros_free: bool, emulated: str | None
) -> str | None:
    """Why a test with these needs is left out of this run, or None when it runs.

    ``emulated`` is None (no emulation), "core" (only tests marked ``emulated``) or "all"
    (every ROS-free test but the heavy ones); either implies ``ros_free``. A need always wins
    over the ``emulated`` mark: a module marked emulated may hold a test that needs ROS or is
    heavy, and that test is left out (and listed) like any other.
    """
    if emulated not in (None, *EMULATED_MODES):
        raise ValueError(f"--emulated takes one of {EMULATED_MODES}, not {emulated!r}")
    leave = ("ros", "train") if emulated is None else NEEDS
    if ros_free or emulated:
        for need in leave:
            if need in found:
                return f"{need}: {found[need]}"
    if emulated == "core" and not marked_emulated:
        return "not marked emulated"
    return None
