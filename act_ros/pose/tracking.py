"""Stable track IDs for the people of successive frames (keypoint tracking with norfair).

Library choice: ``norfair-enough`` (PyPI, BSD-3), the maintained fork of Tryolabs' norfair.
Norfair tracks sets of *points* with per-point scores, so a person is tracked through the
keypoints the estimator found this frame while the missing ones are simply not updated (made
for pose estimators); a Kalman filter per point predicts where a person is during short
occlusions, new tracks need a few hits before they get an ID, and IDs come from a counter.
Pure Python on numpy + scipy: light on a robot, no torch, numpy 1.26 and 2.x both work.
The alternatives: the original ``norfair`` 2.3.0 caps ``numpy<2`` and ``rich<15`` and needs the
unmaintained ``filterpy``; Roboflow's ``trackers`` (SORT/ByteTrack) tracks boxes only and pulls
``supervision`` plus the non-headless ``opencv-python`` (two cv2 builds in one environment);
``boxmot`` needs torch; ``motpy`` has had no release since 2021.

What this module adds around norfair:

* the person's box tracked with the keypoints: its two corners are two more points (when the box
  is valid), so people with few confident keypoints (far away, seen from behind) still match,
  and the box's size is the person's size;
* a scale-aware distance: the mean distance between the points a detection and a track both
  have, divided by the person's size (square root of the box area, or of the keypoints' extent
  without a box), so the same threshold works for people near and far and at any resolution;
* time instead of frames: norfair counts ``update`` calls, but a pose node drops frames while
  busy, so elapsed time is converted into ticks of ``tick_s`` (norfair is stepped once per
  tick), making ``max_age_s`` and ``init_delay_s`` seconds whatever the processed frame rate;
* IDs >= 1 from a counter that never goes back, also across :meth:`PoseTracker.reset`, so an
  ID is never reused (until the uint32 wraps after 4 billion tracks);
* time going backwards (a bag loop, a restarted source) resets the tracks: predictions made on
  the old timeline mean nothing on the new one. The IDs after a reset are new ones.

A detection of this frame gets the ID of the track it updated, or 0 while its track is still
young (shorter than ``init_delay_s``) or when it has neither a valid box nor a keypoint above
``keypoint_threshold``.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

import numpy as np

from act_ros.pose.base import PoseDetections

log = logging.getLogger(__name__)

_MIN_SCALE_PX = 8.0  # a person smaller than this is measured as if it were this big
_MAX_COORD = 1e6  # pixels; beyond this (or NaN) a keypoint is garbage, not a position


def _norfair():  # imported on first use: the module imports scipy.stats (~0.5 s)
    import norfair
    from norfair.distances import Distance

    return norfair, Distance


def _make_distance(keypoint_threshold: float):
    _, Distance = _norfair()

    class ScaledKeypointDistance(Distance):
        """Mean distance over shared keypoints / person size; inf when they share none."""

        def get_distances(self, objects: Sequence, candidates: Sequence | None) -> np.ndarray:
            n_c, n_o = len(candidates or ()), len(objects)
            if n_c == 0 or n_o == 0:
                return np.full((n_c, n_o), np.inf)
            points = np.stack([c.points for c in candidates])  # (C, K, 2)
            seen = np.stack([c.scores > keypoint_threshold for c in candidates])  # (C, K)
            scale = np.array([c.data["scale"] for c in candidates], dtype=np.float64)  # (C,)
            estimates = np.stack([o.estimate for o in objects])  # (O, K, 2)
            known = np.stack([o.detected_at_least_once_points for o in objects])  # (O, K)
            both = seen[:, None, :] & known[None, :, :]
            dist = np.linalg.norm(points[:, None] - estimates[None], axis=-1)  # (C, O, K)
            count = both.sum(axis=-1)
            total = np.where(both, dist, 0.0).sum(axis=-1)
            with np.errstate(divide="ignore", invalid="ignore"):
                mean = np.where(count > 0, total / np.maximum(count, 1), np.inf)
            out = mean / scale[:, None]
            return np.where(np.isnan(out), np.inf, out)  # norfair refuses NaN distances

    return ScaledKeypointDistance()


def _tracked_points(
    detections: PoseDetections, keypoint_threshold: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per person: (K+2, 2) points (keypoints, then the box corners), their scores (0 = not
    seen) and whether the box is valid (finite, sane, with an area)."""
    kp = detections.keypoints.astype(np.float64)
    boxes = detections.boxes.astype(np.float64)
    with np.errstate(invalid="ignore"):
        # NaN or absurd coordinates are garbage, not positions: such points count as missing.
        sane = (np.abs(kp[:, :, :2]) < _MAX_COORD).all(axis=2)
        seen = sane & (kp[:, :, 2] > keypoint_threshold)
        box_ok = (
            (np.abs(boxes) < _MAX_COORD).all(axis=1)
            & (boxes[:, 2] > boxes[:, 0])
            & (boxes[:, 3] > boxes[:, 1])
        )
    points = np.concatenate([kp[:, :, :2], boxes.reshape(-1, 2, 2)], axis=1)
    scores = np.concatenate(
        [np.where(seen, kp[:, :, 2], 0.0), np.repeat(box_ok[:, None].astype(np.float64), 2, axis=1)], axis=1
    )
    points = np.where(scores[:, :, None] > 0, points, 0.0)
    return points, scores, box_ok


