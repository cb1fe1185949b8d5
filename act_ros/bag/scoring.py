"""Scoring recognised actions against ground truth (ROS-free: plain records in, a dict out).

Both evaluation paths call :func:`score`: the replay through the live nodes (predictions from
/human_actions) and the direct in-process pipeline (predictions from the recognizer), so their
numbers are computed by the same code.

Matching rule, per frame (by header stamp): a predicted person with track ``t`` is scored
against the ground truth of track ``t`` if the frame has one, else against the frame's track-0
label ("every person"), else not scored. Ground-truth tracks with no predicted person in a frame
count as *missed*, as do labelled frames for which no result message arrived at all.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from act_ros.bag.bag_io import GroundTruthFrame


@dataclass(frozen=True)
class Prediction:
    """One person's recognised action in one frame."""

    track_id: int
    label: str
    confidence: float = 1.0
    window_frames: int = 0
    window_length: int = 0


@dataclass
class FrameOutput:
    """What came back for one input frame (None fields = nothing came back)."""

    predictions: list[Prediction] = field(default_factory=list)
    class_names: list[str] = field(default_factory=list)
    latency_s: float | None = None  # result receive time - image stamp (or publish time)
    pose_track_ids: list[int] | None = None  # people in the pose message, when observed
    pose_centers: list[tuple[float, float]] | None = None  # their box centres, 0..1 of the image


@dataclass
class Matches:
    y_true: list[str]
    y_pred: list[str]
    stamps: list[int]
    track_ids: list[int]
    confidences: list[float]
    labelled_frames: int
    frames_without_result: int  # labelled frames whose result message never arrived
    missed_tracks: int  # (frame, GT track) pairs with no prediction for that track
    labelled_frames_without_prediction: int


def match(
    ground_truth: Iterable[GroundTruthFrame],
    outputs: Mapping[int, FrameOutput],
    *,
    min_window_frames: int = 0,
) -> Matches:
    """Pair predictions with ground-truth labels frame by frame (see the module docstring)."""
    y_true: list[str] = []
    y_pred: list[str] = []
    stamps: list[int] = []
    tracks: list[int] = []
    confidences: list[float] = []
    labelled = no_result = missed = no_pred = 0
    for gt in ground_truth:
        if not gt.actions:
            continue
        labelled += 1
        out = outputs.get(gt.stamp_ns)
        if out is None:
            no_result += 1
            missed += sum(1 for t in gt.actions if t != 0)
            no_pred += 1
            continue
        preds = [p for p in out.predictions if p.window_frames >= min_window_frames]
        seen: set[int] = set()
        for p in preds:
            label = gt.actions.get(p.track_id, gt.actions.get(0))
            if label is None:
                continue
            y_true.append(label)
            y_pred.append(p.label)
            stamps.append(gt.stamp_ns)
            tracks.append(p.track_id)
            confidences.append(float(p.confidence))
            seen.add(p.track_id)
        missed += sum(1 for t in gt.actions if t != 0 and t not in seen)
        if not seen:
            no_pred += 1
    return Matches(y_true, y_pred, stamps, tracks, confidences, labelled, no_result, missed, no_pred)


def classification_metrics(y_true: Sequence[str], y_pred: Sequence[str], class_names: Sequence[str]) -> dict:
    """Accuracy, balanced accuracy, per-class P/R/F1/support and the confusion matrix.

    ``class_names`` fixes the matrix order; labels outside it are appended. numpy only: this
    runs after the README's plain set-up (no scikit-learn on a robot); the definitions are
    scikit-learn's (zero_division=0; balanced accuracy = mean recall over the classes present in
    the ground truth), and the tests check both agree.
    """
    labels = list(class_names) + sorted((set(y_true) | set(y_pred)) - set(class_names))
    if not y_true:
        return {
            "scored": 0,
            "accuracy": None,
            "balanced_accuracy": None,
            "labels": labels,
            "per_class": {},
            "confusion_matrix": [[0] * len(labels) for _ in labels],
        }
    index = {name: i for i, name in enumerate(labels)}
    t = np.fromiter((index[y] for y in y_true), np.int64, len(y_true))
    p = np.fromiter((index[y] for y in y_pred), np.int64, len(y_pred))
    n = len(labels)
    cm = np.bincount(t * n + p, minlength=n * n).reshape(n, n)
    tp = np.diag(cm).astype(np.float64)
    support, predicted = cm.sum(axis=1), cm.sum(axis=0)
    precision = np.divide(tp, predicted, out=np.zeros(n), where=predicted > 0)
    recall = np.divide(tp, support, out=np.zeros(n), where=support > 0)
    f1 = np.divide(2 * precision * recall, precision + recall, out=np.zeros(n), where=precision + recall > 0)
    return {
        "scored": len(y_true),
        "accuracy": float(tp.sum() / len(y_true)),
        # Macro recall over the classes present in the ground truth (sklearn's definition):
        # classes a model predicts but the bag never labels do not dilute it.
        "balanced_accuracy": float(recall[support > 0].mean()),
        "labels": labels,
        "ground_truth_classes": sorted(set(y_true)),
        "per_class": {
            name: {
                "precision": float(precision[i]),
                "recall": float(recall[i]),
                "f1": float(f1[i]),
                "support": int(support[i]),
                "predicted": int(predicted[i]),
            }
            for i, name in enumerate(labels)
        },
        "confusion_matrix": cm.tolist(),
    }


