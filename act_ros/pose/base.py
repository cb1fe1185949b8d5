"""The pose-estimator interface: what every backend returns, and a registry to create one by name.

A backend turns one RGB image into :class:`PoseDetections` (COCO-17 keypoints in pixels of that
image, one row per person). The pose node only talks to :func:`create_estimator`, so another
estimator (for example a YOLO-pose ONNX model a user supplies) is added with
:func:`register_estimator` and a backend name in the node's parameters, without touching the node.

Conventions (shared with ``msg/PersonPose2D.msg`` and ``msg/Keypoint2D.msg``):

* keypoints are ``(N, 17, 3)`` float32 ``x, y, confidence`` in COCO-17 order; a missing point has
  confidence 0 and ``x = y = 0`` (consumers test the confidence, never the coordinates);
* boxes are ``(N, 4)`` float32 ``x_min, y_min, x_max, y_max`` in pixels;
* ``track_ids`` are uint32, 0 = not tracked (a tracker fills them, see ``tracking.py``).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable
from collections.abc import Callable

import numpy as np

from act_ros.layouts import COCO17_NAMES, NUM_KEYPOINTS

__all__ = [
    "COCO17_NAMES",
    "NUM_KEYPOINTS",
    "PoseDetections",
    "PoseEstimator",
    "boxes_from_keypoints",
    "check_image",
    "create_estimator",
    "register_estimator",
    "available_estimators",
]


def _empty(shape: tuple[int, ...], dtype: Any) -> np.ndarray:
    return np.zeros(shape, dtype=dtype)


@dataclass
class PoseDetections:
    """The people found in one image (COCO-17), as parallel numpy arrays of length N.

    Construction checks shapes and casts dtypes, so a malformed backend fails loudly here
    instead of publishing garbage. ``track_ids`` defaults to zeros (= not tracked).
    """

    keypoints: np.ndarray = field(default_factory=lambda: _empty((0, NUM_KEYPOINTS, 3), np.float32))
    boxes: np.ndarray = field(default_factory=lambda: _empty((0, 4), np.float32))
    scores: np.ndarray = field(default_factory=lambda: _empty((0,), np.float32))
    track_ids: np.ndarray | None = None

    def __post_init__(self) -> None:
        kp = np.ascontiguousarray(self.keypoints, dtype=np.float32)
        if kp.ndim != 3 or kp.shape[1:] != (NUM_KEYPOINTS, 3):
            raise ValueError(f"keypoints must have shape (N, {NUM_KEYPOINTS}, 3), got {kp.shape}")
        n = kp.shape[0]
        boxes = np.ascontiguousarray(self.boxes, dtype=np.float32)
        if boxes.size == 0:
            boxes = boxes.reshape(0, 4)
        if boxes.shape != (n, 4):
            raise ValueError(f"boxes must have shape ({n}, 4), got {boxes.shape}")
        scores = np.ascontiguousarray(self.scores, dtype=np.float32).reshape(-1)
        if scores.shape != (n,):
            raise ValueError(f"scores must have shape ({n},), got {scores.shape}")
        if self.track_ids is None:
            ids = np.zeros((n,), dtype=np.uint32)
        else:
            raw = np.asarray(self.track_ids).reshape(-1)
            if raw.shape != (n,):
                raise ValueError(f"track_ids must have shape ({n},), got {raw.shape}")
            if raw.size and (not np.issubdtype(raw.dtype, np.integer) or raw.min() < 0):
                raise ValueError("track_ids must be non-negative integers")
            ids = raw.astype(np.uint32)
        self.keypoints, self.boxes, self.scores, self.track_ids = kp, boxes, scores, ids

    def __len__(self) -> int:
        return int(self.keypoints.shape[0])

    @classmethod
    def empty(cls) -> PoseDetections:
        """No people (an image where nobody was found)."""
        return cls()

    def select(self, index: np.ndarray | list[int] | slice) -> PoseDetections:
        """A subset of the people (boolean mask, index array or slice), as copies."""
        return PoseDetections(
            keypoints=self.keypoints[index].copy(),
            boxes=self.boxes[index].copy(),
            scores=self.scores[index].copy(),
            track_ids=self.track_ids[index].copy(),
        )

    def with_track_ids(self, track_ids: np.ndarray) -> PoseDetections:
        """The same people with new track IDs (the arrays are shared, not copied)."""
        return PoseDetections(self.keypoints, self.boxes, self.scores, track_ids)


def boxes_from_keypoints(keypoints: np.ndarray, min_confidence: float = 1e-6) -> np.ndarray:
    """Axis-aligned ``(N, 4)`` boxes around each person's keypoints with confidence > threshold.

    A person with no such keypoint gets an all-zero box.
    """
    kp = np.asarray(keypoints, dtype=np.float32)
    boxes = np.zeros((kp.shape[0], 4), dtype=np.float32)
    for i, person in enumerate(kp):
        pts = person[person[:, 2] > min_confidence, :2]
        if len(pts):
            boxes[i, :2] = pts.min(axis=0)
            boxes[i, 2:] = pts.max(axis=0)
    return boxes


@runtime_checkable
class PoseEstimator(Protocol):
    """What the pose node needs from a backend."""

    name: str

    def estimate(self, image_rgb: np.ndarray, timestamp_ns: int) -> PoseDetections:
        """People in one image.

        ``image_rgb``: HxWx3 uint8 RGB, C-contiguous. ``timestamp_ns``: the image stamp; it may
        repeat or go backwards (bag loops), and the backend copes with that itself (a backend
        that tracks between frames resets its state when time jumps backwards).
        """
        ...

    def close(self) -> None:
        """Release the model (idempotent)."""
        ...


def check_image(image_rgb: np.ndarray) -> np.ndarray:
    """Validate an estimator input (HxWx3 uint8, non-empty); returns it C-contiguous."""
    if not isinstance(image_rgb, np.ndarray):
        raise TypeError(f"image must be a numpy array, got {type(image_rgb).__name__}")
    if image_rgb.ndim != 3 or image_rgb.shape[2] != 3:
        raise ValueError(f"image must be HxWx3 RGB, got shape {image_rgb.shape}")
    if image_rgb.dtype != np.uint8:
        raise ValueError(f"image must be uint8, got {image_rgb.dtype}")
    if image_rgb.shape[0] == 0 or image_rgb.shape[1] == 0:
        raise ValueError(f"image is empty: shape {image_rgb.shape}")
    return np.ascontiguousarray(image_rgb)


# --- registry ---------------------------------------------------------------------------------
# name -> factory, or "module:attribute" resolved on first use, so that importing this module
# never imports a heavy backend (mediapipe) that the caller may not use.
EstimatorFactory = Callable[..., PoseEstimator]
_REGISTRY: dict[str, EstimatorFactory | str] = {
    "mediapipe": "act_ros.pose.mediapipe_backend:MediaPipePoseEstimator",
    "topdown": "act_ros.pose.topdown_backend:TopDownPoseEstimator",
}


def register_estimator(name: str, factory: EstimatorFactory | str, *, replace: bool = False) -> None:
    """Make a backend available to :func:`create_estimator` (and so to the pose node).

    ``factory`` is a callable taking the backend's keyword options and returning a
    :class:`PoseEstimator`, or a ``"package.module:attribute"`` string imported on first use.
    """
    if not name or not isinstance(name, str):
        raise ValueError("backend name must be a non-empty string")
    if name in _REGISTRY and not replace:
        raise ValueError(f"pose backend '{name}' is already registered (pass replace=True)")
    _REGISTRY[name] = factory


def available_estimators() -> list[str]:
    """Registered backend names, sorted."""
    return sorted(_REGISTRY)


def create_estimator(backend: str = "mediapipe", **options: Any) -> PoseEstimator:
    """Create a pose estimator by backend name; options go to the backend's constructor.

    Raises ``ValueError`` naming the registered backends when ``backend`` is unknown.
    """
    try:
        factory = _REGISTRY[backend]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown pose backend {backend!r}; available: {', '.join(available_estimators())}"
        ) from None
    if isinstance(factory, str):
        module_name, _, attr = factory.partition(":")
        factory = getattr(importlib.import_module(module_name), attr)
        _REGISTRY[backend] = factory
    return factory(**options)
