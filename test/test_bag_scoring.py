"""Scoring rules (stamp + track matching) and the reports, on hand-checked cases."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import cv2
import numpy as np
import pytest

from act_ros.bag.bag_io import GroundTruthFrame
from act_ros.bag.report import markdown, write_reports
from act_ros.bag.scoring import FrameOutput, Prediction, latency_stats, match, score

CLASSES = ["stand", "walk", "wave"]


def _gt(stamp, actions):
    return GroundTruthFrame(stamp, actions, CLASSES)


GROUND_TRUTH = [
    _gt(1, {0: "walk"}),  # everyone walks
    _gt(2, {1: "stand", 0: "walk"}),  # track 1 stands, anyone else walks
    _gt(3, {1: "wave"}),  # only track 1 is labelled
    _gt(4, {0: "walk"}),  # its result never arrives
    _gt(5, {}),  # not labelled
    _gt(6, {2: "walk"}),
]
OUTPUTS = {
    1: FrameOutput(
        [Prediction(5, "walk", window_frames=30), Prediction(6, "stand", window_frames=30)],
        CLASSES,
        latency_s=0.010,
        pose_track_ids=[5, 6],
    ),
    2: FrameOutput(
        [Prediction(1, "stand", window_frames=30), Prediction(2, "walk", window_frames=30)],
        CLASSES,
        latency_s=0.020,
        pose_track_ids=[1, 2],
    ),
    3: FrameOutput(
        [Prediction(2, "walk", window_frames=30)], CLASSES, latency_s=0.030, pose_track_ids=[1, 2]
    ),
    5: FrameOutput([Prediction(2, "wave", window_frames=30)], CLASSES, latency_s=0.040, pose_track_ids=[2]),
    6: FrameOutput([Prediction(2, "walk", window_frames=5)], CLASSES, latency_s=0.050, pose_track_ids=[2]),
}
STAMPS = [1, 2, 3, 4, 5, 6, 7]  # frame 7 has neither ground truth nor a result


@pytest.mark.emulated  # arm64 check: the scoring numbers (not the report files)
def test_matching_rules():
    m = match(GROUND_TRUTH, OUTPUTS)
    assert list(zip(m.stamps, m.track_ids, m.y_true, m.y_pred)) == [
        (1, 5, "walk", "walk"),
        (1, 6, "walk", "stand"),
        (2, 1, "stand", "stand"),
        (2, 2, "walk", "walk"),  # track 2 falls back to track 0
        (6, 2, "walk", "walk"),
    ]
    assert m.labelled_frames == 5
    assert m.frames_without_result == 1  # stamp 4
    assert m.missed_tracks == 1  # track 1 at stamp 3
    assert m.labelled_frames_without_prediction == 2  # stamps 3 and 4
    # Partial windows can be excluded: stamp 6's prediction used 5 frames only.
    m10 = match(GROUND_TRUTH, OUTPUTS, min_window_frames=10)
    assert len(m10.y_true) == 4 and m10.missed_tracks == 2


@pytest.mark.emulated
def test_score_numbers():
    s = score(GROUND_TRUTH, OUTPUTS, STAMPS)
    c = s["classification"]
    assert c["scored"] == 5
    assert c["accuracy"] == pytest.approx(4 / 5)
    assert c["balanced_accuracy"] == pytest.approx((3 / 4 + 1 / 1) / 2)  # walk 3/4, stand 1/1
    assert c["labels"] == CLASSES
    assert c["per_class"]["walk"] == {
        "precision": 1.0,
        "recall": 0.75,
        "f1": pytest.approx(6 / 7),
        "support": 4,
        "predicted": 3,
    }
    assert c["per_class"]["stand"]["precision"] == 0.5 and c["per_class"]["stand"]["recall"] == 1.0
    assert c["per_class"]["wave"]["support"] == 0
    assert c["confusion_matrix"] == [[1, 0, 0], [1, 3, 0], [0, 0, 0]]
    cov = s["coverage"]
    assert (cov["frames"], cov["frames_with_result"], cov["frames_missing_result"]) == (7, 5, 2)
    assert s["latency"]["count"] == 5
    assert s["latency"]["p50_ms"] == pytest.approx(30.0)
    assert s["latency"]["max_ms"] == pytest.approx(50.0)
    t = s["tracks"]
    assert t["ground_truth_tracks"] == 2  # tracks 1 and 2
    assert t["predicted_tracks_in_poses"] == 4  # 1, 2, 5, 6
    assert t["predicted_tracks_with_actions"] == 4
    assert t["mean_people_per_frame_poses"] == pytest.approx((2 + 2 + 2 + 1 + 1) / 5)
    summary = s["track_summary"]
    assert list(summary) == ["1", "2", "5", "6"]
    assert summary["2"] == {
        "first_s": 0.0,
        "last_s": 0.0,
        "frames": 4,
        "mean_x": None,  # ns stamps
        "mean_y": None,
    }
    # Stretches: per track, runs of one true label in time order.
    assert [
        (st["track_id"], st["label"], st["pairs"], st["right"], st["read_as"]) for st in s["stretches"]
    ] == [
        (5, "walk", 1, 1, {"walk": 1}),
        (6, "walk", 1, 0, {"stand": 1}),
        (1, "stand", 1, 1, {"stand": 1}),
        (2, "walk", 2, 2, {"walk": 2}),
    ]


@pytest.mark.emulated
def test_track_summary_positions():
    from act_ros.bag.scoring import track_summary

    t0 = 1_000_000_000
    outputs = {
        t0 + i * 100_000_000: FrameOutput(
            [], CLASSES, pose_track_ids=[3, 7], pose_centers=[(0.1 * i, 0.5), (0.9, 0.25)]
        )
        for i in range(5)
    }
    summary = track_summary(outputs, t0)
    assert summary["3"] == {"first_s": 0.0, "last_s": 0.4, "frames": 5, "mean_x": 0.2, "mean_y": 0.5}
    assert summary["7"]["mean_x"] == 0.9 and summary["7"]["mean_y"] == 0.25


@pytest.mark.emulated
def test_latency_percentiles_are_numpy_percentiles():
    values = np.random.default_rng(1).exponential(0.05, 1000)
    stats = latency_stats(values.tolist())
    np.testing.assert_allclose(
        [stats["p50_ms"], stats["p90_ms"], stats["p99_ms"]], np.percentile(values, [50, 90, 99]) * 1e3
    )
    assert latency_stats([])["p50_ms"] is None


@pytest.mark.emulated
def test_nothing_scored_is_reported_as_such():
    s = score(GROUND_TRUTH, {}, STAMPS)
    assert s["classification"]["scored"] == 0 and s["classification"]["accuracy"] is None
    assert s["coverage"]["frames_missing_result"] == 7


def test_reports_json_markdown_png(tmp_path):
    report = {
        "bag": "/data/demo_bag",
        "input_topic": "/image_raw",
        "input_type": "sensor_msgs/msg/Image",
        "bag_duration_s": 7.63,
        "frames": 7,
        "run": {
            "mode": "in-process",
            "pacing": "as fast as possible",
            "wall_time_s": 12.5,
            "throughput_fps": 18.4,
            "frames_published": 7,
            "stamps": "original",
        },
        "diagnostics": {"pose_node: frames_dropped": 0},
        "score": score(GROUND_TRUTH, OUTPUTS, STAMPS),
    }
    paths = write_reports(report, tmp_path / "out")
    data = json.loads(paths["json"].read_text())
    assert data["score"]["classification"]["accuracy"] == pytest.approx(0.8)
    md = paths["markdown"].read_text()
    assert "| accuracy | 80.0 % |" in md and "| balanced accuracy | 87.5 % |" in md
    assert "| walk | 1.000 | 0.750 | 0.857 | 4 | 3 |" in md
    assert "| frames dropped (no result) | 2 |" in md
    assert "pose_node: frames_dropped (from /diagnostics) | 0" in md
    assert "![confusion matrix](report_confusion.png)" in md
    assert "| 5 | 0.00 | 0.00 | 1 | n/a | n/a |" in md  # track 5: one frame, no positions
    assert "| 6 | walk | 0.00 | 0.00 | 1 | 0 | stand 1 |" in md  # the stretch read as stand
    image = cv2.imread(str(paths["png"]))
    assert image is not None and image.shape[0] > 200 and image.shape[1] > 200
    # Not a blank canvas: the matrix cells and labels are drawn.
    assert image.std() > 20
    assert markdown(data) == md


def test_metrics_agree_with_scikit_learn_on_random_labels():
    """The runtime computes them with numpy (no scikit-learn after the README's set-up); these
    are scikit-learn's definitions, checked here against scikit-learn itself."""
    from sklearn.metrics import (
        accuracy_score,
        balanced_accuracy_score,
        confusion_matrix,
        precision_recall_fscore_support,
    )

    from act_ros.bag.scoring import classification_metrics

    rng = np.random.default_rng(7)
    names = ["stand", "walk", "wave", "run", "squat"]
    for trial in range(20):
        n = int(rng.integers(1, 200))
        y_true = list(rng.choice(names[:3], n))  # some classes never labelled
        y_pred = list(rng.choice(names + ["unknown"], n))  # and labels outside the model
        c = classification_metrics(y_true, y_pred, names)
        labels = c["labels"]
        p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
        assert c["accuracy"] == pytest.approx(accuracy_score(y_true, y_pred))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # classes predicted, never labelled
            assert c["balanced_accuracy"] == pytest.approx(balanced_accuracy_score(y_true, y_pred))
        assert c["confusion_matrix"] == confusion_matrix(y_true, y_pred, labels=labels).tolist()
        for i, name in enumerate(labels):
            v = c["per_class"][name]
            assert (v["precision"], v["recall"], v["f1"], v["support"]) == pytest.approx(
                (p[i], r[i], f[i], s[i])
            ), (trial, name)


def test_scoring_and_reports_need_no_scikit_learn(tmp_path):
    """`act-ros evaluate BAG` after `make demo` (no extras) died with ModuleNotFoundError sklearn
    (issue 11, item 10): score and write the reports with scikit-learn unimportable."""
    import subprocess
    import sys

    code = (
        "import sys; sys.modules['sklearn'] = None\n"
        "sys.path.insert(0, sys.argv[1])\n"
        "import test_bag_scoring as t\n"
        "from act_ros.bag.report import write_reports\n"
        "s = t.score(t.GROUND_TRUTH, t.OUTPUTS, t.STAMPS)\n"
        "assert abs(s['classification']['accuracy'] - 0.8) < 1e-9\n"
        "write_reports({'bag': 'b', 'run': {}, 'score': s}, sys.argv[2])\n"
        "assert 'sklearn' not in [m for m in sys.modules if sys.modules[m] is not None]\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(Path(__file__).parent), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / "report.md").is_file() and (tmp_path / "report_confusion.png").is_file()


def test_the_report_keeps_confidences_to_choose_unknown_threshold(tmp_path):
    """Issue 11, item 15: which confidences the right and the wrong predictions had."""
    gt = [_gt(i, {0: "walk"}) for i in range(1, 6)]
    outputs = {
        i: FrameOutput([Prediction(1, label, confidence, 30)], CLASSES)
        for i, (label, confidence) in enumerate(
            [("walk", 0.9), ("walk", 0.8), ("walk", 0.7), ("stand", 0.4), ("wave", 0.6)], 1
        )
    }
    s = score(gt, outputs, list(range(1, 6)))
    c = s["confidence"]
    assert (c["right"], c["wrong"]) == (3, 2)
    assert c["right_quantiles"]["p50"] == pytest.approx(0.8)
    assert c["wrong_quantiles"]["p50"] == pytest.approx(0.5)
    assert c["per_predicted_class"]["walk"]["right"] == 3
    assert c["per_predicted_class"]["stand"] == {
        "right": 0,
        "wrong": 1,
        "right_quantiles": None,
        "wrong_quantiles": pytest.approx({f"p{q}": 0.4 for q in (10, 25, 50, 75, 90)}),
    }
    at = {r["threshold"]: r for r in c["thresholds"]}
    assert at[0.5] == {"threshold": 0.5, "right_kept": 1.0, "wrong_rejected": 0.5}
    assert at[0.75] == {"threshold": 0.75, "right_kept": pytest.approx(2 / 3), "wrong_rejected": 1.0}
    assert sum(c["histogram"]["right"]) == 3 and sum(c["histogram"]["wrong"]) == 2
    assert [p["confidence"] for p in s["pairs"]] == [0.9, 0.8, 0.7, 0.4, 0.6]
    paths = write_reports({"bag": "b", "run": {}, "score": s}, tmp_path)
    md = paths["markdown"].read_text()
    assert "## Confidence (to choose `unknown_threshold`)" in md
    assert "| all | 3 | 0.80 (0.72-0.88) | 2 | 0.50 (0.42-0.58) |" in md
    assert "| 0.50 | 100.0 % | 50.0 % |" in md
    picture = cv2.imread(str(paths["confidence_png"]))
    assert picture is not None and picture.std() > 20
