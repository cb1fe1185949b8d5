"""Shared helpers for the core tests: the real LZQ data (act_ros/data), small real datasets."""
from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
from act_ros.data import lzq_data_dir  # noqa: E402

LZQ_DIR = lzq_data_dir()


@functools.cache
def lzq_dataset(window_length: int = 30, stride: int = 5):
    from act_ros.datasets.lzq import build_lzq_dataset

    return build_lzq_dataset(LZQ_DIR, window_length=window_length, stride=stride)


def lzq_windows(n: int = 24, window_length: int = 30) -> np.ndarray:
    """(n, T, 17, 3) real COCO-17 windows in pixels, spread over all classes."""
    ds = lzq_dataset(window_length)
    idx = np.linspace(0, len(ds) - 1, n).astype(int)
    return ds.poses[idx].astype(np.float64)


def small_lzq_npz(path: Path, stride: int = 6) -> Path:
    """A small real dataset file (LZQ, every ``stride``-th window) with train/val/test."""
    from act_ros.datasets.lzq import build_lzq_dataset

    build_lzq_dataset(LZQ_DIR, window_length=30, stride=stride).save(path)
    return path


@functools.cache
def trained_micro(seed: int = 0) -> Path:
    """Train AcT-micro for a few epochs on small real data, once per test process, and export
    it. Returns the run folder; the model is ``<run>/act_micro.tflite``."""
    import tempfile

    from act_ros.training import export, train

    root = Path(tempfile.mkdtemp(prefix="act_core_test_"))
    data = small_lzq_npz(root / "lzq_small.npz")
    run = root / f"run_{seed}"
    assert train.main(["--dataset", str(data), "--size", "micro", "--epochs", "4",
                       "--batch-size", "64", "--seed", str(seed), "--output", str(run),
                       "--quiet"]) == 0
    assert export.main([str(run), "-o", str(run / "act_micro.tflite")]) == 0
    return run
