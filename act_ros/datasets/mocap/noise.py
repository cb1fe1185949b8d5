"""Make clean projected keypoints look like the project's pose backend, from measured statistics.

The parameters come from ``pose_noise.json`` (written by ``act-ros dataset measure-noise``,
:mod:`.measure`); nothing here is a guessed constant except the occlusion weights marked below.
Per joint j and frame t:

* a latent visibility z_j(t): an AR(1) Gaussian process (the measured lag-1 autocorrelation of
  the joint's confidence, converted to the target frame rate), lowered where the joint is hidden
  behind the body (``occlusion`` in 0..1) so side and back views lose the far limbs;
* missing (confidence 0, x = y = 0) when Phi(z) is below the joint's measured missing rate,
  otherwise confidence = the measured confidence quantile at the remaining rank, so present
  joints reproduce the measured confidence distribution. Small people get lower confidences
  and lose more joints: rates and quantiles are interpolated between the measured videos by
  the person's size (log torso length in pixels; clamped to the measured range);
* position jitter: white Gaussian noise of sigma_j(torso) = sqrt(a_j^2 + (b_j / torso_px)^2)
  torso lengths, a_j and b_j fitted to the measured jitter of the videos (people of different
  sizes: a pixel noise floor b_j plus a size-relative part a_j). The measured statistic also
  holds the people's own motion and the gross errors, so the fit uses the part left after
  those (``jitter_fit`` in the file, from ``measure-noise --mocap``, see compare.calibrate);
* gross errors: with the joint's measured outlier rate, a displacement of the measured outlier
  size (torso lengths) in a random direction for one frame;
* whole-person gaps (the detector lost the person) as a two-state Markov chain with the measured
  gap rate and mean gap length (in seconds, so it holds at any frame rate).

Points outside the image are missing, as the backend reports them.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from act_ros.datasets.mocap.noise_stats import NAMES, QUANTILES
from act_ros.layouts import NUM_KEYPOINTS

NOISE_FILE = Path(__file__).with_name("pose_noise.json")
OCCLUSION_WEIGHT = 1.5  # latent units a fully hidden joint loses (chosen, not measured)
OCCLUSION_MEAN = 0.25  # typical hiddenness: keeps the average missing rate at the measured one


@dataclass(frozen=True)
class NoiseModel:
    backend: str
    frame_rate: float  # of the measurement (autocorrelations refer to it)
    missing_rate: np.ndarray  # (17,)
    quantiles: np.ndarray  # (17, 21) confidence quantiles of present joints
    autocorr: np.ndarray  # (17,) lag-1 at frame_rate
    jitter_a: np.ndarray  # (17,) torso lengths
    jitter_b: np.ndarray  # (17,) pixels
    outlier_rate: np.ndarray  # (17,) per joint and frame
    outlier_scale: np.ndarray  # (17,) torso lengths
    gap_rate: float
    gap_run_s: float
    size_torso_px: np.ndarray = field(default_factory=lambda: np.zeros(0))  # (V,) ascending
    size_missing: np.ndarray = field(default_factory=lambda: np.zeros((0, NUM_KEYPOINTS)))  # (V, 17)
    size_quantiles: np.ndarray = field(default_factory=lambda: np.zeros((0, NUM_KEYPOINTS, len(QUANTILES))))

    @classmethod
    def from_file(cls, path: str | Path = NOISE_FILE) -> NoiseModel:
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(
                f"pose noise statistics not found: {path} (measure them with `act-ros dataset measure-noise`)"
            )
        data = json.loads(path.read_text())
        return cls.from_statistics(
            data["pooled"],
            [v["statistics"] for v in data.get("per_video", {}).values()],
            data.get("backend", ""),
            data.get("jitter_fit"),
        )

    @classmethod
    def from_statistics(
        cls, pooled: dict, per_video: list[dict], backend: str = "", jitter_fit: dict | None = None
    ) -> NoiseModel:
        joints = [pooled["joints"][n] for n in NAMES]
        if jitter_fit:
            a, b = np.array(jitter_fit["a"]), np.array(jitter_fit["b"])
        else:
            a, b = fit_jitter(per_video or [pooled])
        videos = sorted((v for v in per_video if v.get("torso_px", 0) > 0), key=lambda v: v["torso_px"])
        rate = float(pooled["frame_rate"]) or 30.0
        return cls(
            backend=backend,
            frame_rate=rate,
            missing_rate=np.array([j["missing_rate"] for j in joints]),
            quantiles=np.array([j["confidence_quantiles"] for j in joints]),
            autocorr=np.clip([j["confidence_autocorr"] for j in joints], 0.0, 0.99),
            jitter_a=a,
            jitter_b=b,
            outlier_rate=np.array([j.get("outlier_rate", 0.0) for j in joints]),
            outlier_scale=np.array([j.get("outlier_scale", 0.0) for j in joints]),
            gap_rate=float(pooled.get("person_gap_rate", 0.0)),
            gap_run_s=float(pooled.get("person_gap_run", 0.0)) / rate,
            size_torso_px=np.array([v["torso_px"] for v in videos]),
            size_missing=np.array([[v["joints"][n]["missing_rate"] for n in NAMES] for v in videos]).reshape(
                -1, len(NAMES)
            ),
            size_quantiles=np.array(
                [[v["joints"][n]["confidence_quantiles"] for n in NAMES] for v in videos]
            ).reshape(-1, len(NAMES), len(QUANTILES)),
        )

    def for_size(self, torso_px: float) -> tuple[np.ndarray, np.ndarray]:
        """(missing rate (17,), confidence quantiles (17, 21)) for people of ``torso_px``."""
        n = len(self.size_torso_px)
        if n == 0:
            return self.missing_rate, self.quantiles
        if n == 1:
            return self.size_missing[0], self.size_quantiles[0]
        x = np.log(np.clip(torso_px, self.size_torso_px[0], self.size_torso_px[-1]))
        xs = np.log(self.size_torso_px)
        i = int(np.clip(np.searchsorted(xs, x) - 1, 0, n - 2))
        w = (x - xs[i]) / (xs[i + 1] - xs[i])
        return (
            (1 - w) * self.size_missing[i] + w * self.size_missing[i + 1],
            (1 - w) * self.size_quantiles[i] + w * self.size_quantiles[i + 1],
        )

    def jitter(self, torso_px: np.ndarray) -> np.ndarray:
        """(..., 17) jitter sigma in torso lengths for people of ``torso_px`` (...) pixels."""
        t = np.maximum(np.asarray(torso_px, dtype=np.float64), 1.0)[..., None]
        return np.sqrt(self.jitter_a**2 + (self.jitter_b / t) ** 2)

    def apply(
        self,
        xy: np.ndarray,
        inside: np.ndarray,
        occlusion: np.ndarray,
        torso_px: np.ndarray,
        frame_rate: float,
        rng: np.random.Generator,
    ) -> np.ndarray:
        """(T, 17, 3) x, y, confidence from clean (T, 17, 2) pixels; ``inside`` (T, 17) which
        points are in the image; ``occlusion`` (T, 17) in 0..1; ``torso_px`` (T,)."""
        t, k = inside.shape
        rho = self.autocorr ** (self.frame_rate / frame_rate)
        z = np.empty((t, k))
        z[0] = rng.standard_normal(k)
        eps = rng.standard_normal((t, k))
        for i in range(1, t):
            z[i] = rho * z[i - 1] + np.sqrt(1.0 - rho**2) * eps[i]
        z -= OCCLUSION_WEIGHT * (np.asarray(occlusion) - OCCLUSION_MEAN)
        u = 0.5 * (1.0 + _erf(z / math.sqrt(2.0)))
        size = np.asarray(torso_px, dtype=np.float64)
        missing_rate, quantiles = self.for_size(float(np.median(size[size > 1])) if np.any(size > 1) else 1.0)
        present = (u >= missing_rate) & inside
        rank = np.clip((u - missing_rate) / np.maximum(1.0 - missing_rate, 1e-9), 0, 1)
        conf = np.empty((t, k))
        for j in range(k):
            conf[:, j] = np.interp(rank[:, j], QUANTILES, quantiles[j])
        sigma = self.jitter(torso_px) * np.asarray(torso_px, dtype=np.float64)[:, None]
        noisy = xy + rng.standard_normal(xy.shape) * sigma[..., None]
        gross = rng.random((t, k)) < self.outlier_rate
        angle = rng.uniform(0.0, 2 * np.pi, (t, k))
        jump = self.outlier_scale * size[:, None] * gross
        noisy += np.stack([np.cos(angle), np.sin(angle)], axis=-1) * jump[..., None]
        out = np.concatenate([noisy, conf[..., None]], axis=-1)
        out[~present] = 0.0
        out[self.person_gaps(t, frame_rate, rng)] = 0.0
        return out

    def person_gaps(self, t: int, frame_rate: float, rng: np.random.Generator) -> np.ndarray:
        """(T,) frames where the detector lost the person (two-state Markov chain)."""
        gap = np.zeros(t, dtype=bool)
        if self.gap_rate <= 0 or self.gap_run_s <= 0:
            return gap
        run = max(self.gap_run_s * frame_rate, 1.0)
        leave = 1.0 / run
        enter = min(self.gap_rate / ((1.0 - self.gap_rate) * run), 1.0)
        state = rng.random() < self.gap_rate
        draws = rng.random(t)
        for i in range(t):
            gap[i] = state
            state = draws[i] >= leave if state else draws[i] < enter
        return gap


def _erf(x: np.ndarray) -> np.ndarray:
    return np.vectorize(math.erf, otypes=[float])(x)


def fit_jitter(
    per_video: list[dict], targets: list[np.ndarray] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Per joint a, b of sigma^2 = a^2 + (b / torso_px)^2, least squares in (a^2, b^2) over the
    videos' (torso_px, jitter) pairs (or ``targets``: (17,) jitter per video to fit instead);
    one video (or equal sizes) gives b = 0."""
    k = len(NAMES)
    a, b = np.zeros(k), np.zeros(k)
    stats = [v for v in per_video if v.get("torso_px", 0) > 0 and v.get("person_frames", 0)]
    for j, name in enumerate(NAMES):
        sig2 = np.array(
            [
                (targets[i][j] if targets is not None else v["joints"][name]["jitter"]) ** 2
                for i, v in enumerate(stats)
            ]
        )
        inv2 = np.array([1.0 / v["torso_px"] ** 2 for v in stats])
        if len(stats) >= 2 and np.ptp(inv2) > 0:
            m = np.stack([np.ones_like(inv2), inv2], axis=1)
            (a2, b2), *_ = np.linalg.lstsq(m, sig2, rcond=None)
            if b2 < 0:
                a2, b2 = float(sig2.mean()), 0.0
            elif a2 < 0:
                a2, b2 = 0.0, float(np.sum(sig2 * inv2) / np.sum(inv2**2))
        else:
            a2, b2 = float(sig2.mean()) if len(sig2) else 0.0, 0.0
        a[j], b[j] = math.sqrt(max(a2, 0.0)), math.sqrt(max(b2, 0.0))
    return a, b
