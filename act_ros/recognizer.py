"""Per-person action recognition over time: the ROS-free core of the AcT node.

`ActionRecognizer.update` takes one frame of tracked poses (its stamp, track IDs, COCO-17
keypoints in pixels) and returns the actions of every person whose window is ready. It owns:

* one fixed-size ring buffer of poses per track (bounded memory: at most ``max_tracks`` windows of
  ``window_length`` frames, whatever the input);
* time, read from the message stamps only (so ``use_sim_time`` and bag replay work): frames are
  sampled at the model's frame rate, a small step back in time is dropped as out-of-order, a large
  one (a bag that loops, a restarted clock) resets every window, and tracks unseen for
  ``track_timeout_s`` are forgotten;
* batching: every ready person's window is made T frames by
  :func:`act_ros.preprocessing.pad_window` (a short window repeats its earliest frame at the
  front: exactly what training does with short clips) and goes through
  :func:`act_ros.preprocessing.pose_features` and ONE classifier call;
* optional exponential smoothing of each track's class scores.

Nothing is dropped silently: every rejected person or frame increments a counter in ``stats``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Protocol

import numpy as np

from act_ros.layouts import NUM_KEYPOINTS
from act_ros.preprocessing import pad_window, pose_features
from act_ros.reject import check_rule, reject_scores
from act_ros.runtime import softmax

UNKNOWN_LABEL = "unknown"


class Classifier(Protocol):
    """What the recognizer needs from a model (``act_ros.runtime.ActClassifier`` is one)."""

    class_names: tuple[str, ...]
    window_length: int

    temperature: float

    def predict_logits(self, features: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class RecognizerConfig:
    window_length: int = 30
    min_frames: int = 10  # first prediction once a window holds this many frames
    stride: int = 1  # re-run the model for a track every `stride` sampled frames
    frame_rate: float = 0.0  # frames per second the model was trained at; 0 = every frame
    track_timeout_s: float = 2.0  # forget a track unseen for this long (stamp time)
    smoothing: float = 0.0  # EMA weight of the previous scores, 0 = none, < 1
    unknown_threshold: float = 0.0  # below this score of unknown_rule the label is "unknown"
    unknown_rule: str = "max_probability"  # act_ros.reject: how a window's score is read
    max_tracks: int = 64  # windows kept at once; more people are dropped (counted)
    reorder_tolerance_s: float = 0.5  # an older stamp within this is out-of-order, beyond it a jump
    max_coordinate: float = 1.0e5  # |x|, |y| beyond this (pixels) = corrupt keypoint

    def __post_init__(self) -> None:
        if self.window_length < 1:
            raise ValueError("window_length must be >= 1")
        if not 1 <= self.min_frames <= self.window_length:
            raise ValueError(f"min_frames must be in 1..window_length ({self.window_length})")
        if self.stride < 1:
            raise ValueError("stride must be >= 1")
        if not 0.0 <= self.smoothing < 1.0:
            raise ValueError("smoothing must be in [0, 1)")
        if self.max_tracks < 1:
            raise ValueError("max_tracks must be >= 1")
        if self.frame_rate < 0 or self.track_timeout_s <= 0:
            raise ValueError("frame_rate must be >= 0 and track_timeout_s > 0")
        check_rule(self.unknown_rule)


@dataclass
class TrackAction:
    track_id: int
    label_index: int  # -1 = unknown (below unknown_threshold)
    label: str
    confidence: float
    scores: np.ndarray  # (C,) probabilities, sums to 1
    window_frames: int
    fresh: bool  # computed on this frame (False: repeated from the last run, stride)


@dataclass(eq=False)
class _Track:
    track_id: int
    slot: int
    count: int = 0  # frames in the window (<= window_length)
    head: int = 0  # ring position of the next write
    last_stamp_ns: int = -1  # last frame seen (any)
    next_sample_ns: int = -(2**62)  # when the next frame is due in the window (frame_rate)
    since_run: int = 0  # sampled frames since the model last ran for this track
    scores: np.ndarray | None = None
    result: TrackAction | None = None


@dataclass
class RecognizerStats:
    """Counters since start; the AcT node publishes them on /diagnostics."""

    frames: int = 0
    inferences: int = 0
    people_in: int = 0
    counters: Counter = field(default_factory=Counter)

    def count(self, key: str, n: int = 1) -> None:
        if n:
            self.counters[key] += int(n)


class ActionRecognizer:
    def __init__(self, classifier: Classifier, config: RecognizerConfig | None = None) -> None:
        self.classifier = classifier
        self.config = config or RecognizerConfig(window_length=classifier.window_length)
        if self.config.window_length > classifier.window_length:
            raise ValueError(
                f"window_length {self.config.window_length} exceeds the model's "
                f"{classifier.window_length} frames"
            )
        self.class_names = tuple(classifier.class_names)
        cfg = self.config
        self._buffer = np.zeros((cfg.max_tracks, cfg.window_length, NUM_KEYPOINTS, 3), np.float32)
        self._free_slots = list(range(cfg.max_tracks - 1, -1, -1))
        self._tracks: dict[int, _Track] = {}
        self._latest_ns: int | None = None
        self._period_ns = int(1e9 / cfg.frame_rate) if cfg.frame_rate > 0 else 0
        self.stats = RecognizerStats()

    # --- public ---------------------------------------------------------------------------------
    @property
    def num_tracks(self) -> int:
        return len(self._tracks)

    def reset(self) -> None:
        for track in self._tracks.values():
            self._free_slots.append(track.slot)
        self._tracks.clear()
        self._latest_ns = None

    def update(self, stamp_ns: int, track_ids: np.ndarray, keypoints: np.ndarray) -> list[TrackAction]:
        """Add one frame; return the actions of every ready person in it (tracked order).

        track_ids: (N,) ints, 0 = untracked (ignored). keypoints: (N, 17, 3) x, y (pixels),
        confidence (0 = missing).
        """
        stats = self.stats
        ids = np.asarray(track_ids).reshape(-1)
        kp = np.asarray(keypoints, dtype=np.float32)
        if kp.shape != (ids.shape[0], NUM_KEYPOINTS, 3):
            raise ValueError(f"keypoints must be ({ids.shape[0]}, {NUM_KEYPOINTS}, 3), got {kp.shape}")
        stats.frames += 1
        stats.people_in += int(ids.shape[0])

        if not self._accept_stamp(stamp_ns):
            return []
        self._forget_stale(stamp_ns)
        kp = self._sanitize(kp)
        ready: list[_Track] = []
        seen: set[int] = set()
        present: list[_Track] = []
        for person, raw_id in enumerate(ids.tolist()):
            if raw_id <= 0:
                stats.count("untracked_people")
                continue
            if raw_id in seen:
                stats.count("duplicate_track_ids")
                continue
            seen.add(raw_id)
            track = self._tracks.get(raw_id) or self._new_track(raw_id)
            if track is None:
                stats.count("over_capacity_people")
                continue
            present.append(track)
            if stamp_ns == track.last_stamp_ns:
                stats.count("repeated_stamps")
                continue
            track.last_stamp_ns = stamp_ns
            if not self._due(track, stamp_ns):
                continue  # faster than the model's frame rate: keep the window's time scale
            self._push(track, kp[person])
            track.since_run += 1
            if track.count >= self.config.min_frames and (
                track.result is None or track.since_run >= self.config.stride
            ):
                ready.append(track)
        if ready:
            self._run(ready)
        ran = {id(t) for t in ready}
        # New objects each call: a caller may keep them while later frames update the track.
        return [replace(t.result, fresh=id(t) in ran) for t in present if t.result is not None]

    # --- time -----------------------------------------------------------------------------------
    def _accept_stamp(self, stamp_ns: int) -> bool:
        latest = self._latest_ns
        if latest is not None and stamp_ns < latest:
            if latest - stamp_ns <= self.config.reorder_tolerance_s * 1e9:
                self.stats.count("out_of_order_frames")
                return False
            self.stats.count("time_jumps_back")
            self.reset()
        self._latest_ns = stamp_ns
        return True

    def _forget_stale(self, now_ns: int) -> None:
        timeout_ns = self.config.track_timeout_s * 1e9
        stale = [tid for tid, t in self._tracks.items() if now_ns - t.last_stamp_ns > timeout_ns]
        for tid in stale:
            self._free_slots.append(self._tracks.pop(tid).slot)
        self.stats.count("tracks_forgotten", len(stale))

    def _due(self, track: _Track, stamp_ns: int) -> bool:
        """Resample to the model's frame rate: a frame enters the window when it is the first at
        or after the next due time (a quarter period early is fine). Due times advance by whole
        periods, so a 30 fps stream feeds a 12 fps model 12 frames a second on average."""
        period = self._period_ns
        if period == 0:
            return True
        if stamp_ns < track.next_sample_ns - period // 4:
            return False
        if stamp_ns - track.next_sample_ns > period:  # a gap (dropped frames): restart the grid
            track.next_sample_ns = stamp_ns
        track.next_sample_ns += period
        return True

    # --- windows --------------------------------------------------------------------------------
    def _new_track(self, track_id: int) -> _Track | None:
        if not self._free_slots:
            return None
        track = _Track(track_id=track_id, slot=self._free_slots.pop())
        self._tracks[track_id] = track
        return track

    def _sanitize(self, kp: np.ndarray) -> np.ndarray:
        """Corrupt keypoints (NaN/inf, absurd coordinates, confidence outside [0, 1]) become
        missing points; counted per person."""
        bad = ~np.isfinite(kp).all(axis=2)
        bad |= (np.abs(np.nan_to_num(kp[..., :2], nan=0.0)) > self.config.max_coordinate).any(axis=2)
        conf = np.nan_to_num(kp[..., 2], nan=0.0)
        bad |= (conf < 0) | (conf > 1.0 + 1e-3)
        if bad.any():
            self.stats.count("people_with_invalid_keypoints", int(bad.any(axis=1).sum()))
            kp = kp.copy()
            kp[bad] = 0.0
        return kp

    def _push(self, track: _Track, pose: np.ndarray) -> None:
        self._buffer[track.slot, track.head] = pose
        track.head = (track.head + 1) % self.config.window_length
        track.count = min(track.count + 1, self.config.window_length)

    def _window(self, track: _Track) -> np.ndarray:
        """The track's window as the model sees it: its frames in time order, padded to T the
        way training pads short clips (whatever the other people's windows)."""
        T = self.config.window_length
        order = (track.head - track.count + np.arange(track.count)) % T
        return pad_window(self._buffer[track.slot, order], T)

    # --- inference ------------------------------------------------------------------------------
    def _run(self, ready: list[_Track]) -> None:
        windows = np.stack([self._window(t) for t in ready])
        logits = self.classifier.predict_logits(pose_features(windows)) / self.classifier.temperature
        probs = softmax(logits)
        rule = self.config.unknown_rule
        # max_logit reads each window's own logits (what calibration tuned); max_probability the
        # published confidence, smoothed or not.
        logit_scores = reject_scores(rule, logits) if rule == "max_logit" else None
        self.stats.inferences += 1
        alpha = self.config.smoothing
        for i, (track, p) in enumerate(zip(ready, probs)):
            if alpha > 0 and track.scores is not None:
                p = alpha * track.scores + (1 - alpha) * p
            track.scores = p
            track.since_run = 0
            best = int(np.argmax(p))
            confidence = float(p[best])
            score = confidence if logit_scores is None else float(logit_scores[i])
            if score < self.config.unknown_threshold:
                label_index, label = -1, UNKNOWN_LABEL
            else:
                label_index, label = best, self.class_names[best]
            track.result = TrackAction(
                track.track_id, label_index, label, confidence, p.astype(np.float32), track.count, True
            )
