"""Multi-person 2D pose with MediaPipe's PoseLandmarker (Tasks API, VIDEO mode) -> COCO-17.

The Tasks API runs a BlazePose detector, then the landmark model on each person's region; in
VIDEO mode it follows people from frame to frame (re-detecting when tracking is lost) and
smooths the landmarks over time. Model bundles come from :mod:`act_ros.pose.model_bundles`
(built offline from the npm files) unless ``model_path`` names another ``.task`` file.

What to expect: the BlazePose detector keys on faces. It is strongest for one or a few people
near the camera facing it (a robot's usual view); people seen from behind, small or far away
are often missed (on the opencv-doc ``basketball1.png`` the default thresholds find the player
facing the camera but not the one in profile, which a detection threshold of 0.2 also finds;
on ``vtest.avi``'s pedestrians it finds one person in about one frame of eight). In VIDEO mode
the detector only *acquires* people: once found, a person is followed by the landmark model
from frame to frame, which holds on to people the detector alone would miss. On the demo clip
the man standing against the sun is found when the clip starts at frame 0 and kept throughout,
but not found at all when the same frames are fed from frame 60 on: results depend on history.
MediaPipe also sometimes returns one person twice in VIDEO mode; poses whose boxes overlap by
more than ``duplicate_iou`` are merged (the best-scored one is kept).

Timestamps: VIDEO mode needs strictly increasing millisecond timestamps. Input stamps may
repeat or go backwards (bag loops), so this class derives its own: the first frame is 0 and
each next one advances by the input's elapsed milliseconds, at least 1. When the input time goes
backwards the PoseLandmarker is re-created (its tracking and smoothing state belong to the old
timeline); ``resets`` counts that.

Threads: mediapipe 1.2.2's Tasks API has no thread setting; on Linux its XNNPACK inference runs
on one thread (measured: process CPU time equals wall time). ``num_threads`` is accepted so the
pose node keeps one parameter for every backend; a value above 1 is logged and has no effect.
"""

from __future__ import annotations

import logging
import sys
import threading
import weakref
from pathlib import Path
from typing import Any

import numpy as np

from act_ros.layouts import MEDIAPIPE33, coco17_index
from act_ros.pose.base import PoseDetections, check_image
from act_ros.pose.boxes import duplicate_mask
from act_ros.pose.variants import check_variant

log = logging.getLogger(__name__)

# MediaPipe's 33 BlazePose landmarks -> COCO-17 (its eye centres stand for the COCO eyes).
MEDIAPIPE33_TO_COCO17: tuple[int, ...] = coco17_index(MEDIAPIPE33)


def _import_mediapipe() -> tuple[Any, Any, Any]:
    """(mediapipe, vision, BaseOptions) without letting mediapipe import TensorFlow.

    mediapipe's optional-dependency probe imports TensorFlow when it is installed (the training
    extra): seconds of start-up and hundreds of MB for nothing in a pose node.
    """
    blocked = "tensorflow" not in sys.modules
    if blocked:
        sys.modules["tensorflow"] = None  # type: ignore[assignment]  # -> ImportError inside mediapipe
    try:
        import mediapipe as mp
        from mediapipe.tasks.python import BaseOptions, vision
    finally:
        if blocked:
            del sys.modules["tensorflow"]
    return mp, vision, BaseOptions


