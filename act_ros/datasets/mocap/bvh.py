"""BVH importer: any rig of :mod:`act_ros.datasets.mocap.rigs` -> :class:`Motion` (metres, z up).

Parser choice (PyPI, evaluated on the three CMU conversions in ../shared/data/mocap/cmu):

* ``pybvh`` 0.9.0 (MIT, maintained: 13 releases, the latest in 2026): vectorised forward
  kinematics over all frames (~10 ms per 500-frame file here), per-joint Euler orders (Daz
  mixes ZXY with the root's ZYX), world-up detection, and it rejects a file whose motion lines
  disagree with its ``Frames:`` count or channel count (a truncated file is an error, not a
  short motion). Chosen; pinned in requirements/train.txt.
* ``bvh`` 0.3 (2017): a tokeniser with per-frame channel look-ups, no kinematics.
* ``bvhio`` 1.5.4: object-per-joint hierarchy through PyGLM, per-frame updates; more
  dependencies, slower for whole-file FK.

What this module adds on top: the rig's joint map and length unit, the file's own frame rate
(CMU's index says 120 fps, but the iClone files are 60 fps and two Daz-folder files 30 fps),
the root's offset (pybvh leaves it out), the world frame, and the head joint's rotation (pybvh's FK returns positions only, so the
head's global rotation is composed here from pybvh's own topology and Euler conversion).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from act_ros.datasets.mocap.motion import Motion, check_units, head_frames, to_z_up
from act_ros.datasets.mocap.rigs import RigMap, resolve_rig


def _import_pybvh():
    try:
        import pybvh
        from pybvh import rotations
    except ImportError as exc:  # training extra not installed
        raise ImportError("the BVH importer needs pybvh (pip install -r requirements/train.txt)") from exc
    return pybvh, rotations


def _global_rotation(bvh, joint: str) -> np.ndarray:
    """(F, 3, 3) rotation of ``joint`` in the file's world axes (product along its chain)."""
    _, rotations = _import_pybvh()
    topo = bvh.fk_topology
    node = bvh.node_index[joint]
    chain = []
    while node != -1:
        chain.append(int(topo.joint_idx[node]))
        node = int(topo.parent_idx[node])
    frames = bvh.joint_angles.shape[0]
    rot = np.broadcast_to(np.eye(3), (frames, 3, 3)).copy()
    for j in reversed(chain):  # root first: R = R_root @ ... @ R_joint
        rot = rot @ rotations.euler_to_rotmat(bvh.joint_angles[:, j], topo.euler_orders[j])
    return rot


def read_bvh(path: str | Path, rig: str | RigMap | None = "auto", up: str = "auto") -> Motion:
    """Read a BVH file: joint positions in metres (z up), the head frame, the file's frame rate.

    ``rig``: "auto" (detected from the joint names), a rig name, a YAML map file, or a RigMap.
    ``up``: the file's up axis ("+y", ...); "auto" = pybvh's detection from the motion.
    Errors name the file: truncated or malformed files, unknown rigs, implausible units.
    """
    pybvh, _ = _import_pybvh()
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"BVH file not found: {path}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # world-up disagreement notes; we report our own
            bvh = pybvh.read_bvh_file(path, world_up="auto" if up == "auto" else up)
    except (ValueError, IndexError) as exc:
        raise ValueError(f"{path}: not a readable BVH file ({exc})") from None
    names = tuple(bvh.joint_names)
    chosen = resolve_rig(rig, names)
    to_world = to_z_up(bvh.world_up)
    scale = chosen.units_m
    # The root's OFFSET translates the whole skeleton (iClone files whose root is CC_Base_Hip
    # keep the hip height there and only the motion in the channels); pybvh leaves it out.
    root_offset = np.asarray(bvh.root.offset, dtype=np.float64)
    positions = (bvh.joint_positions(centered="world") + root_offset) * scale @ to_world.T
    rotation = _global_rotation(bvh, chosen.head)
    head_rotation = np.einsum("ij,fjk->fik", to_world, rotation) @ to_world.T
    rest = bvh.rest_pose_positions()[[bvh.node_index[n] for n in names]] @ to_world.T
    motion = Motion(
        positions=positions,
        joint_names=names,
        frame_rate=float(bvh.fps),
        head_frame=head_frames(head_rotation, positions, names, chosen, rest),
        rig=chosen,
        source_file=str(path),
    )
    check_units(motion)
    return motion
