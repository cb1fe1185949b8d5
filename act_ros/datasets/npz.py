"""The generic pose dataset and its file format (``.npz``), which every importer produces.

File format (``numpy.savez_compressed``; arrays by name):

============== ============== ==========================================================
name           shape / dtype  meaning
============== ============== ==========================================================
poses          (N, T, K, 3)   x, y in pixels, confidence; 0 confidence = missing joint;
               float32        samples shorter than T are zero-filled at the end
labels         (N,) int       class index 0..C-1
class_names    (C,) str       class names, in label order
keypoint_layout () str        ``act_ros.layouts`` name: coco17, body25, coco18, mediapipe33
groups         (N,) int       optional: recording/segment/actor id; windows of one group
                              never end up on both sides of a train/validation split
split          (N,) str       optional: "train" / "val" / "test" per sample
frame_rate     () float       optional: frames per second of the recordings (0 = unknown)
source         () str         optional: where the data came from (free text)
============== ============== ==========================================================
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from act_ros.layouts import check_layout, num_keypoints
from act_ros.preprocessing import pose_features

SPLITS = ("train", "val", "test")


@dataclass
class PoseDataset:
    poses: np.ndarray
    labels: np.ndarray
    class_names: tuple[str, ...]
    keypoint_layout: str
    groups: np.ndarray | None = None
    split: np.ndarray | None = None
    frame_rate: float | None = None
    source: str = ""
    _features: np.ndarray | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.poses = np.asarray(self.poses, dtype=np.float32)
        self.labels = np.asarray(self.labels).astype(np.int64)
        self.class_names = tuple(str(c) for c in self.class_names)
        check_layout(self.keypoint_layout)
        k = num_keypoints(self.keypoint_layout)
        n = len(self.labels)
        if self.poses.ndim != 4 or self.poses.shape[2:] != (k, 3) or self.poses.shape[0] != n:
            raise ValueError(f"poses must be (N, T, {k}, 3) with N = len(labels) = {n} for "
                             f"layout {self.keypoint_layout!r}; got {self.poses.shape}")
        if n and (self.labels.min() < 0 or self.labels.max() >= len(self.class_names)):
            raise ValueError(f"labels must lie in 0..{len(self.class_names) - 1}, got "
                             f"{self.labels.min()}..{self.labels.max()}")
        for name in ("groups", "split"):
            value = getattr(self, name)
            if value is not None:
                value = np.asarray(value)
                if value.shape != (n,):
                    raise ValueError(f"{name} must have shape ({n},), got {value.shape}")
                setattr(self, name, value)
        if self.split is not None:
            self.split = self.split.astype(str)
            unknown = set(np.unique(self.split)) - set(SPLITS)
            if unknown:
                raise ValueError(f"split values must be among {SPLITS}, got {sorted(unknown)}")

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def window_length(self) -> int:
        return int(self.poses.shape[1])

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def features(self) -> np.ndarray:
        """(N, T, 52) AcT features (computed once)."""
        if self._features is None:
            self._features = pose_features(self.poses, self.keypoint_layout)
        return self._features

    def subset(self, index: np.ndarray) -> PoseDataset:
        """Samples selected by a boolean mask or an index array."""
        index = np.asarray(index)
        return replace(
            self, poses=self.poses[index], labels=self.labels[index],
            groups=None if self.groups is None else self.groups[index],
            split=None if self.split is None else self.split[index],
            _features=None if self._features is None else self._features[index],
        )

    def part(self, name: str) -> PoseDataset:
        """The samples of split ``name`` (train/val/test)."""
        if self.split is None:
            raise ValueError(f"dataset {self.source!r} has no split column")
        return self.subset(self.split == name)

    def class_counts(self) -> dict[str, int]:
        counts = np.bincount(self.labels, minlength=self.num_classes)
        return dict(zip(self.class_names, counts.tolist()))

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays = dict(poses=self.poses, labels=self.labels,
                      class_names=np.array(self.class_names, dtype=str),
                      keypoint_layout=np.array(self.keypoint_layout),
                      frame_rate=np.array(float(self.frame_rate or 0.0)),
                      source=np.array(self.source))
        if self.groups is not None:
            arrays["groups"] = self.groups
        if self.split is not None:
            arrays["split"] = self.split.astype(str)
        np.savez_compressed(path, **arrays)
        return path


def load_npz_dataset(path: str | Path) -> PoseDataset:
    """Read a dataset file in the format above (clear errors for missing arrays)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"dataset file not found: {path}")
    with np.load(path, allow_pickle=False) as data:
        missing = [k for k in ("poses", "labels", "class_names", "keypoint_layout") if k not in data]
        if missing:
            raise ValueError(f"{path}: not an act_ros pose dataset, missing arrays {missing} "
                             f"(see act_ros/datasets/npz.py for the format)")
        fr = float(data["frame_rate"]) if "frame_rate" in data else 0.0
        return PoseDataset(
            poses=data["poses"], labels=data["labels"],
            class_names=tuple(data["class_names"].tolist()),
            keypoint_layout=str(data["keypoint_layout"]),
            groups=data["groups"] if "groups" in data else None,
            split=data["split"] if "split" in data else None,
            frame_rate=fr if fr > 0 else None,
            source=str(data["source"]) if "source" in data else str(path),
        )
