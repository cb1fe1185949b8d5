"""Named training recipes of `act-ros train --preset NAME` (any flag given on the command line
still wins over the preset).

* ``paper``: the paper's recipe (Table II and the reference code), the defaults of the parser.
* ``small-data``: the recipe for small, mixed data (synthetic motion capture + a little real
  data) chosen by transfer experiments (``tools/transfer_study.py``; table and numbers in
  ``act_ros/models/MODEL_CARD.md``): a short schedule with a moderate peak learning rate,
  viewpoint / body-shape / temporal-crop / missing-joint augmentation, class-balanced batches
  and the checkpoint chosen by balanced accuracy.
"""
from __future__ import annotations

from typing import Any

PRESETS: dict[str, dict[str, Any]] = {
    "paper": {},
    "small-data": {
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
