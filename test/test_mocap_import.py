"""BVH and ASF/AMC importers on the real CMU and HDM05 files: every rig, known frames against
an independent forward kinematics, the face points, left/right, units, bad files."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from mocap_data import mocap_dir
from scipy.spatial.transform import Rotation

from act_ros.datasets.mocap.asf_amc import read_asf_amc
from act_ros.datasets.mocap.bvh import read_bvh
from act_ros.datasets.mocap.camera import camera_at
from act_ros.datasets.mocap.coco17 import COCO17_NAMES, motion_to_coco17
from act_ros.datasets.mocap.motion import Y_UP_TO_Z_UP, clean_motion
from act_ros.datasets.mocap.rigs import INCH_OVER_045_M, RIGS

IDX = {n: i for i, n in enumerate(COCO17_NAMES)}
FILES = {  # rig -> a walking (or squatting) file of that rig in ../shared/data/mocap
    "cmu_original": "cmu/cmu_original/16_11.bvh",
    "daz": "cmu/daz/07_01.bvh",
    "iclone": "cmu/iclone/07_01.bvh",
    "acclaim": "cmu/daz/16_01.bvh",  # a BVH conversion with Acclaim bone names
    "hdm05": "hdm05/amc/HDM_bd_sneak2StepsLStart_001_120.amc",
}


def load(key: str):
    path = mocap_dir() / FILES[key]
    return read_asf_amc(path) if path.suffix == ".amc" else read_bvh(path)


@pytest.mark.parametrize(
    "key,rig,fps",
    [
        ("cmu_original", "cmu_original", 120),
        ("daz", "daz", 120),
        ("iclone", "iclone", 60),
        ("acclaim", "acclaim", 30),
        ("hdm05", "acclaim", 120),
    ],
)
def test_each_rig_parses_and_is_detected(key, rig, fps):
    m = load(key)
    assert m.rig.name == rig
    assert m.frame_rate == pytest.approx(fps, rel=1e-3)  # the file's own rate, not the index's
    assert m.num_frames > 50 and np.isfinite(m.positions).all()
    c = motion_to_coco17(clean_motion(m))
    height = c[:, IDX["nose"], 2] - np.minimum(c[:, IDX["left_ankle"], 2], c[:, IDX["right_ankle"], 2])
    assert 1.2 < np.median(height) < 1.9  # metres: units and up axis right
    assert np.all(np.abs(np.linalg.det(m.head_frame) - 1) < 1e-6)


def _parse_bvh(path: Path):
    """A small independent BVH reader: joints (name, parent, offset, channels), frames."""
    tokens = path.read_text().split()
    joints, stack, i = [], [], 0
    while tokens[i] != "MOTION":
        t = tokens[i]
        if t in ("ROOT", "JOINT"):
            joints.append({"name": tokens[i + 1], "parent": stack[-1] if stack else None})
            i += 2
        elif t == "End":
            joints.append({"name": None, "parent": stack[-1]})
            i += 2
        elif t == "{":
            stack.append(len(joints) - 1)
            i += 1
        elif t == "}":
            stack.pop()
            i += 1
        elif t == "OFFSET":
            joints[stack[-1]]["offset"] = np.array([float(v) for v in tokens[i + 1 : i + 4]])
            i += 4
        elif t == "CHANNELS":
            n = int(tokens[i + 1])
            joints[stack[-1]]["channels"] = tokens[i + 2 : i + 2 + n]
            i += 2 + n
        else:
            i += 1
    n_frames = int(tokens[i + 2])
    values = np.array([float(v) for v in tokens[i + 6 :]]).reshape(n_frames, -1)
    return joints, values


def _hand_fk(joints, frame):
    """Joint positions (file units) of one frame: p = p_parent + R_parent offset, R = R_parent
    x intrinsic Euler rotations in channel order (scipy), the root at OFFSET + its channels."""
    pos, rot, col = {}, {}, 0
    for j, joint in enumerate(joints):
        if joint["name"] is None:
            continue
        ch = joint.get("channels", [])
        vals = frame[col : col + len(ch)]
        col += len(ch)
        rot_axes = "".join(c[0] for c in ch if c.endswith("rotation"))
        angles = [v for c, v in zip(ch, vals) if c.endswith("rotation")]
        local = Rotation.from_euler(rot_axes.upper(), angles, degrees=True).as_matrix()
        if joint["parent"] is None:
            trans = np.array([v for c, v in zip(ch, vals) if c.endswith("position")])
            pos[j], rot[j] = joint["offset"] + trans, local
        else:
            p = joint["parent"]
            pos[j], rot[j] = pos[p] + rot[p] @ joint["offset"], rot[p] @ local
    return {joints[j]["name"]: v for j, v in pos.items()}


@pytest.mark.parametrize("key", ["cmu_original", "daz", "iclone"])
def test_bvh_joint_positions_of_a_known_frame_match_hand_computed_kinematics(key):
    path = mocap_dir() / FILES[key]
    m = read_bvh(path)
    joints, values = _parse_bvh(path)
    for frame in (0, m.num_frames // 2):
        hand = _hand_fk(joints, values[frame])
        for name in list(m.rig.joints.values()) + [m.rig.head]:
            expected = (hand[name] * m.rig.units_m) @ Y_UP_TO_Z_UP.T
            assert np.allclose(m.joint(name)[frame], expected, atol=1e-6), (key, name, frame)


def test_asf_amc_kinematics_match_a_hand_computed_two_bone_skeleton(tmp_path):
    # One bone up the y axis, a child bone along x whose local axis is turned 90 deg about z;
    # the child rotates 90 deg about its own x axis (= the world y axis).
    (tmp_path / "s.asf").write_text(
        ":version 1.10\n:name t\n:units\n  mass 1.0\n  length 0.45\n  angle deg\n"
        ":root\n   order TX TY TZ RX RY RZ\n   axis XYZ\n   position 0 0 0\n   orientation 0 0 0\n"
        ":bonedata\n  begin\n     id 1\n     name spine\n     direction 0 1 0\n     length 2\n"
        "     axis 0 0 0 XYZ\n    dof rx ry rz\n  end\n  begin\n     id 2\n     name arm\n"
        "     direction 1 0 0\n     length 1\n     axis 0 0 90 XYZ\n    dof rx\n  end\n"
        ":hierarchy\n  begin\n    root spine\n    spine arm\n  end\n"
    )
    (tmp_path / "s.amc").write_text(":FULLY-SPECIFIED\n:DEGREES\n1\nroot 1 0 0 0 0 0\nspine 0 0 0\narm 90\n")
    from act_ros.datasets.mocap.asf_amc import forward_kinematics, read_amc, read_asf

    sk = read_asf(tmp_path / "s.asf")
    pos, rot = forward_kinematics(sk, read_amc(tmp_path / "s.amc", sk))
    names = list(sk.bones)
    assert sk.units_m == pytest.approx(INCH_OVER_045_M)
    assert np.allclose(pos[0, names.index("spine")], [1, 0, 0])  # starts at the root
    assert np.allclose(pos[0, names.index("arm")], [1, 2, 0])  # spine end
    # the arm's local x axis is the world y axis (axis 0 0 90), so a 90 deg rx turns the arm
    # (pointing along world x) about world y: x -> -z
    assert np.allclose(rot["arm"][0] @ [1, 0, 0], [0, 0, -1], atol=1e-12)


def test_hdm05_known_frame_matches_hand_computed_positions():
    m = load("hdm05")
    from act_ros.datasets.mocap.asf_amc import read_amc, read_asf

    sk = read_asf(mocap_dir() / "hdm05/asf/HDM_bd.asf")
    values = read_amc(mocap_dir() / FILES["hdm05"], sk)
    f = 40
    end, rot = {}, {}
    for name, bone in sk.bones.items():  # the Acclaim rule with scipy rotations
        if name == "root":
            v = values["root"][f]
            rot[name] = Rotation.from_euler("xyz", v[3:], degrees=True).as_matrix()
            end[name] = v[:3]
            continue
        angles = {"rx": 0.0, "ry": 0.0, "rz": 0.0}
        angles.update(zip(bone.dof, values[name][f] if bone.dof else ()))
        m_local = Rotation.from_euler(
            "xyz", [angles["rx"], angles["ry"], angles["rz"]], degrees=True
        ).as_matrix()
        rot[name] = rot[bone.parent] @ bone.axis @ m_local @ bone.axis.T
        start = end[bone.parent]
        if name in ("lfemur", "ltibia", "lfoot", "lhumerus", "lradius", "lwrist", "head"):
            expected = (start * m.rig.units_m) @ Y_UP_TO_Z_UP.T
            assert np.allclose(m.joint(name)[f], expected, atol=1e-9), name
        end[name] = start + rot[name] @ (bone.length * bone.direction)


@pytest.mark.parametrize(
    "rig_file,eyes", [("daz", ("leftEye", "rightEye")), ("iclone", ("CC_Base_L_Eye", "CC_Base_R_Eye"))]
)
def test_face_points_sit_where_the_rigs_eye_joints_are(rig_file, eyes):
    m = load(rig_file)
    c = motion_to_coco17(m)
    for k, joint in zip((IDX["left_eye"], IDX["right_eye"]), eyes):
        err = np.linalg.norm(c[:, k] - m.joint(joint), axis=-1)
        assert np.median(err) < 0.025  # the visible eye is ~1.2 cm in front of the eyeball centre


@pytest.mark.parametrize("key", list(FILES))
def test_coco17_left_is_the_persons_left(key):
    """Mirror test: the person walks forward; their left (up x walking direction) is where
    every left_* point is, in 3-D and in the image of a camera in front of them."""
    m = clean_motion(load(key))
    c = motion_to_coco17(m)
    mid = c[:, [IDX["left_hip"], IDX["right_hip"]]].mean(axis=1)
    step = mid[-1] - mid[0]
    if key == "acclaim":  # a jump on the spot: forward is where the toes point
        step = (m.joint("ltoes") + m.joint("rtoes") - m.joint("lfoot") - m.joint("rfoot")).mean(0)
    walk = np.array([step[0], step[1], 0.0]) / np.linalg.norm(step[:2])
    left = np.cross([0, 0, 1.0], walk)
    for part in ("shoulder", "hip", "knee", "ear", "eye"):
        d = (c[:, IDX[f"left_{part}"]] - c[:, IDX[f"right_{part}"]]) @ left
        assert np.mean(d > 0) > 0.9, (key, part)
    # A camera ahead of the person, looking back at them: their left is on the image's right.
    t = len(c) // 2
    az = np.degrees(np.arctan2(walk[1], walk[0]))
    cam = camera_at(mid[t], az, 4.0, 1.2, 1280, 720, 69.0)
    uv, _ = cam.project(c[t])
    assert uv[IDX["left_shoulder"], 0] > uv[IDX["right_shoulder"], 0]
    assert uv[IDX["left_hip"], 0] > uv[IDX["right_hip"], 0]
    assert uv[IDX["nose"], 1] < uv[IDX["left_hip"], 1] < uv[IDX["left_ankle"], 1]  # upright


def test_projection_of_a_known_point():
    cam = camera_at(np.array([0.0, 0.0, 1.0]), 270.0, 5.0, 1.0, 1280, 720, 90.0)  # at y=-5
    fx = 640.0  # tan(45 deg) = 1
    uv, depth = cam.project(np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 1.0], [0.0, 0.0, 2.0], [0.0, -10.0, 1.0]]))
    assert np.allclose(uv[0], [640, 360]) and depth[0] == pytest.approx(5.0)
    assert np.allclose(uv[1], [640 + fx / 5, 360])  # +x is to the camera's right
    assert np.allclose(uv[2], [640, 360 - fx / 5])  # up is up in the image
    assert not cam.inside(uv, depth)[3]  # behind the camera


def test_truncated_bvh_is_a_clear_error(tmp_path):
    text = (mocap_dir() / FILES["cmu_original"]).read_text().splitlines()
    cut = tmp_path / "cut.bvh"
    cut.write_text("\n".join(text[: len(text) // 2]) + "\n")
    with pytest.raises(ValueError, match=r"cut\.bvh: not a readable BVH file.*declares 534 frames"):
        read_bvh(cut)


def test_amc_without_its_asf_is_a_clear_error(tmp_path):
    shutil.copy(mocap_dir() / FILES["hdm05"], tmp_path)
    with pytest.raises(FileNotFoundError, match="needs its ASF skeleton.*HDM_bd.asf"):
        read_asf_amc(tmp_path / Path(FILES["hdm05"]).name)
    other = mocap_dir() / "hdm05/asf/HDM_bd.asf"
    bad = tmp_path / "bad.asf"
    bad.write_text(other.read_text(errors="replace").replace("name lradius", "name lforearm"))
    with pytest.raises(ValueError, match="not in the skeleton|has no bonedata"):
        read_asf_amc(tmp_path / Path(FILES["hdm05"]).name, bad)


def _renamed_bvh(tmp_path: Path) -> Path:
    src = (mocap_dir() / FILES["cmu_original"]).read_text()
    for old, new in (("Left", "Links_"), ("Right", "Rechts_"), ("Head", "Kopf")):
        src = src.replace(old, new)
    path = tmp_path / "renamed.bvh"
    path.write_text(src)
    return path


def test_unknown_rig_without_a_map_is_a_clear_error_and_a_map_file_fixes_it(tmp_path):
    path = _renamed_bvh(tmp_path)
    with pytest.raises(ValueError, match="unknown skeleton rig.*rig-map"):
        read_bvh(path)
    names = {
        "shoulder": "Arm",
        "elbow": "ForeArm",
        "wrist": "Hand",
        "hip": "UpLeg",
        "knee": "Leg",
        "ankle": "Foot",
    }
    lines = ["name: renamed", f"units_m: {INCH_OVER_045_M}", "head: Kopf", "joints:"]
    for part, joint in names.items():
        lines += [f"  left_{part}: Links_{joint}", f"  right_{part}: Rechts_{joint}"]
    (tmp_path / "renamed.yaml").write_text("\n".join(lines) + "\n")
    m = read_bvh(path, rig=str(tmp_path / "renamed.yaml"))
    ref = load("cmu_original")
    assert np.allclose(m.joint("Links_Arm"), ref.joint("LeftArm"))
    assert np.allclose(m.head_frame, ref.head_frame)
    wrong = tmp_path / "cm.yaml"
    wrong.write_text((tmp_path / "renamed.yaml").read_text().replace(str(INCH_OVER_045_M), "0.01"))
    with pytest.raises(ValueError, match="not a person's"):
        read_bvh(path, rig=str(wrong))


def test_known_rigs_map_every_coco17_body_joint():
    for rig in RIGS.values():
        assert len(rig.joints) == 12 and all(k.startswith(("left_", "right_")) for k in rig.joints)


def test_import_mocap_command_reports_and_saves_coco17(tmp_path, capsys):
    from act_ros.datasets.cli import main

    out = tmp_path / "c.npz"
    files = [str(mocap_dir() / FILES["iclone"]), str(mocap_dir() / FILES["hdm05"])]
    assert main(["import-mocap", *files, "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "rig iclone, 60 fps" in text and "rig acclaim, 120 fps" in text
    with np.load(out) as data:
        assert data["coco17_0"].shape[1:] == (17, 3) and float(data["frame_rate_1"]) == 120.0