class PoseTracker:
    """Assigns stable track IDs to :class:`PoseDetections` frame after frame.

    Args:
        max_age_s: how long a track survives without a matching detection (occlusion); at
            least one tick.
        init_delay_s: how long a new person must keep being detected before getting an ID
            (filters one-frame false detections); 0 = an ID from the first frame. Capped below
            ``max_age_s``.
        distance_threshold: largest matching distance, as a fraction of the person's size.
        keypoint_threshold: keypoints with confidence at or below this are ignored.
        tick_s: the time step norfair is advanced by (at least one step per frame, so frames
            faster than this age tracks faster than real time).
    """

    def __init__(
        self,
        max_age_s: float = 1.0,
        init_delay_s: float = 0.1,
        distance_threshold: float = 0.5,
        keypoint_threshold: float = 0.1,
        tick_s: float = 1.0 / 30.0,
    ) -> None:
        for name, value in (("tick_s", tick_s), ("distance_threshold", distance_threshold)):
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive number, got {value!r}")
        for name, value in (("max_age_s", max_age_s), ("init_delay_s", init_delay_s)):
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be a number >= 0, got {value!r}")
        if not 0 <= keypoint_threshold < 1:
            raise ValueError(f"keypoint_threshold must be in [0, 1), got {keypoint_threshold!r}")
        self.max_age_s = float(max_age_s)
        self.init_delay_s = float(init_delay_s)
        self.distance_threshold = float(distance_threshold)
        self.keypoint_threshold = float(keypoint_threshold)
        self.tick_s = float(tick_s)
        self._hit_counter_max = max(1, math.ceil(self.max_age_s / self.tick_s))
        self._init_delay_ticks = min(self._hit_counter_max - 1, round(self.init_delay_s / self.tick_s))
        self.resets = 0  # times the tracks were dropped because time went backwards
        self._id_offset = 0  # IDs issued by earlier norfair trackers (see reset)
        self._tracker = None
        self._last_ns: int | None = None
        self._frame = 0
        self._new_tracker()

    def _new_tracker(self) -> None:
        norfair, _ = _norfair()
        if self._tracker is not None:
            self._id_offset += self._tracker.total_object_count
        self._tracker = norfair.Tracker(
            distance_function="euclidean",  # replaced below; the constructor wants a name
            distance_threshold=self.distance_threshold,
            hit_counter_max=self._hit_counter_max,
            initialization_delay=self._init_delay_ticks,
            detection_threshold=self.keypoint_threshold,
            past_detections_length=0,
        )
        # Tracker.update calls distance_function.get_distances(objects, candidates); the
        # constructor only builds it from a name or a (slow, per-pair) scalar callable.
        self._tracker.distance_function = _make_distance(self.keypoint_threshold)
        self._last_ns = None

    def reset(self) -> None:
        """Drop every track (the next IDs continue from the last one issued)."""
        self._new_tracker()
        self.resets += 1

    @property
    def active_track_ids(self) -> list[int]:
        """IDs of the tracks alive now (including those not seen in the last frame)."""
        return sorted(self._id_offset + o.id for o in self._tracker.get_active_objects())

    def _ticks(self, timestamp_ns: int) -> int:
        if self._last_ns is None:
            return 1
        elapsed_s = (timestamp_ns - self._last_ns) * 1e-9
        # Bounded: after hit_counter_max + 1 ticks every unmatched track is gone anyway.
        return int(min(self._hit_counter_max + 1, max(1, round(elapsed_s / self.tick_s))))

    def update(self, detections: PoseDetections, timestamp_ns: int) -> PoseDetections:
        """The same people with ``track_ids`` filled (0 = no ID yet)."""
        norfair, _ = _norfair()
        timestamp_ns = int(timestamp_ns)
        if self._last_ns is not None and timestamp_ns < self._last_ns:
            log.info(
                "time went backwards by %.3f s: dropping %d tracks",
                (self._last_ns - timestamp_ns) * 1e-9,
                len(self._tracker.tracked_objects),
            )
            self.reset()
        ticks = self._ticks(timestamp_ns)
        self._last_ns = timestamp_ns
        self._frame += 1

        candidates = []
        points_all, scores_all, box_ok = _tracked_points(detections, self.keypoint_threshold)
        for i in range(len(detections)):
            seen = scores_all[i] > 0
            if not seen.any():
                continue  # nothing to track this person by: no ID
            if box_ok[i]:
                extent = detections.boxes[i, 2:].astype(np.float64) - detections.boxes[i, :2]
            else:
                pts = points_all[i, seen]
                extent = pts.max(axis=0) - pts.min(axis=0)
            scale = max(_MIN_SCALE_PX, float(np.sqrt(max(extent[0], 1.0) * max(extent[1], 1.0))))
            candidates.append(
                norfair.Detection(
                    points=points_all[i],
                    scores=scores_all[i],
                    data={"frame": self._frame, "index": i, "scale": scale},
                )
            )

        for _ in range(ticks - 1):  # the time that passed since the last frame
            self._tracker.update(None)
        self._tracker.update(candidates or None, period=ticks)

        ids = np.zeros(len(detections), dtype=np.uint32)
        for obj in self._tracker.get_active_objects():
            last = obj.last_detection
            if last.age == obj.age and last.data["frame"] == self._frame:  # matched this frame
                ids[last.data["index"]] = self._id_offset + obj.id
        return detections.with_track_ids(ids)