CONFIDENCE_QUANTILES = (0.1, 0.25, 0.5, 0.75, 0.9)
CONFIDENCE_THRESHOLDS = tuple(round(0.3 + 0.05 * i, 2) for i in range(14))  # 0.30 .. 0.95
CONFIDENCE_BINS = 20  # histogram bins over [0, 1]


def _quantiles(values: np.ndarray) -> dict[str, float] | None:
    if values.size == 0:
        return None
    return {
        f"p{round(q * 100)}": float(v)
        for q, v in zip(CONFIDENCE_QUANTILES, np.quantile(values, CONFIDENCE_QUANTILES))
    }


def confidence_stats(y_true: Sequence[str], y_pred: Sequence[str], confidences: Sequence[float]) -> dict:
    """How confident right and wrong predictions were, to choose ``unknown_threshold``: quantiles
    overall and per predicted class (the threshold applies to the predicted class's score), a
    histogram, and per threshold the share of right predictions kept and of wrong ones turned
    into 'unknown'."""
    conf = np.asarray(confidences, np.float64)
    right = np.asarray(y_true, object) == np.asarray(y_pred, object)
    pred = np.asarray(y_pred, object)
    bins = np.linspace(0.0, 1.0, CONFIDENCE_BINS + 1)
    per_class = {}
    for name in sorted(set(y_pred)):
        mine = pred == name
        per_class[name] = {
            "right": int((mine & right).sum()),
            "wrong": int((mine & ~right).sum()),
            "right_quantiles": _quantiles(conf[mine & right]),
            "wrong_quantiles": _quantiles(conf[mine & ~right]),
        }
    n_right, n_wrong = int(right.sum()), int((~right).sum())
    return {
        "right": n_right,
        "wrong": n_wrong,
        "right_quantiles": _quantiles(conf[right]),
        "wrong_quantiles": _quantiles(conf[~right]),
        "per_predicted_class": per_class,
        "histogram": {
            "bin_edges": bins.round(3).tolist(),
            "right": np.histogram(conf[right], bins)[0].tolist(),
            "wrong": np.histogram(conf[~right], bins)[0].tolist(),
        },
        "thresholds": [
            {
                "threshold": t,
                "right_kept": float((conf[right] >= t).mean()) if n_right else None,
                "wrong_rejected": float((conf[~right] < t).mean()) if n_wrong else None,
            }
            for t in CONFIDENCE_THRESHOLDS
        ],
    }


def latency_stats(latencies_s: Sequence[float]) -> dict:
    """p50/p90/p99/mean/max in milliseconds (None when there is nothing to measure)."""
    values = np.asarray([v for v in latencies_s if v is not None], dtype=np.float64)
    if values.size == 0:
        return {"count": 0, "p50_ms": None, "p90_ms": None, "p99_ms": None, "mean_ms": None, "max_ms": None}
    p50, p90, p99 = np.percentile(values, [50, 90, 99]) * 1e3
    return {
        "count": int(values.size),
        "p50_ms": float(p50),
        "p90_ms": float(p90),
        "p99_ms": float(p99),
        "mean_ms": float(values.mean() * 1e3),
        "max_ms": float(values.max() * 1e3),
    }


def track_stats(ground_truth: Sequence[GroundTruthFrame], outputs: Mapping[int, FrameOutput]) -> dict:
    """Distinct tracks and people per frame, predicted vs ground truth (when GT has tracks)."""
    gt_tracks = {t for g in ground_truth for t in g.actions if t != 0}
    action_tracks = {p.track_id for o in outputs.values() for p in o.predictions}
    pose_frames = [o.pose_track_ids for o in outputs.values() if o.pose_track_ids is not None]
    pose_tracks = {t for ids in pose_frames for t in ids}
    result = {
        "ground_truth_tracks": len(gt_tracks) if gt_tracks else None,
        "predicted_tracks_with_actions": len(action_tracks),
        "predicted_tracks_in_poses": len(pose_tracks) if pose_frames else None,
        "mean_people_per_frame_poses": float(np.mean([len(ids) for ids in pose_frames]))
        if pose_frames
        else None,
        "mean_people_per_frame_actions": float(np.mean([len(o.predictions) for o in outputs.values()]))
        if outputs
        else None,
    }
    if gt_tracks:
        per_frame = [sum(1 for t in g.actions if t != 0) for g in ground_truth if g.actions]
        result["mean_people_per_frame_ground_truth"] = float(np.mean(per_frame)) if per_frame else None
    return result


