"""Did a training diverge? A transformer that collapses late (training accuracy 0.97 at epoch
124, 0.28 at the end) still leaves a good best-validation checkpoint, which hides the collapse:
`act-ros train` checks the curves every epoch and says so loudly (log, run.json, the plot).

Judged on the TRAINING curves (what the optimiser controls; validation can fall for other
reasons), smoothed over a few epochs because augmentation makes them noisy.
"""

from __future__ import annotations

import math

import numpy as np

SMOOTH_EPOCHS = 3  # rolling median over this many epochs
ACCURACY_DROP = 0.15  # collapse: smoothed accuracy this far below its peak ...
ACCURACY_RATIO = 0.75  # ... and below this fraction of the peak
LOSS_RETURN = 0.5  # collapse: loss back up this fraction of the way to its first value


def _smooth(values: list[float]) -> np.ndarray:
    v = np.asarray(values, dtype=np.float64)
    k = min(SMOOTH_EPOCHS, len(v))
    return np.array([np.median(v[max(0, i - k + 1) : i + 1]) for i in range(len(v))])


def check_divergence(history: list[dict]) -> dict:
    """From per-epoch rows with ``epoch``, ``loss`` and ``accuracy`` (training): ``diverged``
    and, when it did, ``reason`` plus the numbers behind it."""
    if not history:
        return {"diverged": False}
    epochs = [h["epoch"] for h in history]
    losses = [h["loss"] for h in history]
    bad = next((e for e, loss in zip(epochs, losses) if not math.isfinite(loss)), None)
    if bad is not None:
        return {
            "diverged": True,
            "epoch": bad,
            "reason": f"training loss became {losses[epochs.index(bad)]} at epoch {bad}",
        }
    acc, loss = _smooth([h["accuracy"] for h in history]), _smooth(losses)
    peak = int(np.argmax(acc))
    if acc[peak] - acc[-1] >= ACCURACY_DROP and acc[-1] <= ACCURACY_RATIO * acc[peak]:
        return {
            "diverged": True,
            "epoch": epochs[-1],
            "peak_epoch": epochs[peak],
            "peak_accuracy": round(float(acc[peak]), 4),
            "accuracy": round(float(acc[-1]), 4),
            "reason": f"training accuracy collapsed from {acc[peak]:.3f} (epoch "
            f"{epochs[peak]}) to {acc[-1]:.3f} (epoch {epochs[-1]})",
        }
    low = int(np.argmin(loss))
    learned = loss[0] - loss[low]
    if learned > 0 and loss[-1] - loss[low] >= LOSS_RETURN * learned:
        return {
            "diverged": True,
            "epoch": epochs[-1],
            "min_loss_epoch": epochs[low],
            "min_loss": round(float(loss[low]), 4),
            "loss": round(float(loss[-1]), 4),
            "reason": f"training loss rose from {loss[low]:.3f} (epoch {epochs[low]}) back "
            f"to {loss[-1]:.3f} (epoch {epochs[-1]}; it started at {loss[0]:.3f})",
        }
    return {"diverged": False}
