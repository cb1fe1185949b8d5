"""Keras AcT: the paper's exact parameter counts, short windows, attention outputs."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("tensorflow")
# Keras 3 on numpy 2 warns about __array__(copy=...) inside its own code: not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")

from act_ros.preprocessing import pose_features  # noqa: E402
from act_ros.model_sizes import ACT_SIZES, macs_per_window  # noqa: E402
from act_ros.training.model import build_act  # noqa: E402
from core_fixtures import lzq_windows  # noqa: E402


@pytest.mark.parametrize(
    "size,params,macs",
    [
        ("micro", 227_156, 6.7e6),
        ("small", 1_040_404, 31.9e6),
        ("medium", 2_740_052, 84.8e6),
        ("large", 4_902_164, 150e6),
    ],
)
def test_parameter_counts_match_the_paper(size, params, macs):
    model = build_act(size, num_classes=20, window_length=30, num_features=52)
    assert model.count_params() == params
    assert abs(macs_per_window(size) - macs) / macs < 0.01


def test_short_windows_and_attention_maps():
    feats = pose_features(lzq_windows(4))
    model = build_act("micro", 7)
    full = model(feats, training=False).numpy()
    assert full.shape == (4, 7) and np.isfinite(full).all()
    for t in (1, 5, 29):
        out = model(feats[:, -t:], training=False).numpy()
        assert out.shape == (4, 7) and np.isfinite(out).all()
    attn_model = build_act("small", 7, return_attention=True)
    logits, *maps = attn_model(feats[:, :12], training=False)
    assert len(maps) == ACT_SIZES["small"].num_layers
    assert maps[0].shape == (4, 2, 13, 13)
    assert np.allclose(np.asarray(maps[0]).sum(-1), 1.0, atol=1e-5)