def landmarks_to_coco17(
    landmarks: np.ndarray, width: int, height: int, min_keypoint_confidence: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """COCO-17 keypoints, boxes and scores from MediaPipe landmarks.

    ``landmarks``: (N, 33, 4) normalised ``x, y, visibility, presence``. Confidence is
    visibility x presence; a point outside the image, not finite, or below
    ``min_keypoint_confidence`` gets confidence 0 and x = y = 0 (the message convention).
    Boxes enclose all 33 landmarks that pass the same test (so they include heels, feet and
    hands), clipped to the image; the person score is the mean COCO-17 confidence.
    """
    lm = np.asarray(landmarks, dtype=np.float32).reshape(-1, 33, 4)
    n = lm.shape[0]
    xy = lm[:, :, :2] * np.array([width, height], dtype=np.float32)
    conf = np.clip(lm[:, :, 2], 0.0, 1.0) * np.clip(lm[:, :, 3], 0.0, 1.0)
    finite = np.isfinite(xy).all(axis=2) & np.isfinite(conf)
    inside = (xy[:, :, 0] >= 0) & (xy[:, :, 0] < width) & (xy[:, :, 1] >= 0) & (xy[:, :, 1] < height)
    valid = finite & inside & (conf >= min_keypoint_confidence) & (conf > 0)
    conf = np.where(valid, conf, 0.0).astype(np.float32)
    xy = np.where(valid[:, :, None], xy, 0.0).astype(np.float32)

    keypoints = np.concatenate([xy, conf[:, :, None]], axis=2)[:, MEDIAPIPE33_TO_COCO17, :]
    boxes = np.zeros((n, 4), dtype=np.float32)
    for i in range(n):
        pts = xy[i][valid[i]]
        if len(pts):
            boxes[i, :2] = pts.min(axis=0)
            boxes[i, 2:] = pts.max(axis=0)
    scores = keypoints[:, :, 2].mean(axis=1).astype(np.float32) if n else np.zeros((0,), np.float32)
    return np.ascontiguousarray(keypoints), boxes, scores


def _close_quietly(landmarker: Any) -> None:
    try:
        landmarker.close()
    except (RuntimeError, TypeError):
        # At interpreter exit mediapipe's call executor is already shut down; the process frees
        # the graph anyway. Drop the handle so mediapipe's __del__ does not try again and print.
        if hasattr(landmarker, "_handle"):
            landmarker._handle = None


class MediaPipePoseEstimator:
    """MediaPipe PoseLandmarker (VIDEO mode) as a :class:`~act_ros.pose.base.PoseEstimator`."""

    def __init__(
        self,
        variant: str = "full",
        num_poses: int = 5,
        num_threads: int | None = None,
        min_detection_confidence: float = 0.5,
        min_presence_confidence: float = 0.5,
        min_tracking_confidence: float = 0.5,
        model_path: str | None = None,
        min_keypoint_confidence: float = 0.1,
        duplicate_iou: float = 0.6,
    ) -> None:
        check_variant("mediapipe", variant)
        if not isinstance(num_poses, (int, np.integer)) or num_poses < 1:
            raise ValueError(f"num_poses must be an integer >= 1, got {num_poses!r}")
        if num_threads is not None and (not isinstance(num_threads, (int, np.integer)) or num_threads < 1):
            raise ValueError(f"num_threads must be None or an integer >= 1, got {num_threads!r}")
        for name, value in (
            ("min_detection_confidence", min_detection_confidence),
            ("min_presence_confidence", min_presence_confidence),
            ("min_tracking_confidence", min_tracking_confidence),
            ("min_keypoint_confidence", min_keypoint_confidence),
            ("duplicate_iou", duplicate_iou),
        ):
            if not 0.0 <= float(value) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {value!r}")
        if num_threads is not None and num_threads > 1:
            log.warning(
                "mediapipe's Tasks API has no thread setting: num_threads=%d has no effect "
                "(inference runs on one XNNPACK thread)",
                num_threads,
            )

        if model_path is None:
            from act_ros.pose.model_bundles import bundle_path

            path = bundle_path(variant)
        else:
            path = Path(model_path).expanduser()
            if not path.is_file():
                raise FileNotFoundError(f"MediaPipe pose model bundle not found: {path}")

        self.name = f"mediapipe-{variant}" if model_path is None else f"mediapipe:{path.name}"
        self.variant = variant
        self.model_path = str(path)
        self.num_poses = int(num_poses)
        self.num_threads = 1  # what actually runs (see the module docstring)
        self.min_keypoint_confidence = float(min_keypoint_confidence)
        self.duplicate_iou = float(duplicate_iou)  # 1.0 keeps every pose MediaPipe returns
        self.resets = 0  # landmarker re-creations because input time went backwards

        self._mp, vision, base_options = _import_mediapipe()
        self._options = vision.PoseLandmarkerOptions(
            base_options=base_options(model_asset_path=self.model_path),
            running_mode=vision.RunningMode.VIDEO,
            num_poses=self.num_poses,
            min_pose_detection_confidence=float(min_detection_confidence),
            min_pose_presence_confidence=float(min_presence_confidence),
            min_tracking_confidence=float(min_tracking_confidence),
            output_segmentation_masks=False,
        )
        self._vision = vision
        self._lock = threading.Lock()
        self._landmarker: Any = None
        self._finalizer: weakref.finalize | None = None
        self._last_input_ns: int | None = None
        self._last_mp_ms = -1
        self._open()

    # -- lifecycle ---------------------------------------------------------------------------------
    def _open(self) -> None:
        try:
            landmarker = self._vision.PoseLandmarker.create_from_options(self._options)
        except Exception as exc:  # noqa: BLE001 - mediapipe raises bare RuntimeError/ValueError
            raise RuntimeError(
                f"MediaPipe cannot load the pose model bundle {self.model_path}: {exc}"
            ) from exc
        self._landmarker = landmarker
        # Also closed at interpreter exit, before module teardown (mediapipe's own __del__ then
        # fails with a traceback on stderr).
        self._finalizer = weakref.finalize(self, _close_quietly, landmarker)
        self._last_input_ns = None
        self._last_mp_ms = -1

    def _close_landmarker(self) -> None:
        if self._finalizer is not None:
            self._finalizer()  # calls landmarker.close() once
            self._finalizer = None
        self._landmarker = None

    def reset(self) -> None:
        """Forget the tracking state (re-creates the PoseLandmarker)."""
        with self._lock:
            self._close_landmarker()
            self._open()

    def close(self) -> None:
        with self._lock:
            self._close_landmarker()

    def __enter__(self) -> MediaPipePoseEstimator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- estimation ------------------------------------------------------------------------------
    def _video_timestamp_ms(self, timestamp_ns: int) -> int:
        if self._last_input_ns is None:
            mp_ms = 0
        else:
            if timestamp_ns < self._last_input_ns:
                self.resets += 1
                log.info(
                    "input time went backwards by %.3f s: resetting MediaPipe tracking",
                    (self._last_input_ns - timestamp_ns) * 1e-9,
                )
                self._close_landmarker()
                self._open()
                mp_ms = 0
            else:
                mp_ms = self._last_mp_ms + max(1, (timestamp_ns - self._last_input_ns) // 1_000_000)
        self._last_input_ns = timestamp_ns
        self._last_mp_ms = mp_ms
        return mp_ms

    def estimate(self, image_rgb: np.ndarray, timestamp_ns: int) -> PoseDetections:
        image = check_image(image_rgb)
        timestamp_ns = int(timestamp_ns)
        with self._lock:
            if self._landmarker is None:
                raise RuntimeError(f"{self.name}: estimate() after close()")
            mp_ms = self._video_timestamp_ms(timestamp_ns)
            mp_image = self._mp.Image(image_format=self._mp.ImageFormat.SRGB, data=image)
            result = self._landmarker.detect_for_video(mp_image, mp_ms)
        people = result.pose_landmarks
        if not people:
            return PoseDetections.empty()
        landmarks = np.array(
            [
                [
                    (
                        p.x,
                        p.y,
                        p.visibility if p.visibility is not None else 0.0,
                        p.presence if p.presence is not None else 0.0,
                    )
                    for p in person
                ]
                for person in people
            ],
            dtype=np.float32,
        )
        keypoints, boxes, scores = landmarks_to_coco17(
            landmarks, image.shape[1], image.shape[0], self.min_keypoint_confidence
        )
        keep = duplicate_mask(boxes, scores, self.duplicate_iou)
        if not keep.all():
            keypoints, boxes, scores = keypoints[keep], boxes[keep], scores[keep]
        return PoseDetections(keypoints=keypoints, boxes=boxes, scores=scores)
