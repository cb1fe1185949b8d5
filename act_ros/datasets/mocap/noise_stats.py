"""Statistics of 2-D pose tracks that say what a pose estimator's output looks like.

Computed the same way on real pose-backend output (:mod:`.measure`) and on synthesized
sequences (:mod:`.synthesize`), so the two can be compared joint by joint:

* ``missing_rate``: fraction of a tracked person's frames in which the joint has confidence 0;
* ``missing_run``: mean length (frames) of a joint's runs of missing frames (how bursty);
* ``confidence_quantiles``: quantiles 0, 0.05, ..., 1 of the confidence of present joints;
* ``jitter``: frame-to-frame noise, as the per-frame standard deviation of white noise that
  would give the same spread of r_t = p_t - (p_{t-1} + p_{t+1}) / 2 (robust: 1.4826 x median
  absolute value, x and y pooled, divided by sqrt(1.5)), in units of the person's torso length
  (mid-shoulders to mid-hips in the same frame). Real motion adds to r_t too, which is why the
  frame rate is recorded with the numbers and why synthetic sequences are compared at the
  frame rate of the footage;
* ``outlier_rate`` / ``outlier_scale``: the fraction of r_t beyond OUTLIER_SIGMAS robust
  standard deviations (a keypoint on the wrong limb or the background for one frame) and the
  median size of those, in torso lengths: the heavy tails that a Gaussian jitter lacks;
* ``confidence_autocorr``: lag-1 autocorrelation of a joint's confidence over time;
* ``confidence_histogram`` / ``residual_histogram``: counts in CONF_BINS / RESIDUAL_BINS (the
  residual r_t above, torso lengths), for the pictures;
* per track set: ``person_gap_rate`` / ``person_gap_run`` (frames inside a track where the
  person was not found at all, and their mean run length) and ``torso_px`` (median torso
  length in pixels: the jitter grows as people get smaller).
"""

from __future__ import annotations

import numpy as np

from act_ros.layouts import COCO17_NAMES

QUANTILES = np.linspace(0.0, 1.0, 21)
CONF_BINS = np.linspace(0.0, 1.0, 21)
RESIDUAL_BINS = np.linspace(-0.2, 0.2, 41)  # torso lengths
OUTLIER_SIGMAS = 4.0  # |r_t| beyond this many of its robust sigmas: a gross error
NAMES = COCO17_NAMES
_IDX = {n: i for i, n in enumerate(NAMES)}
_SHOULDERS = (_IDX["left_shoulder"], _IDX["right_shoulder"])
_HIPS = (_IDX["left_hip"], _IDX["right_hip"])


def torso_length(track: np.ndarray) -> np.ndarray:
    """(T,) mid-shoulders to mid-hips distance in pixels (NaN where a point is missing)."""
    ok = track[..., 2] > 0
    need = ok[:, list(_SHOULDERS + _HIPS)].all(axis=1)
    mid_s = track[:, list(_SHOULDERS), :2].mean(axis=1)
    mid_h = track[:, list(_HIPS), :2].mean(axis=1)
    length = np.linalg.norm(mid_s - mid_h, axis=1)
    return np.where(need & (length > 1e-6), length, np.nan)


def _runs(mask: np.ndarray) -> list[int]:
    runs, n = [], 0
    for m in mask:
        if m:
            n += 1
        elif n:
            runs.append(n)
            n = 0
    if n:
        runs.append(n)
    return runs


