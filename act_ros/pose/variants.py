"""The pose backends and the model variants each offers: the one table the node parameters,
launch arguments, model bundles and CLIs take their choices from (ROS-free, imports nothing
heavy)."""
from __future__ import annotations

# MediaPipe BlazePose landmark models, fastest to most accurate.
MEDIAPIPE_VARIANTS: tuple[str, ...] = ("lite", "full", "heavy")

# backend name -> model variants it accepts (the first is not the default: see parameters).
BACKEND_VARIANTS: dict[str, tuple[str, ...]] = {
    # Person detector + the same BlazePose landmark models on each person's crop.
    "topdown": MEDIAPIPE_VARIANTS,
    "mediapipe": MEDIAPIPE_VARIANTS,
}
POSE_BACKENDS: tuple[str, ...] = tuple(BACKEND_VARIANTS)
# Every variant name any backend accepts (the choices of the `model_variant` parameter).
POSE_VARIANTS: tuple[str, ...] = tuple(dict.fromkeys(v for vs in BACKEND_VARIANTS.values() for v in vs))


def check_variant(backend: str, variant: str) -> str:
    """``variant`` if ``backend`` offers it, else ValueError naming the choices."""
    variants = BACKEND_VARIANTS.get(backend)
    if variants is not None and variant not in variants:
        raise ValueError(f"unknown {backend} pose model variant {variant!r}; choose one of "
                         f"{', '.join(variants)}")
    return variant
