"""The AcT model sizes (paper Table I) and their cost: the one table every part reads.

Training builds the Keras model from it, ``act-ros bench`` computes the compute floor from it,
the node parameters, launch arguments and every CLI take their choices from it. No TensorFlow
here, so the robot runtime and the benchmarks can read it.
"""

from __future__ import annotations

from dataclasses import dataclass

from act_ros.preprocessing import NUM_FEATURES


@dataclass(frozen=True)
class ActSize:
    name: str
    num_heads: int
    d_model: int  # token width D (head dim = D / H = 64)
    head_width: int  # the [CLS] head's hidden Dense (the paper's "D_mlp")
    num_layers: int
    dropout: float

    @property
    def ffn_width(self) -> int:
        return 4 * self.d_model


ACT_SIZES: dict[str, ActSize] = {
    s.name: s
    for s in (
        ActSize("micro", 1, 64, 256, 4, 0.3),
        ActSize("small", 2, 128, 256, 5, 0.3),
        ActSize("medium", 3, 192, 256, 6, 0.3),
        ActSize("large", 4, 256, 512, 6, 0.4),
    )
}
MODEL_SIZES: tuple[str, ...] = tuple(ACT_SIZES)


def act_size(name: str) -> ActSize:
    """The size called ``name``, or ValueError listing the known ones."""
    try:
        return ACT_SIZES[name]
    except KeyError:
        raise ValueError(f"unknown AcT size {name!r}; known: {', '.join(MODEL_SIZES)}") from None


def macs_per_window(
    size: str, window_length: int = 30, num_features: int = NUM_FEATURES, num_classes: int = 20
) -> int:
    """Multiply-accumulates of one window (matmuls only: what bounds the run time)."""
    c = act_size(size)
    n, d = window_length + 1, c.d_model
    per_layer = n * d * 3 * d + 2 * n * n * d + n * d * d + 2 * n * d * c.ffn_width
    return (
        window_length * num_features * d
        + c.num_layers * per_layer
        + d * c.head_width
        + c.head_width * num_classes
    )