def track_summary(outputs: Mapping[int, FrameOutput], t0_ns: int) -> dict[str, dict]:
    """Every track the pose node reported: when (s from the first frame), how often, where
    (mean box centre, fractions of the image width and height). Lets a user see which ID is
    which person when writing per-track labels."""
    seen: dict[int, list[tuple[int, tuple[float, float] | None]]] = {}
    for stamp in sorted(outputs):
        out = outputs[stamp]
        if out.pose_track_ids is None:
            continue
        centers = out.pose_centers or [None] * len(out.pose_track_ids)
        for tid, center in zip(out.pose_track_ids, centers):
            if tid:
                seen.setdefault(tid, []).append((stamp, center))
    summary = {}
    for tid in sorted(seen):
        items = seen[tid]
        pts = np.array([c for _, c in items if c is not None], dtype=np.float64).reshape(-1, 2)
        summary[str(tid)] = {
            "first_s": round((items[0][0] - t0_ns) / 1e9, 3),
            "last_s": round((items[-1][0] - t0_ns) / 1e9, 3),
            "frames": len(items),
            "mean_x": round(float(pts[:, 0].mean()), 3) if len(pts) else None,
            "mean_y": round(float(pts[:, 1].mean()), 3) if len(pts) else None,
        }
    return summary


def label_stretches(m: Matches, t0_ns: int) -> list[dict]:
    """The scored pairs cut into stretches: one track, one true label, consecutive in time.
    Per stretch how many were right and what they were read as, so a low recall shows where it
    comes from (one person's short stretch, a transition the window still straddles, ...)."""
    by_track: dict[int, list[int]] = {}
    for i, t in enumerate(m.track_ids):
        by_track.setdefault(t, []).append(i)
    runs: list[list[int]] = []  # pair indices of each stretch, in time order
    for rows in by_track.values():
        rows = sorted(rows, key=lambda i: m.stamps[i])
        runs.append([rows[0]])
        for i in rows[1:]:
            if m.y_true[i] == m.y_true[runs[-1][-1]]:
                runs[-1].append(i)
            else:
                runs.append([i])
    runs.sort(key=lambda run: (m.stamps[run[0]], m.track_ids[run[0]]))
    out = []
    for run in runs:
        read = Counter(m.y_pred[i] for i in run)
        out.append(
            {
                "track_id": m.track_ids[run[0]],
                "label": m.y_true[run[0]],
                "from_s": round((m.stamps[run[0]] - t0_ns) / 1e9, 3),
                "to_s": round((m.stamps[run[-1]] - t0_ns) / 1e9, 3),
                "pairs": len(run),
                "right": sum(1 for i in run if m.y_pred[i] == m.y_true[i]),
                "read_as": dict(sorted(read.items(), key=lambda kv: (-kv[1], kv[0]))),
            }
        )
    return out


def score(
    ground_truth: Sequence[GroundTruthFrame],
    outputs: Mapping[int, FrameOutput],
    frame_stamps: Sequence[int],
    *,
    class_names: Sequence[str] | None = None,
    min_window_frames: int = 0,
) -> dict:
    """The full score of one run: classification, coverage, latency, tracks, missing frames.

    ``outputs`` maps an input frame's stamp to what came back for it; a stamp in
    ``frame_stamps`` but not in ``outputs`` is a dropped frame.
    """
    if class_names is None:
        class_names = next((o.class_names for o in outputs.values() if o.class_names), None) or next(
            (g.class_names for g in ground_truth if g.class_names), []
        )
    m = match(ground_truth, outputs, min_window_frames=min_window_frames)
    stamps = set(frame_stamps)
    unexpected = sorted(set(outputs) - stamps)
    t0 = min(frame_stamps) if len(frame_stamps) else 0
    return {
        "classification": classification_metrics(m.y_true, m.y_pred, class_names),
        "confidence": confidence_stats(m.y_true, m.y_pred, m.confidences),
        "coverage": {
            "frames": len(frame_stamps),
            "frames_with_result": len(stamps & set(outputs)),
            "frames_missing_result": len(stamps - set(outputs)),
            "results_with_unknown_stamp": len(unexpected),
            "labelled_frames": m.labelled_frames,
            "labelled_frames_without_result": m.frames_without_result,
            "labelled_frames_without_prediction": m.labelled_frames_without_prediction,
            "missed_ground_truth_tracks": m.missed_tracks,
            "min_window_frames": min_window_frames,
        },
        "latency": latency_stats([o.latency_s for o in outputs.values() if o.latency_s is not None]),
        "tracks": track_stats(ground_truth, outputs),
        "track_summary": track_summary(outputs, t0),
        "stretches": label_stretches(m, t0),
        "pairs": [
            {"stamp_ns": s, "track_id": t, "true": yt, "pred": yp, "confidence": round(c, 4)}
            for s, t, yt, yp, c in zip(m.stamps, m.track_ids, m.y_true, m.y_pred, m.confidences)
        ],
    }
