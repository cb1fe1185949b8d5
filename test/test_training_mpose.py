"""MPOSE2021 through the real `mpose` package, offline: a small archive in the exact cache layout
(~/.mpose/<extractor>.zip holding <extractor>/<split>/{X,y}_{train,test}.npy and <split>.txt),
made from real LZQ motion, with HOME pointed at a temporary folder."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("mpose")
# Keras 3 on numpy 2 warns about __array__(copy=...) inside its own code: not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")

from act_ros.datasets.mpose2021 import load_mpose2021  # noqa: E402
from act_ros.layouts import BODY25, COCO17, KEYPOINT_NAMES  # noqa: E402
from act_ros.preprocessing import pad_window, pose_features  # noqa: E402
from core_fixtures import lzq_dataset  # noqa: E402

MPOSE_CLASSES = [
    "standing",
    "check-watch",
    "cross-arms",
    "scratch-head",
    "sit-down",
    "get-up",
    "turn",
    "walk",
    "wave1",
    "box",
    "kick",
    "point",
    "pick-up",
    "bend",
    "hands-clap",
    "wave2",
    "jog",
    "jump",
    "pjump",
    "run",
]
# LZQ class -> an MPOSE2021 label (only the archive format matters here, the motion is real).
LZQ_TO_MPOSE = {"stand": 0, "walk": 7, "squat": 4, "wave": 8, "operate": 11, "fall_down": 13, "run": 19}


def _as_body25(coco: np.ndarray) -> np.ndarray:
    names = KEYPOINT_NAMES[BODY25]
    out = np.zeros(coco.shape[:-2] + (25, 3), np.float64)
    for i, n in enumerate(KEYPOINT_NAMES[COCO17]):
        out[..., names.index(n), :] = coco[..., i, :]
    for name, (a, b) in (("neck", (5, 6)), ("mid_hip", (11, 12))):
        ok = (coco[..., a, 2] > 0) & (coco[..., b, 2] > 0)
        mid = (coco[..., a, :] + coco[..., b, :]) / 2
        out[..., names.index(name), :] = np.where(ok[..., None], mid, 0.0)
    return out


def make_mpose_archive(home: Path, extractor: str, split: int = 1, extract: bool = False):
    """Write ~/.mpose/<extractor>.zip (and optionally its extracted folder) like the real one."""
    ds = lzq_dataset(30, 9)
    poses = ds.poses.astype(np.float64)
    if extractor == "openpose":
        poses = _as_body25(poses)
    labels = np.array([LZQ_TO_MPOSE[ds.class_names[i]] for i in ds.labels])
    poses[1::7, 22:] = 0.0  # short samples are zero-filled at the end
    test = ds.split == "test"
    files = {
        "X_train.npy": poses[~test],
        "y_train.npy": labels[~test],
        "X_test.npy": poses[test],
        "y_test.npy": labels[test],
    }
    names = [f"sample_{i:04d}" for i in range(len(labels))]
    listing = "".join(f"{n}\t{'test' if t else 'train'}\n" for n, t in zip(names, test))
    cache = home / ".mpose"
    cache.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(cache / f"{extractor}.zip", "w") as zf:
        for name, arr in files.items():
            tmp = cache / "tmp.npy"
            np.save(tmp, arr)
            zf.write(tmp, f"{extractor}/{split}/{name}")
            tmp.unlink()
        zf.writestr(f"{extractor}/{split}/{split}.txt", listing)
    if extract:
        with zipfile.ZipFile(cache / f"{extractor}.zip") as zf:
            zf.extractall(cache)
    return poses, labels, test


@pytest.mark.parametrize("extractor,extract", [("openpose", False), ("posenet", True)])
def test_mpose_cache_path_loads_raw_poses(tmp_path, monkeypatch, extractor, extract):
    monkeypatch.setenv("HOME", str(tmp_path))
    poses, labels, test = make_mpose_archive(tmp_path, extractor, extract=extract)
    ds = load_mpose2021(extractor, 1)
    assert (tmp_path / ".mpose" / extractor / "1" / "X_train.npy").is_file()  # mpose unzipped
    assert ds.class_names == tuple(MPOSE_CLASSES)
    assert ds.keypoint_layout == (BODY25 if extractor == "openpose" else COCO17)
    assert len(ds) == len(labels)
    assert np.array_equal(ds.part("test").labels, labels[test])
    assert np.allclose(ds.part("train").poses, poses[~test])
    feats = ds.features()
    assert feats.shape == (len(ds), 30, 52) and np.isfinite(feats).all()
    filled = np.all(ds.poses[:, 22:] == 0, axis=(1, 2, 3))
    assert filled.sum() >= len(ds) // 8
    # Short samples (zero-filled tails) train as the AcT node sees a short window: their 22
    # frames at the end, the first pose held in front (issue 14: they trained on empty tails).
    short = ds.poses[filled][:, :22]
    assert np.array_equal(feats[filled], pose_features(pad_window(short, 30), ds.keypoint_layout))
    assert np.any(feats[filled][:, -1] != 0, axis=-1).all()
    if extractor == "openpose":
        # BODY_25 gives the same features as the COCO-17 poses it was made from (feet absent).
        coco = lzq_dataset(30, 9).poses
        coco = np.concatenate([coco[~test], coco[test]])  # train, then test
        ok = np.all((coco[..., [5, 6, 11, 12], 2] > 0), axis=(1, 2)) & ~filled
        assert ok.sum() > 50
        assert np.abs(feats[ok] - pose_features(coco[ok])).max() < 1e-4


def test_train_command_on_mpose(tmp_path, monkeypatch):
    pytest.importorskip("tensorflow")
    from act_ros.training import train

    monkeypatch.setenv("HOME", str(tmp_path))
    make_mpose_archive(tmp_path, "movenet", split=2)
    out = tmp_path / "run"
    assert (
        train.main(
            [
                "--dataset",
                "mpose2021:movenet:2",
                "--epochs",
                "2",
                "--batch-size",
                "128",
                "--output",
                str(out),
                "--quiet",
            ]
        )
        == 0
    )
    import json

    info = json.loads((out / "run.json").read_text())
    assert info["class_names"] == MPOSE_CLASSES and info["parameters"] == 227_156
    assert info["dataset"]["source"] == "MPOSE2021 movenet split 2"
    assert "stratified" in info["dataset"]["validation"]
    assert info["test_metrics"]["samples"] == info["dataset"]["test"] > 0
