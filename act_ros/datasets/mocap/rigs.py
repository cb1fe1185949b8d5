"""Skeleton rigs of motion-capture files: which rig joint stands for each COCO-17 body joint.

A rig map is data: the rig joint whose *origin* is each COCO-17 body joint (shoulders, elbows,
wrists, hips, knees, ankles), the head joint (its origin and rotation carry the face points,
see :mod:`act_ros.datasets.mocap.coco17`), the length unit and where the face origin sits
relative to the head joint. Joint origins follow the BVH convention (a joint sits where its
bone starts); the ASF/AMC reader reports bone starts under the bone's name, so one map serves
both an ASF skeleton and a BVH file converted from it.

Known rigs, detected from joint names (every mapped joint present = a match):

* ``cmu_original``: the CMU BVH conversion (``Hips, LeftUpLeg, LeftArm, Head ...``), 0.056444
  m per unit (ASF units of 0.45 inch, CMU's own conversion);
* ``acclaim``: Acclaim ASF bone names (``lfemur, lhumerus, lradius, head ...``): HDM05 and CMU
  ASF/AMC, and BVH files converted from them (two of ``cmu/daz/`` are), 0.056444 m per unit;
* ``daz``: the Daz-friendly CMU conversion (``hip, lThigh, lShldr, head ...``), centimetres;
* ``iclone``: Reallusion Character Creator (``CC_Base_L_Thigh, CC_Base_Head ...``), centimetres.

Any other rig: a YAML map file with the same fields (``load_rig_map``), e.g.::

    name: my_rig
    units_m: 0.01            # metres per file unit
    head: Head
    face_origin: [0.0, 0.0, 0.0]   # metres, head frame (left, up, forward): head joint -> top of the neck
    shoulder_out_m: 0.0      # optional: widen the shoulders to COCO's (metres per side)
    eyes: [LEye, REye]       # optional: eye joints fix the head frame; else the rest pose must
                             # be an upright T- or A-pose
    joints: {left_shoulder: LArm, right_shoulder: RArm, left_elbow: LForeArm, ...}
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from collections.abc import Iterable

import yaml

from act_ros.layouts import COCO17_NAMES

# COCO-17 joints a rig supplies directly (the face comes from the head joint).
BODY_JOINTS: tuple[str, ...] = tuple(
    n for n in COCO17_NAMES if n.split("_")[-1] not in ("nose", "eye", "ear")
)
INCH_OVER_045_M = 0.0254 / 0.45  # = 0.056444 m: Acclaim "length 0.45" units (CMU, HDM05)


@dataclass(frozen=True)
class RigMap:
    name: str
    joints: dict[str, str]  # COCO-17 body joint -> rig joint name
    head: str  # rig joint whose origin and rotation carry the face
    units_m: float  # metres per file length unit
    # Head frame (x = the person's left, y = up, z = forward), metres: from the rig's head
    # joint to the face origin of coco17.FACE_OFFSETS_M (the top of the neck). Zero for the
    # four rigs here: their head joints sit there (measured on the Daz and iClone eye joints).
    face_origin: tuple[float, float, float] = (0.0, 0.0, 0.0)
    description: str = ""
    # (left, right) eye joints when the rig has them: they fix the head frame (motion.head_frames)
    eyes: tuple[str, str] | None = None
    # Metres each shoulder point moves outwards (along the shoulder line) so that it sits where
    # COCO puts it: Daz's shoulder joints are 23 cm apart, the other rigs' 35-41 cm.
    shoulder_out_m: float = 0.0

    def __post_init__(self) -> None:
        missing = [j for j in BODY_JOINTS if j not in self.joints]
        if missing:
            raise ValueError(f"rig map {self.name!r} lacks COCO-17 body joints {missing}")
        if not self.units_m > 0:
            raise ValueError(f"rig map {self.name!r}: units_m must be > 0, got {self.units_m}")

    @property
    def required_names(self) -> set[str]:
        return set(self.joints.values()) | {self.head} | set(self.eyes or ())


_PARTS = ("shoulder", "elbow", "wrist", "hip", "knee", "ankle")


def _rig(name: str, left: tuple[str, ...], to_right, **fields) -> RigMap:
    """A rig from its left-side joints (in _PARTS order) and how its names mirror."""
    joints = {}
    for part, joint in zip(_PARTS, left):
        joints["left_" + part] = joint
        joints["right_" + part] = to_right(joint)
    return RigMap(name, joints, **fields)


RIGS: dict[str, RigMap] = {
    r.name: r
    for r in (
        _rig(
            "cmu_original",
            ("LeftArm", "LeftForeArm", "LeftHand", "LeftUpLeg", "LeftLeg", "LeftFoot"),
            lambda j: j.replace("Left", "Right"),
            head="Head",
            units_m=INCH_OVER_045_M,
            description="CMU BVH conversion with the original CMU joint names",
        ),
        _rig(
            "acclaim",
            ("lhumerus", "lradius", "lwrist", "lfemur", "ltibia", "lfoot"),
            lambda j: "r" + j[1:],
            head="head",
            units_m=INCH_OVER_045_M,
            description="Acclaim ASF bone names (HDM05, CMU ASF/AMC and BVH converted from them)",
        ),
        # Daz's rest pose is a T-pose, so the head frame comes from it (its eye joints are checked
        # against the synthesized eyes in test_mocap_import).
        _rig(
            "daz",
            ("lShldr", "lForeArm", "lHand", "lThigh", "lShin", "lFoot"),
            lambda j: "r" + j[1:],
            head="head",
            units_m=0.01,
            shoulder_out_m=0.06,
            description="Daz-friendly CMU BVH conversion (cm)",
        ),
        # The iClone rest pose is not upright (local bone axes along y): the eye joints fix the head.
        _rig(
            "iclone",
            (
                "CC_Base_L_Upperarm",
                "CC_Base_L_Forearm",
                "CC_Base_L_Hand",
                "CC_Base_L_Thigh",
                "CC_Base_L_Calf",
                "CC_Base_L_Foot",
            ),
            lambda j: j.replace("_L_", "_R_"),
            head="CC_Base_Head",
            units_m=0.01,
            eyes=("CC_Base_L_Eye", "CC_Base_R_Eye"),
            description="Reallusion iClone / Character Creator CMU conversion (cm)",
        ),
    )
}


def detect_rig(joint_names: Iterable[str]) -> RigMap:
    """The known rig whose mapped joints all occur in ``joint_names``; ValueError otherwise."""
    names = set(joint_names)
    for rig in RIGS.values():
        if rig.required_names <= names:
            return rig
    sample = ", ".join(sorted(names)[:12])
    raise ValueError(
        f"unknown skeleton rig (joints: {sample}, ...): none of the known rigs "
        f"({', '.join(RIGS)}) matches; pass a joint map file (--rig-map my_rig.yaml, see "
        f"act_ros/datasets/mocap/rigs.py for its fields)"
    )


def load_rig_map(path: str | Path) -> RigMap:
    """A rig map from a YAML file (fields as in the module docstring)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"rig map file not found: {path}")
    data = yaml.safe_load(path.read_text()) or {}
    missing = [k for k in ("joints", "head", "units_m") if k not in data]
    if missing:
        raise ValueError(f"{path}: rig map lacks {missing} (see act_ros/datasets/mocap/rigs.py)")
    origin = tuple(float(v) for v in data.get("face_origin", (0.0, 0.0, 0.0)))
    if len(origin) != 3:
        raise ValueError(f"{path}: face_origin must have 3 numbers, got {origin}")
    try:
        return RigMap(
            str(data.get("name", path.stem)),
            {str(k): str(v) for k, v in dict(data["joints"]).items()},
            head=str(data["head"]),
            units_m=float(data["units_m"]),
            face_origin=origin,  # type: ignore[arg-type]
            eyes=tuple(str(e) for e in data["eyes"]) if data.get("eyes") else None,  # type: ignore[arg-type]
            shoulder_out_m=float(data.get("shoulder_out_m", 0.0)),
            description=str(data.get("description", f"user map {path.name}")),
        )
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None


def resolve_rig(rig: str | RigMap | None, joint_names: Iterable[str]) -> RigMap:
    """``None``/"auto" -> detected; a known name; a path to a YAML map; or a RigMap."""
    if isinstance(rig, RigMap):
        chosen = rig
    elif rig in (None, "", "auto"):
        return detect_rig(joint_names)
    elif rig in RIGS:
        chosen = RIGS[str(rig)]
    elif str(rig).endswith((".yaml", ".yml")):
        chosen = load_rig_map(str(rig))
    else:
        raise ValueError(f"unknown rig {rig!r}: use auto, one of {', '.join(RIGS)}, or a YAML joint map file")
    absent = sorted(chosen.required_names - set(joint_names))
    if absent:
        raise ValueError(
            f"rig {chosen.name!r} does not fit this skeleton: joints {absent} are not in the file"
        )
    return chosen
