"""The generic pose dataset and its file format (``.npz``), which every importer produces.

File format (``numpy.savez_compressed``; arrays by name):

============== ============== ==========================================================
name           shape / dtype  meaning
============== ============== ==========================================================
poses          (N, T, K, 3)   x, y in pixels, confidence; 0 confidence = missing joint;
               float32        samples shorter than T are zero-filled at the end
                              (features() front-pads them like the AcT node)
labels         (N,) int       class index 0..C-1
class_names    (C,) str       class names, in label order
keypoint_layout () str        ``act_ros.layouts`` name: coco17, body25, coco18, mediapipe33
groups         (N,) int       optional: recording/segment/actor id; windows of one group
                              never end up on both sides of a train/validation split
split          (N,) str       optional: "train" / "val" / "test" per sample
frame_rate     () float       optional: frames per second of the recordings (0 = unknown)
source         () str         optional: where the data came from (free text)
subject        (N,) str       optional: who performed the sample ("cmu:7", "hdm05:bd",
                              "lzq:person"); splits never share a subject
sample_source  (N,) str       optional: data set of each sample ("cmu", "hdm05", "lzq")
camera         (N, 11) float  optional: the virtual camera of synthesized samples, columns
                              ``camera_fields`` (fx, fy, cx, cy, width, height, azimuth_deg,
                              elevation_deg, distance_m, height_m, roll_deg); NaN = real
camera_fields  (11,) str      names of the camera columns
speed          (N,) float     optional: playback speed of the sample (1 = as recorded)
============== ============== ==========================================================

Files without the optional arrays (older files, MPOSE2021, LZQ imports) load as before.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from act_ros.layouts import check_layout, num_keypoints
from act_ros.preprocessing import pad_window, pose_features

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
    subject: np.ndarray | None = None
    sample_source: np.ndarray | None = None
    camera: np.ndarray | None = None
    camera_fields: tuple[str, ...] = ()
    speed: np.ndarray | None = None
    _features: np.ndarray | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.poses = np.asarray(self.poses, dtype=np.float32)
        self.labels = np.asarray(self.labels).astype(np.int64)
        self.class_names = tuple(str(c) for c in self.class_names)
        check_layout(self.keypoint_layout)
        k = num_keypoints(self.keypoint_layout)
        n = len(self.labels)
        if self.poses.ndim != 4 or self.poses.shape[2:] != (k, 3) or self.poses.shape[0] != n:
            raise ValueError(
                f"poses must be (N, T, {k}, 3) with N = len(labels) = {n} for "
                f"layout {self.keypoint_layout!r}; got {self.poses.shape}"
            )
        if n and (self.labels.min() < 0 or self.labels.max() >= len(self.class_names)):
            raise ValueError(
                f"labels must lie in 0..{len(self.class_names) - 1}, got "
                f"{self.labels.min()}..{self.labels.max()}"
            )
        for name in ("groups", "split", "subject", "sample_source", "speed"):
            value = getattr(self, name)
            if value is not None:
                value = np.asarray(value)
                if value.shape != (n,):
                    raise ValueError(f"{name} must have shape ({n},), got {value.shape}")
                setattr(self, name, value.astype(str) if name in ("subject", "sample_source") else value)
        self.camera_fields = tuple(str(c) for c in self.camera_fields)
        if self.camera is not None:
            self.camera = np.asarray(self.camera, dtype=np.float32)
            if self.camera.shape != (n, len(self.camera_fields)):
                raise ValueError(
                    f"camera must have shape ({n}, {len(self.camera_fields)}) "
                    f"(one column per camera_fields), got {self.camera.shape}"
                )
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
        """(N, T, 52) AcT features (computed once) of the windows as the AcT node forms them:
        zero-filled tails become front padding (preprocessing.pad_window)."""
        if self._features is None:
            windows = pad_window(self.poses, self.window_length)
            self._features = pose_features(windows, self.keypoint_layout)
        return self._features

    def subset(self, index: np.ndarray) -> PoseDataset:
        """Samples selected by a boolean mask or an index array."""
        index = np.asarray(index)

        def pick(a: np.ndarray | None) -> np.ndarray | None:
            return None if a is None else a[index]

        return replace(
            self,
            poses=self.poses[index],
            labels=self.labels[index],
            groups=pick(self.groups),
            split=pick(self.split),
            subject=pick(self.subject),
            sample_source=pick(self.sample_source),
            camera=pick(self.camera),
            speed=pick(self.speed),
            _features=pick(self._features),
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
        arrays = dict(
            poses=self.poses,
            labels=self.labels,
            class_names=np.array(self.class_names, dtype=str),
            keypoint_layout=np.array(self.keypoint_layout),
            frame_rate=np.array(float(self.frame_rate or 0.0)),
            source=np.array(self.source),
        )
        if self.groups is not None:
            arrays["groups"] = self.groups
        if self.split is not None:
            arrays["split"] = self.split.astype(str)
        for name in ("subject", "sample_source", "speed"):
            if getattr(self, name) is not None:
                arrays[name] = getattr(self, name)
        if self.camera is not None:
            arrays["camera"] = self.camera
            arrays["camera_fields"] = np.array(self.camera_fields, dtype=str)
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
            raise ValueError(
                f"{path}: not an act_ros pose dataset, missing arrays {missing} "
                f"(see act_ros/datasets/npz.py for the format)"
            )
        fr = float(data["frame_rate"]) if "frame_rate" in data else 0.0
        return PoseDataset(
            poses=data["poses"],
            labels=data["labels"],
            class_names=tuple(data["class_names"].tolist()),
            keypoint_layout=str(data["keypoint_layout"]),
            groups=data["groups"] if "groups" in data else None,
            split=data["split"] if "split" in data else None,
            frame_rate=fr if fr > 0 else None,
            source=str(data["source"]) if "source" in data else str(path),
            subject=data["subject"] if "subject" in data else None,
            sample_source=data["sample_source"] if "sample_source" in data else None,
            camera=data["camera"] if "camera" in data else None,
            camera_fields=tuple(data["camera_fields"].tolist()) if "camera_fields" in data else (),
            speed=data["speed"] if "speed" in data else None,
        )
