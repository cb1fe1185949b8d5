"""One home per concept: the skeleton vocabulary lives in act_ros/layouts.py, the AcT sizes in
act_ros/model_sizes.py, the pose variants in act_ros/pose/variants.py. Everything else imports
them, so adding a layout, a size or a variant touches one file."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted(p for d in ("act_ros", "benchmarks", "launch") for p in (ROOT / d).rglob("*.py"))


def _assignments(name: str) -> list[str]:
    """Files (relative) that assign a module-level constant ``name``."""
    hits = []
    for path in SOURCES:
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in tree.body:
            targets = (
                node.targets
                if isinstance(node, ast.Assign)
                else [node.target]
                if isinstance(node, ast.AnnAssign)
                else []
            )
            if any(isinstance(t, ast.Name) and t.id == name for t in targets):
                hits.append(str(path.relative_to(ROOT)))
    return hits


def _string_literals(value: str) -> list[str]:
    hits = []
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Constant) and node.value == value:
                hits.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return hits


@pytest.mark.parametrize(
    "name,home",
    [
        ("NUM_KEYPOINTS", "act_ros/layouts.py"),
        ("COCO17_NAMES", "act_ros/layouts.py"),
        ("COCO17_LIMBS", "act_ros/layouts.py"),
        ("ACT_SIZES", "act_ros/model_sizes.py"),
        ("MODEL_SIZES", "act_ros/model_sizes.py"),
        ("MEDIAPIPE_VARIANTS", "act_ros/pose/variants.py"),
    ],
)
def test_each_vocabulary_constant_is_defined_once(name, home):
    assert _assignments(name) == [home]


def _name_collections(names: set[str]) -> list[str]:
    """Places where a tuple/list/set literal lists two or more of ``names``: a restated table
    of choices (dicts keyed by them hold per-item data, e.g. pinned hashes, and are fine)."""
    hits = []
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            items = node.elts if isinstance(node, (ast.Tuple, ast.List, ast.Set)) else []
            found = {i.value for i in items if isinstance(i, ast.Constant)} & names
            if len(found) >= 2:
                hits.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return hits


def test_the_layout_name_is_spelled_out_in_layouts_only():
    hits = _string_literals("coco17")
    assert hits and all(h.startswith("act_ros/layouts.py:") for h in hits), hits


@pytest.mark.parametrize(
    "names,home",
    [
        ({"micro", "small", "medium", "large"}, "act_ros/model_sizes.py"),
        ({"lite", "full", "heavy"}, "act_ros/pose/variants.py"),
    ],
)
def test_size_and_variant_tables_are_written_once(names, home):
    assert [h for h in _name_collections(names) if not h.startswith(home + ":")] == []


def test_the_tables_agree_with_what_uses_them():
    from act_ros import layouts
    from act_ros.model_sizes import MODEL_SIZES
    from act_ros.parameters import ACT_NODE_PARAMETERS, POSE_NODE_PARAMETERS
    from act_ros.pose.mediapipe_backend import MEDIAPIPE33_TO_COCO17
    from act_ros.pose.variants import POSE_VARIANTS

    names = layouts.KEYPOINT_NAMES[layouts.MEDIAPIPE33]
    assert [names[i] for i in MEDIAPIPE33_TO_COCO17] == [
        "nose",
        "left_eye",
        "right_eye",
        "left_ear",
        "right_ear",
        *layouts.COCO17_NAMES[5:],
    ]
    assert layouts.NUM_KEYPOINTS == 17 == len(layouts.COCO17_NAMES)
    act = {p.name: p for p in ACT_NODE_PARAMETERS}
    pose = {p.name: p for p in POSE_NODE_PARAMETERS}
    assert act["model_size"].choices == MODEL_SIZES
    assert pose["model_variant"].choices == ("", *POSE_VARIANTS)  # '' = the backend's default
