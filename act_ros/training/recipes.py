"""Named training recipes of `act-ros train` (``--recipe NAME``; any flag still overrides).

The paper's learning rate, D^-0.5 * min(step^-0.5, step * warmup^-1.5), peaks at
D^-0.5 * warmup^-0.5: lower for wider models (micro 64 -> small 128 -> medium 192 -> large 256:
the peak falls as 1 / sqrt(D)), but higher the fewer steps a training has. On MPOSE2021, where
it was tuned (11,306 training windows, batch 512: 23 steps x 350 epochs, warm-up 40 % = 3,220
steps), the peaks are micro 2.20e-3, small 1.56e-3, medium 1.27e-3, large 1.10e-3. On a small dataset the
warm-up is a few hundred steps and the peak several times higher: AcT-small reached 7.5e-3 on a
14-class benchmark and collapsed (training accuracy 0.97 -> 0.28) on 2 of 3 splits.

``stable`` (the default) keeps the paper's schedule shape but pins the peak to the paper's own
MPOSE2021 value for the model's width, whatever the dataset size, and clips the global gradient
norm at 1 (post-norm transformers blow up on rare huge steps). ``paper`` is the paper's recipe
exactly (peak from the actual warm-up, no clipping), kept for reproducing it.

Measured on the bundled LZQ data (`act-ros train --dataset lzq:act_ros/data/lzq_openpose_har
--size small --epochs 60 --seed 0 --recipe R`, 2,398 training windows, 5 steps an epoch): paper
peak 8.1e-3, test balanced accuracy 0.978; stable peak 1.6e-3, 0.988; neither collapsed there
(one person per class is easy data). Forced to a 0.05 peak, AcT-micro collapsed to chance with
either recipe (clipping alone does not save it) and both runs were reported as diverged.
"""
from __future__ import annotations

from dataclasses import dataclass

# Warm-up steps of the paper's recipe on MPOSE2021 (see above): the reference for the peak.
PAPER_MPOSE_WARMUP_STEPS = 3220


def paper_mpose_peak_lr(d_model: int) -> float:
    """The peak learning rate the paper's schedule reaches on MPOSE2021 for width ``d_model``."""
    return d_model ** -0.5 * PAPER_MPOSE_WARMUP_STEPS ** -0.5


@dataclass(frozen=True)
class Recipe:
    name: str
    description: str
    fixed_peak: bool          # peak = paper_mpose_peak_lr(D); else the schedule's own peak
    clip_norm: float          # global gradient-norm clipping; 0 = none

    def peak_lr(self, d_model: int) -> float | None:
        """Peak learning rate for width ``d_model`` (None = the schedule's own)."""
        return paper_mpose_peak_lr(d_model) if self.fixed_peak else None


RECIPES: dict[str, Recipe] = {r.name: r for r in (
    Recipe("stable", "paper schedule, peak pinned to its MPOSE2021 value per size "
                     "(micro 2.2e-3, small 1.6e-3, medium 1.3e-3, large 1.1e-3), gradient norm "
                     "clipped at 1",
           fixed_peak=True, clip_norm=1.0),
    Recipe("paper", "the paper's recipe exactly: peak D^-0.5 * warmup^-0.5 (grows as trainings "
                    "get shorter), no clipping", fixed_peak=False, clip_norm=0.0),
)}
DEFAULT_RECIPE = "stable"