def track_statistics(tracks: list[np.ndarray], frame_rate: float) -> dict:
    """Statistics (module docstring) of person tracks: each (T, 17, 3) x, y, confidence over
    consecutive frames of one person (a frame with the person absent: all zeros)."""
    k = len(NAMES)
    conf: list[list[np.ndarray]] = [[] for _ in range(k)]
    resid: list[list[np.ndarray]] = [[] for _ in range(k)]
    runs: list[list[int]] = [[] for _ in range(k)]
    missing = np.zeros(k)
    frames = 0
    span = 0
    gaps: list[int] = []
    torsos: list[np.ndarray] = []
    ac_pairs: list[list[np.ndarray]] = [[] for _ in range(k)]
    for track in tracks:
        track = np.asarray(track, dtype=np.float64)
        seen = track[..., 2].max(axis=1) > 0  # frames where the person was found at all
        if seen.sum() < 1:
            continue
        frames += int(seen.sum())
        first, last = np.nonzero(seen)[0][[0, -1]]
        span += int(last - first + 1)
        gaps += _runs(~seen[first : last + 1])
        present = track[..., 2] > 0
        scale = torso_length(track)
        torsos.append(scale[np.isfinite(scale)])
        for j in range(k):
            missing[j] += np.sum(seen & ~present[:, j])
            runs[j] += _runs((seen & ~present[:, j])[seen])
            conf[j].append(track[present[:, j], j, 2])
            c = track[:, j, 2]
            both = present[1:, j] & present[:-1, j]
            ac_pairs[j].append(np.stack([c[:-1][both], c[1:][both]], axis=1))
            if len(track) >= 3:
                ok = present[:-2, j] & present[1:-1, j] & present[2:, j] & np.isfinite(scale[1:-1])
                r = track[1:-1, j, :2] - 0.5 * (track[:-2, j, :2] + track[2:, j, :2])
                resid[j].append((r[ok] / scale[1:-1][ok, None]).reshape(-1))
    torso = np.concatenate(torsos) if torsos else np.zeros(0)
    out = {
        "frame_rate": float(frame_rate),
        "person_frames": frames,
        "tracks": len(tracks),
        "person_gap_rate": float(sum(gaps) / span) if span else 0.0,
        "person_gap_run": float(np.mean(gaps)) if gaps else 0.0,
        "torso_px": float(np.median(torso)) if len(torso) else 0.0,
        "joints": {},
    }
    for j, name in enumerate(NAMES):
        c = np.concatenate(conf[j]) if conf[j] else np.zeros(0)
        r = np.concatenate(resid[j]) if resid[j] else np.zeros(0)
        pairs = np.concatenate(ac_pairs[j]) if ac_pairs[j] else np.zeros((0, 2))
        jit = float(1.4826 * np.median(np.abs(r)) / np.sqrt(1.5)) if len(r) else 0.0
        ac = float(np.corrcoef(pairs.T)[0, 1]) if len(pairs) > 10 and pairs.std(axis=0).min() > 0 else 0.0
        out["joints"][name] = {
            "missing_rate": float(missing[j] / frames) if frames else 0.0,
            "missing_run": float(np.mean(runs[j])) if runs[j] else 0.0,
            "confidence_quantiles": (
                np.quantile(c, QUANTILES).round(4).tolist() if len(c) else [0.0] * len(QUANTILES)
            ),
            "jitter": jit,
            "outlier_rate": float(np.mean(np.abs(r) > OUTLIER_SIGMAS * jit * np.sqrt(1.5)))
            if len(r) and jit > 0
            else 0.0,
            "outlier_scale": float(np.median(np.abs(r)[np.abs(r) > OUTLIER_SIGMAS * jit * np.sqrt(1.5)]))
            if len(r) and jit > 0 and np.any(np.abs(r) > OUTLIER_SIGMAS * jit * np.sqrt(1.5))
            else 0.0,
            "confidence_autocorr": round(ac, 4),
            "confidence_histogram": np.histogram(c, CONF_BINS)[0].tolist(),
            "residual_histogram": np.histogram(
                np.clip(r, RESIDUAL_BINS[0], RESIDUAL_BINS[-1]), RESIDUAL_BINS
            )[0].tolist(),
            "samples": int(len(c)),
        }
    return out


def summary_table(measured: dict, synthetic: dict | None = None) -> str:
    """A markdown table, one row per joint: missing rate, median confidence, jitter."""
    head = "| joint | missing (real) | conf. median (real) | jitter (real) |"
    rule = "|---|---:|---:|---:|"
    if synthetic is not None:
        head = (
            "| joint | missing real / synth | conf. median real / synth | conf. p10 real / "
            "synth | jitter real / synth |"
        )
        rule = "|---|---:|---:|---:|---:|"
    lines = [head, rule]
    for name in NAMES:
        m = measured["joints"][name]
        mq = m["confidence_quantiles"]
        if synthetic is None:
            lines.append(f"| {name} | {m['missing_rate']:.3f} | {mq[10]:.2f} | {m['jitter']:.4f} |")
            continue
        s = synthetic["joints"][name]
        sq = s["confidence_quantiles"]
        lines.append(
            f"| {name} | {m['missing_rate']:.3f} / {s['missing_rate']:.3f} | "
            f"{mq[10]:.2f} / {sq[10]:.2f} | {mq[2]:.2f} / {sq[2]:.2f} | "
            f"{m['jitter']:.4f} / {s['jitter']:.4f} |"
        )
    return "\n".join(lines)
