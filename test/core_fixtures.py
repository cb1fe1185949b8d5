"""Shared helpers for the core tests: the real LZQ data (../shared/data), small real datasets."""
from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
LZQ_DIR = REPO.parent / "shared" / "data" / "lzq_openpose_har"


@functools.lru_cache(maxsize=None)
def lzq_dataset(window_length: int = 30, stride: int = 5):
    from act_ros.datasets.lzq import build_lzq_dataset

    return build_lzq_dataset(LZQ_DIR, window_length=window_length, stride=stride)


def lzq_windows(n: int = 24, window_length: int = 30) -> np.ndarray:
    """(n, T, 17, 3) real COCO-17 windows in pixels, spread over all classes."""
    ds = lzq_dataset(window_length)
    idx = np.linspace(0, len(ds) - 1, n).astype(int)
    return ds.poses[idx].astype(np.float64)
