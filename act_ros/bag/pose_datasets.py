"""Pose dataset files -> per-person pose sequences for a bag of pose arrays (AcT node alone).

Reads the project's own importers (``act_ros.datasets``), so a bag holds exactly the poses a
model is trained and tested on:

* LZQ OpenPose CSV (``data.csv`` / ``data_under_scene.csv``): each contiguous block of one class
  is one continuous recording, so one person (track) in the bag; COCO-18 -> COCO-17.
* ``.npz`` pose dataset (``act_ros/datasets/npz.py``): each sample is one sequence; the
  zero-filled frames at its end are dropped. Use a dataset of whole recordings (not overlapping
  windows) to get a faithful stream; ``--split test`` keeps only the test samples.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from act_ros.layouts import COCO17, to_coco17


@dataclass
class PoseSequence:
    """One person's continuous recording: (F, 17, 3) pixels + confidence, one label per frame."""

    keypoints: np.ndarray
    labels: list[str]


def _trim_padding(poses: np.ndarray) -> np.ndarray:
    """Drop trailing frames in which every keypoint has confidence 0 (the dataset's padding)."""
    present = np.any(poses[..., 2] > 0, axis=-1)
    if not present.any():
        return poses[:0]
    return poses[: int(np.nonzero(present)[0][-1]) + 1]


def load_sequences(
    path: str | Path, *, image_size: tuple[int, int] = (640, 480), split: str | None = None
) -> tuple[list[PoseSequence], list[str], float | None]:
    """Sequences (COCO-17, pixels), the dataset's class names and its frame rate (if known)."""
    path = Path(path)
    if path.suffix.lower() == ".csv":
        from act_ros.datasets.lzq import LZQ_FRAME_RATE, read_lzq_csv

        poses18, names = read_lzq_csv(path, image_size)
        poses = to_coco17(poses18, "coco18").astype(np.float32)
        sequences: list[PoseSequence] = []
        start = 0
        for i in range(1, len(names) + 1):
            if i == len(names) or names[i] != names[start]:
                sequences.append(PoseSequence(poses[start:i], names[start:i]))
                start = i
        classes = list(dict.fromkeys(names))  # order of first appearance
        return sequences, classes, LZQ_FRAME_RATE
    if path.suffix.lower() == ".npz":
        from act_ros.datasets.npz import load_npz_dataset

        data = load_npz_dataset(path)
        if split is not None:
            if data.split is None:
                raise ValueError(f"{path} has no split array; cannot select --split {split}")
            data = data.subset(np.nonzero(data.split == split)[0])
        poses = data.poses if data.keypoint_layout == COCO17 else to_coco17(data.poses, data.keypoint_layout)
        sequences = []
        for sample, label in zip(poses, data.labels):
            frames = _trim_padding(np.asarray(sample, dtype=np.float32))
            if len(frames):
                sequences.append(PoseSequence(frames, [data.class_names[int(label)]] * len(frames)))
        if not sequences:
            raise ValueError(f"{path}: no non-empty sequences")
        return sequences, list(data.class_names), data.frame_rate
    raise ValueError(f"{path}: unknown pose dataset format (expected an LZQ .csv or an act_ros .npz)")
