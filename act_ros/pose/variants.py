"""The pose backends and the model variants each offers: the one table the node parameters,
launch arguments, model bundles and CLIs take their choices from (ROS-free, imports nothing
heavy)."""

from __future__ import annotations

# MediaPipe BlazePose landmark models, fastest to most accurate.
MEDIAPIPE_VARIANTS: tuple[str, ...] = ("lite", "full", "heavy")

# backend name -> model variants it accepts (the first is not the default: DEFAULT_VARIANT).
BACKEND_VARIANTS: dict[str, tuple[str, ...]] = {
    # Person detector + the same BlazePose landmark models on each person's crop.
    "topdown": MEDIAPIPE_VARIANTS,
    "mediapipe": MEDIAPIPE_VARIANTS,
}
# The variant each backend uses unless told otherwise. topdown: lite, since the landmark call per
# person is its cost (measured one core, pruned models, tracking reuse: lite 0.4 ms + 6.4 ms per
# person vs full 0.1 + 10.8, benchmarks/bench_topdown.py) and lite found as many of the 167
# hand-counted people (benchmarks/pose_recall.py: vtest 105/116 both, 12 vs 7 false positives;
# pose2sim 30/30 vs 29/30). mediapipe: full, MediaPipe's own default.
DEFAULT_VARIANT: dict[str, str] = {"topdown": "lite", "mediapipe": "full"}
POSE_BACKENDS: tuple[str, ...] = tuple(BACKEND_VARIANTS)
# Every variant name any backend accepts (the choices of the `model_variant` parameter).
POSE_VARIANTS: tuple[str, ...] = tuple(dict.fromkeys(v for vs in BACKEND_VARIANTS.values() for v in vs))


# Below this many pixels on the short side of the image the estimator sees, a backend finds people
# only when they nearly fill the frame: the pose node and `act-ros run` warn. Measured on the
# bundled clip (60 frames, 2 people standing at about 0.4 of the image height), downscaled:
# topdown (the detector's boxes are upscaled to the landmark model's 256 px crops): nobody at
# 80x45, someone in 47 of 60 frames at 88x49 and 58 at 96x54, but squeezed to 96x96 only 12;
# mediapipe (its face-keyed detector reads a 224x224 input): nobody at 96x54, 2 frames at
# 128x72, 24 at 256x144, 55 at 480x270.
SMALL_IMAGE_SIDE: dict[str, int] = {"topdown": 96, "mediapipe": 224}


def variant_or_default(backend: str, variant: str) -> str:
    """``variant``, or the backend's default when it is '' (the node parameter's default)."""
    return variant or DEFAULT_VARIANT.get(backend, variant)


def check_variant(backend: str, variant: str) -> str:
    """``variant`` if ``backend`` offers it, else ValueError naming the choices."""
    variants = BACKEND_VARIANTS.get(backend)
    if variants is not None and variant not in variants:
        raise ValueError(
            f"unknown {backend} pose model variant {variant!r}; choose one of {', '.join(variants)}"
        )
    return variant
