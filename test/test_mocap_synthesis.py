"""Synthesis from motion capture: measured noise reproduced, cameras in range, the training mix
deterministic, labelled by the taxonomy and split by subject; the npz extension round-trips."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from mocap_data import mocap_dir

from act_ros.datasets.mocap.camera import CAMERA_FIELDS, random_camera
from act_ros.datasets.mocap.compare import synthetic_statistics
from act_ros.datasets.mocap.mix import build_mix, cmu_items, hdm05_items, load_item
from act_ros.datasets.mocap.noise import NOISE_FILE, NoiseModel
from act_ros.datasets.mocap.noise_stats import NAMES
from act_ros.datasets.mocap.synthesize import SynthesisSettings, resample
from act_ros.datasets.mocap.taxonomy import load_taxonomy
from act_ros.datasets.npz import load_npz_dataset

SMALL = SynthesisSettings(views=2)


def test_noise_statistics_of_synthesized_footage_match_the_measured_targets():
    measured = json.loads(NOISE_FILE.read_text())
    assert measured["pooled"]["person_frames"] > 500 and len(measured["per_video"]) >= 2
    items, _ = cmu_items(mocap_dir(), load_taxonomy())
    motions = [load_item(i) for i in [i for i in items if i.class_name == "walk"][:4]]
    # seed 1: not the seed the jitter was calibrated with (measure-noise uses 0)
    synthetic = synthetic_statistics(motions, measured, NoiseModel.from_file(), seed=1)
    for video, real in measured["per_video"].items():
        m, s = real["statistics"]["joints"], synthetic["per_video"][video]["joints"]
        jitter = np.array([s[n]["jitter"] / m[n]["jitter"] for n in NAMES])
        missing = np.array([s[n]["missing_rate"] - m[n]["missing_rate"] for n in NAMES])
        conf = np.array([s[n]["confidence_quantiles"][10] - m[n]["confidence_quantiles"][10] for n in NAMES])
        assert 0.85 < np.median(jitter) < 1.2 and jitter.min() > 0.7 and jitter.max() < 1.4, video
        assert np.abs(missing).mean() < 0.05 and np.abs(missing).max() < 0.15, video
        assert np.abs(conf).mean() < 0.05 and np.abs(conf).max() < 0.15, video
        for wrist in ("left_wrist", "right_wrist"):  # wrists do go missing, about as often
            assert s[wrist]["missing_rate"] > max(0.02, 0.6 * m[wrist]["missing_rate"]), (video, wrist)


def test_random_cameras_stay_in_the_ranges_of_the_brief():
    rng = np.random.default_rng(0)
    cams = [random_camera(rng, np.array([0.0, 0.0, 0.9])) for _ in range(300)]
    elev = np.array([c.elevation_deg for c in cams])
    assert elev.min() >= -10 and elev.max() <= 45 and np.ptp(elev) > 40
    assert all(1.5 <= c.distance_m <= 10 and 0.5 <= c.height_m <= 2.5 for c in cams)
    az = np.array([c.azimuth_deg for c in cams])
    assert np.histogram(az, bins=4, range=(0, 360))[0].min() > 40  # all round
    assert len({c.name for c in cams}) >= 6


def test_resampling_keeps_time_and_speed():
    x = np.arange(121, dtype=float)[:, None]  # 1 s at 120 fps, value = frame
    assert np.allclose(resample(x, 120, 10)[:, 0], np.arange(11) * 12)
    fast = resample(x, 120, 10, speed=1.25)
    assert len(fast) == 9 and np.allclose(np.diff(fast[:, 0]), 15)


def test_taxonomy_covers_the_sources():
    tax = load_taxonomy()
    cmu, left_out = cmu_items(mocap_dir(), tax)
    hdm, _ = hdm05_items(mocap_dir(), tax)
    clips = [i for i in hdm if not i.stand_s]
    assert {i.class_name for i in hdm} <= set(tax.classes) and len(clips) == 287
    # One synthesized standing item per clip that starts upright, same actor, same file.
    stand = [i for i in hdm if i.stand_s]
    assert stand and {i.class_name for i in stand} == {"stand"}
    assert {(i.path, i.subject) for i in stand} <= {(i.path, i.subject) for i in clips}
    assert set(tax.model_classes) <= set(tax.classes)
    assert not set(tax.model_classes) & set(tax.unknown_tune + tax.unknown_test)
    assert {"walk", "run", "jump", "wave"} <= {i.class_name for i in cmu}
    assert any("mixed" in x or "left out" in x for x in left_out)
    assert any("same capture" in x for x in left_out)  # one rig per CMU capture
    assert len({i.key for i in cmu}) == len(cmu)
    assert tax.cmu_class("dance - small jetes, pirouette")[0] is None


@pytest.fixture(scope="module")
def small_mix():
    return build_mix(mocap_dir(), seed=3, settings=SMALL, limit=6, progress=False)


def test_mix_is_split_by_subject_and_every_sample_says_who_and_where(small_mix, tmp_path):
    ds, report = small_mix
    assert not report["failed"] and len(ds) > 50
    assert set(ds.sample_source.tolist()) == {"cmu", "hdm05", "lzq"}
    by_subject = {}
    for subject, split in zip(ds.subject, ds.split):
        by_subject.setdefault(subject, set()).add(split)
    assert all(len(s) == 1 for s in by_subject.values()), by_subject
    assert {"train", "val", "test"} <= set(ds.split.tolist())
    synth = ds.sample_source != "lzq"
    assert np.isfinite(ds.camera[synth]).all() and np.isnan(ds.camera[~synth]).all()
    assert ds.camera_fields == CAMERA_FIELDS
    path = ds.save(tmp_path / "mix.npz")
    back = load_npz_dataset(path)
    for name in ("subject", "sample_source", "split", "groups"):
        assert np.array_equal(getattr(back, name), getattr(ds, name)), name
    assert np.array_equal(back.camera, ds.camera, equal_nan=True)
    assert np.array_equal(back.poses, ds.poses) and back.frame_rate == 10.0
    part = back.part("test")
    assert part.subject is not None and set(part.split.tolist()) == {"test"}
    # looks like the backend: confidences in (0, 1], some joints missing, x = y = 0 there
    conf = ds.poses[synth][..., 2]
    assert conf.max() <= 1.0 and 0.05 < np.mean(conf == 0) < 0.6
    assert np.all(ds.poses[synth][conf == 0][:, :2] == 0)


def test_mix_is_deterministic_for_a_seed(small_mix):
    ds, _ = small_mix
    again, _ = build_mix(mocap_dir(), seed=3, settings=SMALL, limit=6, progress=False)
    other, _ = build_mix(mocap_dir(), seed=4, settings=SMALL, limit=6, progress=False, sources=("hdm05",))
    assert np.array_equal(ds.poses, again.poses) and np.array_equal(ds.labels, again.labels)
    hdm = ds.sample_source == "hdm05"
    assert not np.array_equal(ds.poses[hdm][: len(other)], other.poses[: hdm.sum()])


def test_build_mix_command(tmp_path, capsys):
    from act_ros.datasets.cli import main

    out = tmp_path / "m.npz"
    assert (
        main(
            [
                "build-mix",
                "-o",
                str(out),
                "--mocap",
                str(mocap_dir()),
                "--limit",
                "2",
                "--views",
                "1",
                "--sources",
                "cmu",
                "hdm05",
                "--report",
                str(tmp_path / "r.md"),
            ]
        )
        == 0
    )
    text = capsys.readouterr().out
    assert f"wrote {out}" in text and "| class |" in text and "subjects" in text
    assert "Left out" in (tmp_path / "r.md").read_text()
    assert main(["info", str(out)]) == 0


def test_measured_statistics_file_is_the_committed_measurement():
    data = json.loads(Path(NOISE_FILE).read_text())
    assert data["backend"].startswith("topdown") and "jitter_fit" in data  # the default backend
    assert set(data["per_video"]) == {"sports2d_demo.mp4", "vtest.avi"}


def test_standing_is_the_first_pose_held_with_centimetre_sway():
    from act_ros.datasets.mocap.stand import standing_motion

    tax = load_taxonomy()
    hdm, _ = hdm05_items(mocap_dir(), tax)
    clip = next(i for i in hdm if not i.stand_s and i.class_name == "squat")
    motion = load_item(clip)
    still = standing_motion(motion, 4.0, np.random.default_rng(0))
    assert still.num_frames == int(4.0 * motion.frame_rate)
    centre = still.positions.mean(axis=1)
    drift = np.linalg.norm(centre - centre.mean(axis=0), axis=1)
    assert 0.002 < drift.std() < 0.03  # about a centimetre
    # The body stays rigid: every joint keeps its distance to the others.
    d0 = np.linalg.norm(still.positions[0, :, None] - still.positions[0, None], axis=-1)
    dn = np.linalg.norm(still.positions[-1, :, None] - still.positions[-1, None], axis=-1)
    assert np.allclose(d0, dn, atol=1e-9)
    first = np.linalg.norm(motion.positions[0, :, None] - motion.positions[0, None], axis=-1)
    assert np.allclose(d0, first, atol=1e-9)


def _capture(class_name: str):
    from act_ros.datasets.mocap.coco17 import motion_to_coco17

    tax = load_taxonomy()
    cmu, _ = cmu_items(mocap_dir(), tax)
    hdm, _ = hdm05_items(mocap_dir(), tax)
    item = next(i for i in cmu + hdm if not i.stand_s and i.class_name == class_name)
    motion = load_item(item)
    return motion_to_coco17(motion), motion.head_frame[:, :, 2], motion.frame_rate


def test_both_arms_variant_mirrors_the_waving_arm_onto_the_other():
    from act_ros.datasets.mocap.variants import IDX, apply_variant, moving_arm

    points, forward, rate = _capture("wave")
    src = moving_arm(points)
    dst = "right" if src == "left" else "left"
    out, fwd = apply_variant("both_arms", points, forward, rate, np.random.default_rng(0))
    assert fwd is forward and out.shape == points.shape
    untouched = [i for n, i in IDX.items() if n not in (f"{dst}_elbow", f"{dst}_wrist")]
    assert np.array_equal(out[:, untouched], points[:, untouched])  # only the other arm moves
    for part in ("elbow", "wrist"):  # same reach from its own shoulder as the waving arm's
        a = np.linalg.norm(out[:, IDX[f"{dst}_{part}"]] - out[:, IDX[f"{dst}_shoulder"]], axis=-1)
        b = np.linalg.norm(points[:, IDX[f"{src}_{part}"]] - points[:, IDX[f"{src}_shoulder"]], axis=-1)
        assert np.allclose(a, b, atol=1e-9)
    # Mirror image: both wrists at the same height above their shoulders, on opposite sides.
    rel = lambda p, s: p[:, IDX[f"{s}_wrist"]] - p[:, IDX[f"{s}_shoulder"]]  # noqa: E731
    assert np.allclose(rel(out, dst)[:, 2], rel(out, src)[:, 2], atol=0.05)
    side = out[:, IDX["left_shoulder"]] - out[:, IDX["right_shoulder"]]
    sign = 1.0 if src == "left" else -1.0
    assert (
        np.mean(np.sum(rel(out, src) * side, axis=-1) * sign > np.sum(rel(out, dst) * side, axis=-1) * sign)
        > 0.9
    )


def test_overhead_variant_raises_the_waving_arm_and_keeps_its_swing():
    from act_ros.datasets.mocap.variants import IDX, OVERHEAD_DEG, _torso, apply_variant, moving_arm

    points, forward, rate = _capture("wave")
    side = moving_arm(points)
    out, fwd = apply_variant("overhead", points, forward, rate, np.random.default_rng(0))
    assert fwd is forward and out.shape == points.shape
    untouched = [i for n, i in IDX.items() if n not in (f"{side}_elbow", f"{side}_wrist")]
    assert np.array_equal(out[:, untouched], points[:, untouched])  # only the waving arm moves
    joint = lambda p, n: p[:, IDX[f"{side}_{n}"]]  # noqa: E731
    for a, b in (("shoulder", "elbow"), ("elbow", "wrist")):  # bones keep their length
        lengths = [np.linalg.norm(joint(p, b) - joint(p, a), axis=-1) for p in (out, points)]
        assert np.allclose(*lengths, atol=1e-9)
    # The hand is over the head: above the nose in (nearly) every frame of the wave.
    assert np.mean(joint(out, "wrist")[:, 2] > out[:, IDX["nose"], 2]) > 0.85
    assert np.mean(joint(points, "wrist")[:, 2] > points[:, IDX["nose"], 2]) < 0.5  # it was not
    # The upper arm's mean direction is in the overhead range, and the swing about it is the
    # capture's (the same angle added to every frame, in the body's frontal plane).
    frames = _torso(points)
    outward = 1.0 if side == "left" else -1.0

    def angles(p):
        local = np.einsum("fji,fj->fi", frames, joint(p, "elbow") - joint(p, "shoulder"))
        return np.unwrap(np.arctan2(local[:, 0] * outward, -local[:, 1]))

    mean = np.degrees(np.arctan2(*[np.mean(v) for v in (np.sin(angles(out)), np.cos(angles(out)))]))
    assert OVERHEAD_DEG[0] - 15 < mean < OVERHEAD_DEG[1] + 15
    assert np.allclose(np.std(angles(out)), np.std(angles(points)), atol=1e-6)


def test_two_bone_reach_lands_on_a_reachable_target_and_points_at_the_others():
    from act_ros.datasets.mocap.variants import reach

    shoulder = np.zeros((2, 3))
    target = np.array([[0.3, 0.0, -0.3], [0.0, 0.0, -2.0]])  # reachable; 2 m away
    upper, fore = np.full(2, 0.3), np.full(2, 0.25)
    elbow, wrist = reach(shoulder, target, upper, fore, bend=np.tile([0.0, -1.0, 0.0], (2, 1)))
    assert np.allclose(wrist[0], target[0]) and np.allclose(wrist[1], [0, 0, -0.55], atol=1e-5)
    assert np.allclose(np.linalg.norm(elbow - shoulder, axis=-1), upper)
    assert np.allclose(np.linalg.norm(wrist - elbow, axis=-1), fore)
    assert elbow[0, 1] < 0  # bent the way asked


def test_hands_on_knees_variant_brings_the_arms_down_and_composes_with_the_hold():
    from act_ros.datasets.mocap.variants import IDX, apply_variant

    points, forward, rate = _capture("squat")
    out, fwd = apply_variant("hands_on_knees", points, forward, rate, np.random.default_rng(0))
    arms = {IDX[f"{s}_{p}"] for s in ("left", "right") for p in ("elbow", "wrist")}
    assert np.array_equal(
        out[:, sorted(set(IDX.values()) - arms)], points[:, sorted(set(IDX.values()) - arms)]
    )
    for side in ("left", "right"):
        j = lambda p, n, side=side: p[:, IDX[f"{side}_{n}"]]  # noqa: E731
        for a, b in (("shoulder", "elbow"), ("elbow", "wrist")):
            lengths = [np.linalg.norm(j(p, b) - j(p, a), axis=-1) for p in (out, points)]
            assert np.allclose(*lengths, atol=1e-6)
        # HDM05's actors squat with the arms held out in front; now the hands go down towards
        # the knees: much closer to them, and never above the shoulder-hip midpoint.
        knee_dist = [np.linalg.norm(j(p, "wrist") - j(p, "knee"), axis=-1) for p in (out, points)]
        assert np.all(knee_dist[0] < knee_dist[1] - 0.2)
        assert np.all(j(out, "wrist")[:, 2] < 0.5 * (j(out, "shoulder")[:, 2] + j(out, "hip")[:, 2]))
    both, _ = apply_variant("hands_on_knees+hold_lowest", points, forward, rate, np.random.default_rng(0))
    assert len(both) > len(points)  # held at the bottom, hands down while held
    assert np.all(
        both[:, list(arms), 2].max(axis=1)
        < both[:, [IDX["left_shoulder"], IDX["right_shoulder"]], 2].min(axis=1)
    )


def test_hold_lowest_variant_crouches_at_the_bottom_and_joins_both_sides():
    from act_ros.datasets.mocap.variants import HOLD_SECONDS, IDX, apply_variant

    points, forward, rate = _capture("squat")
    hips = lambda p: p[:, [IDX["left_hip"], IDX["right_hip"]], 2].mean(axis=1)  # noqa: E731
    k = int(np.argmin(hips(points)))
    out, fwd = apply_variant("hold_lowest", points, forward, rate, np.random.default_rng(1))
    extra = len(out) - len(points)
    assert HOLD_SECONDS[0] * rate - 2 <= extra <= HOLD_SECONDS[1] * rate and len(fwd) == len(out)
    assert np.array_equal(out[:k], points[:k]) and np.array_equal(out[k + extra + 1 :], points[k + 1 :])
    held = out[k : k + extra + 1]
    assert np.allclose(held[0], points[k]) and np.allclose(held[-1], points[k])  # no jump either side
    assert np.abs(hips(held) - hips(points)[k]).max() < 0.02  # stays down (sway only)
    with pytest.raises(ValueError, match="unknown motion variant"):
        apply_variant("cartwheel", points, forward, rate, np.random.default_rng(0))


def test_variants_keep_the_subject_and_sequence_of_their_capture():
    from act_ros.datasets.mocap.mix import with_variants

    tax = load_taxonomy()
    assert tax.variants == {"wave": ("both_arms", "overhead"), "squat": ("hold_lowest",)}
    cmu, _ = cmu_items(mocap_dir(), tax)
    hdm, _ = hdm05_items(mocap_dir(), tax)
    items = with_variants(cmu + hdm, tax)
    made = [i for i in items if i.variant]
    assert {i.class_name for i in made} == {"wave", "squat"}
    base = {i.key: i for i in items if not i.variant}
    for v in made:
        src = base[v.key.removesuffix(f"#{v.variant}")]
        assert (v.subject, v.path, v.class_name) == (src.subject, src.path, src.class_name)
