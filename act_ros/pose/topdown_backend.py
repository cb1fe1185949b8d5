"""Top-down multi-person pose: person detector boxes -> BlazePose landmarks on each person's crop.

MediaPipe's PoseLandmarker finds people with a face-keyed detector, so it misses people seen
from behind, far away or in groups. This backend finds them with a general person detector
(SSD-MobileNetV2, Open Images v4: :mod:`act_ros.pose.person_detector`) and runs the same BlazePose
landmark model MediaPipe uses on each person's crop (:mod:`act_ros.pose.blazepose_landmarks`),
both with the TFLite runtime (ai-edge-litert, XNNPACK). The landmark model's pose-presence
probability rejects detector boxes that hold no person (a bag, a tripod).

Between detections each person's crop comes from their own landmarks of the previous frame, as
MediaPipe's tracking does, so most frames cost only the landmark model per person: the detector
runs on the first frame, every ``detection_interval`` frames, whenever nobody is tracked, and on
the frame after a tracked person was lost (presence below the threshold). On a detection frame,
boxes that overlap a tracked person (IoU > ``track_iou``) or lie inside one (more than
``TRACK_CONTAINMENT`` of their area) are not cropped again: the tracked crop is better aligned. Time going backwards (a bag loop) drops the tracked crops.

People: at most ``num_poses`` per image (tracked people first, then new boxes by detector
score); up to ``2 * num_poses`` new boxes are tried per detection so that false boxes do not take
the places of real people. Poses whose boxes overlap by more than ``duplicate_iou`` are merged
(two crops that converged on one person), the better one kept.

Output as every backend (:class:`~act_ros.pose.base.PoseDetections`): COCO-17 keypoints in
full-image pixels with confidence = visibility x presence (MediaPipe's 33 -> COCO-17 map), box =
the extent of the 33 landmarks inside the image, score = the mean COCO-17 confidence, as in the
MediaPipe backend. Landmarks are not smoothed over time.

Limits (measured, see ``docs/`` and ``benchmarks/pose_recall.py``): the detector is trained on
upright people; a person lying on the floor scores ~0.15 (below the default threshold) and an
upright crop of them gives a wrong pose. A person the detector does not box (the backlit man in
frames 100-180 of the bundled clip) is found only while a crop from an earlier frame follows
them, as in MediaPipe.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from act_ros.pose.base import PoseDetections, check_image
from act_ros.pose.blazepose_landmarks import (
    NUM_BODY_LANDMARKS,
    BlazePoseLandmarker,
    Roi,
    roi_from_box,
    roi_from_landmarks,
)
from act_ros.pose.boxes import box_iou, duplicate_mask, inside_fraction
from act_ros.pose.mediapipe_backend import MEDIAPIPE33_TO_COCO17, landmarks_to_coco17
from act_ros.pose.person_detector import SsdPersonDetector
from act_ros.pose.variants import DEFAULT_VARIANT, check_variant

log = logging.getLogger(__name__)

# Pose-presence a detector box needs to become a person, per landmark model (tracked people keep
# ``min_presence_confidence``). Measured on the 488 detector boxes (score >= 0.2) of the 45
# hand-labelled frames (act_ros/data/multi_person_labels.json): at detector score >= 0.3, lite
# accepts 155 people and 20 non-people (signs, a rock, the tripod) at 0.5 but 146 and 2 at 0.9;
# full accepts 155 and 3 at 0.5. A person lite rejects once is usually taken a few frames later.
ACQUIRE_PRESENCE = {"lite": 0.9, "full": 0.5, "heavy": 0.5}
# A new detector box lying this much inside a tracked person's box is that person. On the
# benchmark's 10-person frames 7 of the 15 boxes overlapped their person with IoU < 0.5 (boxes of
# a torso or of legs, 0.55-1.0 of them inside the person), each costing a landmark call.
TRACK_CONTAINMENT = 0.85


@dataclass
class _Track:
    roi: Roi
    box: np.ndarray  # last pose's landmark box, pixels


def _check_unit(name: str, value: float, low_open: bool = False) -> float:
    value = float(value)
    if not (0.0 < value <= 1.0 if low_open else 0.0 <= value <= 1.0):
        raise ValueError(f"{name} must be in {'(0' if low_open else '[0'}, 1], got {value!r}")
    return value


class TopDownPoseEstimator:
    """Person detector + BlazePose landmarks per person, as a :class:`~act_ros.pose.base.PoseEstimator`.

    Args:
        variant: landmark model, ``lite`` (fastest, the default), ``full`` or ``heavy``.
        num_poses: most people per image.
        num_threads: TFLite threads of both models (None = 1).
        min_detection_confidence: person detector score threshold.
        min_presence_confidence: landmark model pose-presence threshold (rejects false boxes and
            ends tracks).
        detection_interval: run the detector at least every this many frames (1 = every frame).
        crop_margin: side of the first crop of a person = the detector box's longer side x this.
        min_pose_score: a pose whose mean COCO-17 confidence over its points inside the image is
            below this is dropped (and its track ends): on the labelled frames every person
            scored >= 0.63, while crops that had drifted onto a tripod or a sign scored 0.2-0.6.
        track_iou: a detector box overlapping a tracked person more than this is that person.
        model_path: a landmark .tflite of your own (default: the cached model of ``variant``).
        detector_path, labelmap_path: a detector .tflite and its label map of your own (default:
            the cached files, see :mod:`act_ros.pose.topdown_models`).
    """

    def __init__(
        self,
        variant: str = DEFAULT_VARIANT["topdown"],
        num_poses: int = 10,
        num_threads: int | None = None,
        min_detection_confidence: float = 0.25,
        min_presence_confidence: float = 0.5,
        detection_interval: int = 5,
        crop_margin: float = 1.25,
        min_keypoint_confidence: float = 0.1,
        min_pose_score: float = 0.5,
        duplicate_iou: float = 0.6,
        track_iou: float = 0.5,
        model_path: str | Path | None = None,
        detector_path: str | Path | None = None,
        labelmap_path: str | Path | None = None,
        cache_dir: str | Path | None = None,
    ) -> None:
        check_variant("topdown", variant)
        for name, value in (("num_poses", num_poses), ("detection_interval", detection_interval)):
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
        if num_threads is not None and (not isinstance(num_threads, (int, np.integer)) or num_threads < 1):
            raise ValueError(f"num_threads must be None or an integer >= 1, got {num_threads!r}")
        if not 1.0 <= float(crop_margin) <= 3.0:
            raise ValueError(f"crop_margin must be in [1, 3], got {crop_margin!r}")
        self.min_detection_confidence = _check_unit(
            "min_detection_confidence", min_detection_confidence, low_open=True
        )
        if self.min_detection_confidence >= 1.0:
            raise ValueError("min_detection_confidence must be below 1")
        self.min_presence_confidence = _check_unit("min_presence_confidence", min_presence_confidence)
        self.acquire_presence = max(self.min_presence_confidence, ACQUIRE_PRESENCE.get(variant, 0.5))
        self.min_keypoint_confidence = _check_unit("min_keypoint_confidence", min_keypoint_confidence)
        self.min_pose_score = _check_unit("min_pose_score", min_pose_score)
        self.duplicate_iou = _check_unit("duplicate_iou", duplicate_iou)
        self.track_iou = _check_unit("track_iou", track_iou)
        self.variant = variant
        self.num_poses = int(num_poses)
        self.num_threads = int(num_threads or 1)
        self.detection_interval = int(detection_interval)
        self.crop_margin = float(crop_margin)

        custom_model = model_path is not None
        cache = Path(cache_dir) if cache_dir is not None else None
        if detector_path is None or labelmap_path is None:
            from act_ros.pose.topdown_models import detector_files

            cached_model, cached_labels = detector_files(cache)
            detector_path = detector_path or cached_model
            labelmap_path = labelmap_path or cached_labels
        if model_path is None:
            from act_ros.pose.topdown_models import landmark_model_path

            model_path = landmark_model_path(variant, cache)
        self.detector = SsdPersonDetector(
            detector_path,
            labelmap_path,
            num_threads=self.num_threads,
            score_threshold=self.min_detection_confidence,
        )
        self.landmarker = BlazePoseLandmarker(model_path, num_threads=self.num_threads)
        self.name = f"topdown:{Path(model_path).name}" if custom_model else f"topdown-{variant}"
        self.model_path = str(model_path)
        self.detector_path = str(detector_path)

        self._lock = threading.Lock()
        self._tracks: list[_Track] = []
        self._since_detection = 0
        self._lost = False
        self._last_ns: int | None = None
        self._closed = False
        # Counters (for benchmarks and diagnostics).
        self.frames = 0
        self.detector_runs = 0
        self.crops = 0
        self.resets = 0

    # -- lifecycle ---------------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget the tracked crops (the next frame runs the detector)."""
        with self._lock:
            self._tracks = []
            self._lost = False

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self.detector.close()
                self.landmarker.close()
                self._closed = True

    def __enter__(self) -> TopDownPoseEstimator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- estimation --------------------------------------------------------------------------------
    def estimate(self, image_rgb: np.ndarray, timestamp_ns: int) -> PoseDetections:
        image = check_image(image_rgb)
        timestamp_ns = int(timestamp_ns)
        with self._lock:
            if self._closed:
                raise RuntimeError(f"{self.name}: estimate() after close()")
            if self._last_ns is not None and timestamp_ns < self._last_ns:
                self.resets += 1
                log.info(
                    "input time went backwards by %.3f s: dropping %d tracked people",
                    (self._last_ns - timestamp_ns) * 1e-9,
                    len(self._tracks),
                )
                self._tracks = []
            self._last_ns = timestamp_ns
            self.frames += 1
            return self._people(image)

    def _people(self, image: np.ndarray) -> PoseDetections:
        """This frame's people; updates the tracked crops."""
        self._since_detection += 1
        tracked = self._tracks[: self.num_poses]
        rois = [t.roi for t in tracked]
        is_track = [True] * len(rois)
        if not tracked or self._lost or self._since_detection >= self.detection_interval:
            self._since_detection = 0
            self.detector_runs += 1
            boxes, _ = self.detector.detect(image)
            if tracked and len(boxes):
                track_boxes = np.stack([t.box for t in tracked])
                overlap = box_iou(np.concatenate([boxes, track_boxes]))[: len(boxes), len(boxes) :]
                # A box lying inside a tracked person is a part of them (the detector also boxes
                # torsos and legs): a crop of it costs a landmark call to find them again.
                inside = np.maximum(
                    inside_fraction(boxes, track_boxes), inside_fraction(track_boxes, boxes).T
                )
                known = ((overlap > self.track_iou) | (inside > TRACK_CONTAINMENT)).any(axis=1)
                boxes = boxes[~known]
            room = 2 * self.num_poses - len(rois)
            rois += [roi_from_box(b, self.crop_margin) for b in boxes[: max(0, room)]]
            is_track += [False] * (len(rois) - len(is_track))

        self._lost = False
        people, rank, was_tracked = [], [], []
        for roi, tracked_roi in zip(rois, is_track):
            self.crops += 1
            result = self.landmarker.run(image, roi)
            if result.presence < (self.min_presence_confidence if tracked_roi else self.acquire_presence):
                self._lost |= tracked_roi
                continue
            people.append(result.landmarks)
            was_tracked.append(tracked_roi)
            # Tracked people rank before new boxes; presence orders each group.
            rank.append(result.presence + (1.0 if tracked_roi else 0.0))
        self._tracks = []
        if not people:
            return PoseDetections.empty()
        order = np.argsort(-np.asarray(rank), kind="stable")
        landmarks, was_tracked = np.stack(people)[order], np.asarray(was_tracked)[order]
        height, width = image.shape[:2]
        norm = landmarks[:, :NUM_BODY_LANDMARKS].copy()
        norm[:, :, 0] /= width
        norm[:, :, 1] /= height
        keypoints, boxes, scores = landmarks_to_coco17(norm, width, height, self.min_keypoint_confidence)
        # A crop that drifted onto an object keeps a presence but loses its keypoints. Only the
        # points inside the image count: a person cut by the border is not less plausible.
        plausible = self._in_view_score(landmarks, width, height) >= self.min_pose_score
        self._lost |= bool((~plausible & was_tracked).any())
        landmarks, keypoints, boxes, scores = (a[plausible] for a in (landmarks, keypoints, boxes, scores))
        crop_boxes = self._landmark_boxes(landmarks, width, height)
        keep = duplicate_mask(
            crop_boxes, np.arange(len(landmarks), 0, -1, dtype=np.float32), self.duplicate_iou
        )
        keep[np.flatnonzero(keep)[self.num_poses :]] = False
        self._tracks = [
            _Track(roi_from_landmarks(lm), box) for lm, box in zip(landmarks[keep], crop_boxes[keep])
        ]
        return PoseDetections(keypoints=keypoints[keep], boxes=boxes[keep], scores=scores[keep])

    @staticmethod
    def _in_view_score(landmarks: np.ndarray, width: int, height: int) -> np.ndarray:
        """Mean visibility x presence of each person's COCO-17 points inside the image."""
        lm = landmarks[:, list(MEDIAPIPE33_TO_COCO17)]
        inside = (lm[:, :, 0] >= 0) & (lm[:, :, 0] < width) & (lm[:, :, 1] >= 0) & (lm[:, :, 1] < height)
        conf = np.clip(lm[:, :, 2], 0, 1) * np.clip(lm[:, :, 3], 0, 1)
        count = inside.sum(axis=1)
        return np.where(count > 0, (conf * inside).sum(axis=1) / np.maximum(count, 1), 0.0)

    def _landmark_boxes(self, landmarks: np.ndarray, width: int, height: int) -> np.ndarray:
        """Boxes of the body landmarks (any confidence), clipped to the image."""
        xy = landmarks[:, :NUM_BODY_LANDMARKS, :2]
        boxes = np.concatenate([xy.min(axis=1), xy.max(axis=1)], axis=1)
        return np.clip(boxes, 0, [width, height, width, height]).astype(np.float32)
