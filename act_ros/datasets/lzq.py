"""Importer for the LZQ OpenPose HAR CSV files (frame-per-row COCO-18, normalised to [0, 1]).

Source: LZQthePlane/Online-Realtime-Action-Recognition-based-on-OpenPose (Apache-2.0), as copied
in ``act_ros/data/lzq_openpose_har`` (bundled). Each contiguous block of rows with one class is a continuous
recording of one person. ``data_under_scene.csv`` repeats the stand/walk rows of ``data.csv``:
rows seen in an earlier file are dropped, so a test segment never leaks into training.

Splitting: every recording is cut into contiguous segments; whole segments go to train / val /
test, and windows are cut inside one segment only, so no two splits share a frame.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from act_ros.datasets.npz import PoseDataset
from act_ros.layouts import COCO17, COCO18, to_coco17

# data_under_scene.csv stores class ids instead of names.
SCENE_CLASS_NAMES = {"0": "stand", "1": "walk", "2": "operate", "3": "fall_down", "4": "run"}
# Real-time OpenPose on a webcam; the source does not state the rate (~10-15 fps). Measured on
# the walk recording: one stride (ankles' left-right order flipping twice) takes ~10 frames, and
# people stride at ~0.9-1 Hz, so ~10 fps. Training resamples speeds around it (train_speeds).
LZQ_FRAME_RATE = 10.0
DEFAULT_IMAGE_SIZE = (640, 480)  # assumed webcam size: restores the aspect ratio of x vs y
DEFAULT_FILES = ("data.csv", "data_under_scene.csv")


@dataclass
class Recording:
    """One contiguous block of frames of one class: (F, 18, 3) COCO-18 pixels + confidence."""

    class_name: str
    frames: np.ndarray
    source: str


def read_lzq_csv(
    path: str | Path,
    image_size: tuple[int, int] = DEFAULT_IMAGE_SIZE,
) -> tuple[np.ndarray, list[str]]:
    """Rows of one CSV as (F, 18, 3) COCO-18 keypoints in pixels (confidence 1 = present,
    0 where the file has 0,0) and the class name of each row."""
    path = Path(path)
    with open(path, newline="") as fh:
        rows = list(csv.reader(fh))
    if not rows or len(rows[0]) != 37:
        raise ValueError(
            f"{path}: expected a header with 36 keypoint columns + class, got "
            f"{len(rows[0]) if rows else 0} columns"
        )
    body = [r for r in rows[1:] if r]
    bad = [i + 2 for i, r in enumerate(body) if len(r) != 37]
    if bad:
        raise ValueError(f"{path}: rows {bad[:5]} do not have 37 columns")
    xy = np.array([[float(v) for v in r[:36]] for r in body]).reshape(-1, 18, 2)
    names = [SCENE_CLASS_NAMES.get(r[36].strip(), r[36].strip()) for r in body]
    present = ~np.all(xy == 0, axis=-1)
    pixels = xy * np.array(image_size, dtype=np.float64)
    poses = np.concatenate([pixels, present[..., None].astype(np.float64)], axis=-1)
    poses[~present] = 0.0
    return poses, names


def read_recordings(
    data_dir: str | Path,
    files: tuple[str, ...] = DEFAULT_FILES,
    image_size: tuple[int, int] = DEFAULT_IMAGE_SIZE,
) -> list[Recording]:
    """De-duplicated recordings (contiguous class blocks) of the LZQ CSV files."""
    data_dir = Path(data_dir)
    seen: set[bytes] = set()
    recordings: list[Recording] = []
    for name in files:
        poses, labels = read_lzq_csv(data_dir / name, image_size)
        keys = [p.tobytes() + lab.encode() for p, lab in zip(poses, labels)]
        keep = np.array([k not in seen for k in keys])
        seen.update(keys)
        start = 0
        for i in range(1, len(labels) + 1):
            if i == len(labels) or labels[i] != labels[start]:
                block = np.arange(start, i)[keep[start:i]]
                if len(block):
                    recordings.append(Recording(labels[start], poses[block], name))
                start = i
    return recordings


def _segment_splits(
    n_segments: int, rng: np.random.Generator, val_fraction: float, test_fraction: float
) -> list[str]:
    n_test = max(1, round(test_fraction * n_segments)) if test_fraction > 0 else 0
    n_val = max(1, round(val_fraction * n_segments)) if val_fraction > 0 else 0
    order = rng.permutation(n_segments)
    split = ["train"] * n_segments
    for i in order[:n_test]:
        split[i] = "test"
    for i in order[n_test : n_test + n_val]:
        split[i] = "val"
    return split


def _windows(frames: np.ndarray, length: int, stride: int, speed: float) -> np.ndarray:
    """Windows of ``length`` frames sampled every ``speed`` source frames (nearest frame): a
    speed > 1 plays the recording faster (simulates a lower frame rate or a quicker person)."""
    span = (length - 1) * speed
    starts = np.arange(0, len(frames) - span - 1e-9, stride)
    if not len(starts):
        return np.zeros((0, length) + frames.shape[1:], frames.dtype)
    idx = np.rint(starts[:, None] + np.arange(length)[None, :] * speed).astype(int)
    return frames[np.clip(idx, 0, len(frames) - 1)]


def build_lzq_dataset(
    data_dir: str | Path,
    window_length: int = 30,
    stride: int = 1,
    segments_per_recording: int = 10,
    val_fraction: float = 0.1,
    test_fraction: float = 0.2,
    seed: int = 0,
    train_speeds: tuple[float, ...] = (1.0,),
    image_size: tuple[int, int] = DEFAULT_IMAGE_SIZE,
) -> PoseDataset:
    """Windows of the LZQ recordings in COCO-17, split by contiguous segments.

    ``groups`` = segment id (unique over the dataset); ``split`` = train/val/test of the segment.
    ``train_speeds`` adds resampled copies of the training windows (temporal augmentation).
    """
    recordings = read_recordings(data_dir, image_size=image_size)
    class_names = tuple(
        sorted({r.class_name for r in recordings}, key=[r.class_name for r in recordings].index)
    )
    rng = np.random.default_rng(seed)
    poses, labels, groups, splits = [], [], [], []
    group = 0
    for rec in recordings:
        bounds = np.linspace(0, len(rec.frames), segments_per_recording + 1).astype(int)
        seg_split = _segment_splits(segments_per_recording, rng, val_fraction, test_fraction)
        for s in range(segments_per_recording):
            seg = to_coco17(rec.frames[bounds[s] : bounds[s + 1]], COCO18)
            speeds = train_speeds if seg_split[s] == "train" else (1.0,)
            for speed in speeds:
                w = _windows(seg, window_length, stride, speed)
                poses.append(w)
                labels += [class_names.index(rec.class_name)] * len(w)
                groups += [group] * len(w)
                splits += [seg_split[s]] * len(w)
            group += 1
    return PoseDataset(
        poses=np.concatenate(poses).astype(np.float32),
        labels=np.array(labels),
        class_names=class_names,
        keypoint_layout=COCO17,
        groups=np.array(groups),
        split=np.array(splits),
        frame_rate=LZQ_FRAME_RATE,
        source=f"LZQ OpenPose HAR CSV ({Path(data_dir).name}), T={window_length}, "
        f"stride={stride}, {segments_per_recording} segments/recording, seed={seed}",
    )
