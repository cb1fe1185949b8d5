"""Named training recipes of `act-ros train` (``--recipe NAME``; any flag still overrides).

The paper's learning rate, D^-0.5 * min(step^-0.5, step * warmup^-1.5), peaks at
D^-0.5 * warmup^-0.5: lower for wider models (micro 64 -> small 128 -> medium 192 -> large 256:
the peak falls as 1 / sqrt(D)), but higher the fewer steps a training has. On MPOSE2021, where
it was tuned (11,306 training windows, batch 512: 23 steps x 350 epochs, warm-up 40 % = 3,220
steps), the peaks are micro 2.20e-3, small 1.56e-3, medium 1.27e-3, large 1.10e-3. On a small
dataset the warm-up is a few hundred steps and the peak several times higher: AcT-small reached 7.5e-3 on a
14-class benchmark and collapsed (training accuracy 0.97 -> 0.28) on 2 of 3 splits.

Every named setting of `act-ros train` is a recipe here (one concept): its schedule policy (the
peak learning rate: pinned per size, a fixed value, or the schedule's own; gradient clipping) and
the parser defaults it changes (epochs, batch, augmentation, ...). Any flag given on the command
line still wins; run.json records the recipe's name and every value used.

``stable`` (the default) keeps the paper's schedule shape but pins the peak to the paper's own
MPOSE2021 value for the model's width, whatever the dataset size, and clips the global gradient
norm at 1 (post-norm transformers blow up on rare huge steps). ``paper`` is the paper's recipe
exactly (peak from the actual warm-up, no clipping), kept for reproducing it.

Measured on the bundled LZQ data (`act-ros train --dataset lzq:act_ros/data/lzq_openpose_har
--size small --epochs 60 --seed 0 --recipe R`, 2,398 training windows, 5 steps an epoch): paper
peak 8.1e-3, test balanced accuracy 0.978; stable peak 1.6e-3, 0.988; neither collapsed there
(one person per class is easy data). Forced to a 0.05 peak, AcT-micro collapsed to chance with
either recipe (clipping alone does not save it) and both runs were reported as diverged.

``small-data-long`` is the recipe of the shipped 10-class micro model, chosen by transfer
experiments (``tools/transfer_study.py``; table in ``act_ros/models/MODEL_CARD.md``):
``small-data`` trained 60 epochs instead of 20. ``small-data`` (the previous model's and the
shipped small's, kept exactly as it trained them) is the paper's augmentation and
regularisation (flip + noise, label smoothing, AdamW, warm-up + step) with 20 epochs, batch 128
(more updates on a few thousand windows) and the peak pinned at 2e-3 for every size (the
paper's formula gives ~1e-2 for so few steps), no gradient clipping. ``small-data-geometric`` adds viewpoint / body-shape / temporal-crop /
missing-joint augmentation, class-balanced epochs and the checkpoint by balanced accuracy:
better on synthetic -> real LZQ, worse on the demo clip and on unknown actions (the card).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

# Warm-up steps of the paper's recipe on MPOSE2021 (see above): the reference for the peak.
PAPER_MPOSE_WARMUP_STEPS = 3220


def paper_mpose_peak_lr(d_model: int) -> float:
    """The peak learning rate the paper's schedule reaches on MPOSE2021 for width ``d_model``."""
    return d_model**-0.5 * PAPER_MPOSE_WARMUP_STEPS**-0.5


PINNED_PER_SIZE = "paper-mpose2021"  # Recipe.peak: paper_mpose_peak_lr(D) for width D
SCHEDULE_PEAK = "schedule"  # Recipe.peak: the schedule's own, D^-0.5 * warmup^-0.5


@dataclass(frozen=True)
class Recipe:
    name: str
    description: str
    peak: str | float  # PINNED_PER_SIZE, SCHEDULE_PEAK or a peak learning rate
    clip_norm: float  # global gradient-norm clipping; 0 = none
    defaults: Mapping[str, Any] = field(default_factory=dict)  # parser defaults it changes

    def peak_lr(self, d_model: int) -> float | None:
        """Peak learning rate for width ``d_model`` (None = the schedule's own)."""
        if self.peak == PINNED_PER_SIZE:
            return paper_mpose_peak_lr(d_model)
        return None if self.peak == SCHEDULE_PEAK else float(self.peak)

    def record(self) -> dict[str, Any]:
        """What run.json keeps of the recipe itself (the values used are recorded beside it)."""
        return {
            "name": self.name,
            "peak": self.peak,
            "clip_norm": self.clip_norm,
            "defaults": dict(self.defaults),
        }


SMALL_DATA = {"epochs": 20, "batch_size": 128}
RECIPES: dict[str, Recipe] = {
    r.name: r
    for r in (
        Recipe(
            "stable",
            "paper schedule, peak pinned to its MPOSE2021 value per size "
            "(micro 2.2e-3, small 1.6e-3, medium 1.3e-3, large 1.1e-3), gradient norm "
            "clipped at 1",
            peak=PINNED_PER_SIZE,
            clip_norm=1.0,
        ),
        Recipe(
            "paper",
            "the paper's recipe exactly: peak D^-0.5 * warmup^-0.5 (grows as trainings "
            "get shorter), no clipping",
            peak=SCHEDULE_PEAK,
            clip_norm=0.0,
        ),
        Recipe(
            "small-data",
            "the previous model's and the shipped small's: the paper's augmentation and regularisation, "
            "20 epochs, batch 128, peak pinned at 2e-3, no clipping",
            peak=2e-3,
            clip_norm=0.0,
            defaults=MappingProxyType(SMALL_DATA),
        ),
        Recipe(
            "small-data-long",
            "the shipped micro's: small-data with 60 epochs (3x the updates; every small-data "
            "run was still improving at epoch 20)",
            peak=2e-3,
            clip_norm=0.0,
            defaults=MappingProxyType({**SMALL_DATA, "epochs": 60}),
        ),
        Recipe(
            "small-data-geometric",
            "small-data + rotation 15 deg, scale 0.2, yaw scale 2.5, "
            "temporal crops 0.3, joint dropout 0.05, class-balanced epochs, "
            "checkpoint by balanced accuracy",
            peak=2e-3,
            clip_norm=0.0,
            defaults=MappingProxyType(
                {
                    **SMALL_DATA,
                    "rotate_deg": 15.0,
                    "scale_range": 0.2,
                    "yaw_scale": 2.5,
                    "crop_prob": 0.3,
                    "joint_dropout": 0.05,
                    "balance_classes": True,
                    "select_metric": "balanced_accuracy",
                }
            ),
        ),
    )
}
DEFAULT_RECIPE = "stable"
