"""Named training recipes of `act-ros train --preset NAME` (any flag given on the command line
still wins over the preset).

* ``paper``: the paper's recipe (Table II and the reference code), the defaults of the parser.
* ``small-data``: the recipe of the shipped models, chosen by transfer experiments
  (``tools/transfer_study.py``; table and numbers in ``act_ros/models/MODEL_CARD.md``): the
  paper's augmentation and regularisation (flip + noise, label smoothing, AdamW) on a short
  schedule (20 epochs) with a moderate peak learning rate (2e-3, the paper's formula gives
  ~1e-2 for so few steps) and smaller batches (more updates on a few thousand windows).
* ``small-data-geometric``: ``small-data`` plus viewpoint / body-shape / temporal-crop /
  missing-joint augmentation, class-balanced epochs and the checkpoint by balanced accuracy.
  Better on synthetic -> real LZQ, worse on the demo clip and on unknown actions (the card).
"""
from __future__ import annotations

from typing import Any

PRESETS: dict[str, dict[str, Any]] = {
    "paper": {},
    "small-data": {"epochs": 20, "batch_size": 128, "peak_lr": 2e-3},
    "small-data-geometric": {
        "epochs": 20, "batch_size": 128, "peak_lr": 2e-3,
        "rotate_deg": 15.0, "scale_range": 0.2, "yaw_scale": 2.5,
        "crop_prob": 0.3, "joint_dropout": 0.05,
        "balance_classes": True, "select_metric": "balanced_accuracy",
    },
}


def preset_defaults(name: str) -> dict[str, Any]:
    """The parser defaults of preset ``name`` (KeyError naming the presets if unknown)."""
    if name not in PRESETS:
        raise KeyError(f"unknown preset {name!r}; presets: {', '.join(PRESETS)}")
    return dict(PRESETS[name])
