"""Track IDs on the real demo clip (MediaPipe full on every frame, then the tracker).

The clip: a man stands and jumps on a box on the left (frames ~5-171, then he jumps down and
is out of sight until ~198); a woman walks in from the right at frame ~59 and leaves on the left
at ~201. Frames 61-137 show both well.
"""

from __future__ import annotations

import numpy as np
import pytest

from pose_fixtures import demo_detections, frame_stamp_ns  # noqa: F401

from act_ros.pose import PoseDetections
from act_ros.pose.tracking import PoseTracker

pytestmark = pytest.mark.emulated  # arm64 check: matching (the whole-clip tests are heavy)

BOTH = range(61, 138)


def _run(tracker: PoseTracker, detections, frames, stamp=frame_stamp_ns, drop=None):
    """Tracked detections per frame; ``drop(frame, det) -> mask of people to hide``."""
    out = {}
    for f in frames:
        det = detections[f]
        if drop is not None:
            det = det.select(~drop(f, det))
        out[f] = tracker.update(det, stamp(f))
    return out


def _on_box(det: PoseDetections) -> np.ndarray:
    return det.boxes[:, 3] < 520  # the man on the box: feet above the box top (y ~ 520)


def _on_grass(det: PoseDetections) -> np.ndarray:
    return det.boxes[:, 1] > 480  # the woman walking on the grass: head below y ~ 480


def _ids_of(tracked, select) -> list[int]:
    return [int(i) for det in tracked.values() for i in det.track_ids[select(det)]]


def _stable(ids: list[int], max_untracked: int) -> set[int]:
    """The IDs given, checking that at most ``max_untracked`` detections had none (0)."""
    assert ids.count(0) <= max_untracked, ids
    return {i for i in ids if i}


def test_ids_are_stable_over_the_clip(demo_detections):  # noqa: F811
    tracked = _run(PoseTracker(), demo_detections, range(0, 138))
    man = _ids_of({f: tracked[f] for f in BOTH}, _on_box)
    woman = _ids_of({f: tracked[f] for f in BOTH}, _on_grass)
    assert len(man) >= 70 and len(woman) >= 65  # seen (nearly) every frame
    # 0 = not tracked yet: the woman for 0.1 s after she enters, and a short-lived second
    # (partial) pose MediaPipe returns for her in one frame.
    man_ids, woman_ids = _stable(man, 0), _stable(woman, 3)
    assert len(man_ids) == 1 and len(woman_ids) == 1, (man_ids, woman_ids)
    assert man_ids != woman_ids
    # The output keeps the estimator's people, in order, and only adds IDs.
    for f in BOTH:
        assert np.array_equal(tracked[f].keypoints, demo_detections[f].keypoints)
        assert tracked[f].track_ids.dtype == np.uint32


def test_an_occlusion_keeps_the_id(demo_detections):  # noqa: F811
    hidden = range(100, 106)  # the woman disappears for 6 frames (0.2 s)
    tracked = _run(
        PoseTracker(),
        demo_detections,
        range(0, 138),
        drop=lambda f, det: _on_grass(det) if f in hidden else np.zeros(len(det), bool),
    )
    assert all(not _on_grass(tracked[f]).any() for f in hidden)
    before = _stable(_ids_of({f: tracked[f] for f in range(80, 100)}, _on_grass), 0)
    after = _stable(_ids_of({f: tracked[f] for f in range(106, 138)}, _on_grass), 1)
    assert len(before) == 1 and after == before


def test_a_track_older_than_max_age_is_gone(demo_detections):  # noqa: F811
    hidden = range(100, 120)  # 0.67 s hidden, with max_age_s = 0.3 s
    tracked = _run(
        PoseTracker(max_age_s=0.3),
        demo_detections,
        range(0, 138),
        drop=lambda f, det: _on_grass(det) if f in hidden else np.zeros(len(det), bool),
    )
    before = _stable(_ids_of({f: tracked[f] for f in range(80, 100)}, _on_grass), 0)
    after = _stable(_ids_of({f: tracked[f] for f in range(125, 138)}, _on_grass), 0)
    assert len(before) == 1 and len(after) == 1 and after != before
    assert min(after) > max(before)  # a new ID, from the counter


def test_ids_are_never_reused_over_the_whole_clip(demo_detections):  # noqa: F811
    tracker = PoseTracker(max_age_s=0.5)
    first_seen: dict[int, int] = {}
    last_seen: dict[int, int] = {}
    for f, det in enumerate(demo_detections):
        ids = tracker.update(det, frame_stamp_ns(f)).track_ids
        nonzero = [int(i) for i in ids if i]
        assert len(nonzero) == len(set(nonzero))  # never twice in one frame
        for i in nonzero:
            if i in last_seen:  # reappearing only within max_age, never after the track died
                assert f - last_seen[i] <= 0.5 * 30 + 1
            first_seen.setdefault(i, f)
            last_seen[i] = f
    ids_in_order = sorted(first_seen, key=lambda i: (first_seen[i], i))
    assert ids_in_order == sorted(ids_in_order)  # issued by a counter: first seen = lowest
    assert len(first_seen) >= 3  # man, woman, and the man again after his jump (new track)


def test_time_going_backwards_resets_with_new_ids(demo_detections):  # noqa: F811
    tracker = PoseTracker()
    first = _run(tracker, demo_detections, range(61, 100))
    ids_before = {int(i) for det in first.values() for i in det.track_ids if i}
    # A bag loop: the same frames again, stamps back at the start.
    second = _run(tracker, demo_detections, range(61, 100))
    ids_after = {int(i) for det in second.values() for i in det.track_ids if i}
    assert tracker.resets == 1
    assert len(ids_before) == 2 and len(ids_after) == 2
    assert min(ids_after) > max(ids_before)  # never reused, even across the reset


def test_dropped_frames_age_tracks_in_seconds(demo_detections):  # noqa: F811
    # Processing every 4th frame (a slow pipeline): IDs are still stable, tracks still age in time.
    tracker = PoseTracker(max_age_s=1.0)
    tracked = _run(tracker, demo_detections, range(61, 138, 4))
    woman = _ids_of(tracked, _on_grass)
    assert len(woman) >= 15 and len(_stable(woman, 1)) == 1  # 0 only in the first frame
    # 1.2 s with nobody: every track has aged out.
    tracker.update(PoseDetections.empty(), frame_stamp_ns(137) + 1_200_000_000)
    assert tracker.active_track_ids == []


def test_a_new_person_gets_an_id_after_init_delay(demo_detections):  # noqa: F811
    # The woman enters at frame ~59; with init_delay 0.1 s she is 'not tracked' (0) for 3 frames.
    tracked = _run(PoseTracker(init_delay_s=0.1), demo_detections, range(55, 70))
    woman = [(f, int(det.track_ids[_on_grass(det)][0])) for f, det in tracked.items() if _on_grass(det).any()]
    first_frame = woman[0][0]
    assert woman[0][1] == 0
    assert all(i != 0 for f, i in woman if f >= first_frame + 3)
    immediate = _run(PoseTracker(init_delay_s=0.0), demo_detections, [first_frame])
    assert (immediate[first_frame].track_ids >= 1).all()


def test_people_without_keypoints_garbage_and_empty_frames():
    tracker = PoseTracker(init_delay_s=0.0)
    kp = np.zeros((4, 17, 3), np.float32)
    kp[:, :, :2] = np.random.default_rng(0).uniform(100, 200, (4, 17, 2)) + [[[0]], [[0]], [[500]], [[900]]]
    kp[[0, 2, 3], :, 2] = 0.9  # person 1 has nothing above the keypoint threshold
    kp[2, 3, 0] = np.nan  # person 2 has a NaN keypoint, person 3 an absurd one
    kp[3, 4, 1] = 1e30
    det = PoseDetections(kp, np.zeros((4, 4)), [0.9, 0.0, 0.9, 0.9])
    first = tracker.update(det, 0).track_ids
    # Nothing to track person 1 by; the NaN / absurd points of 2 and 3 count as missing.
    assert first[1] == 0 and (first[[0, 2, 3]] >= 1).all() and len(set(first.tolist())) == 4
    assert tracker.update(det, 33_000_000).track_ids.tolist() == first.tolist()
    assert len(tracker.update(PoseDetections.empty(), 66_000_000)) == 0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_age_s": -1},
        {"max_age_s": float("nan")},
        {"tick_s": 0},
        {"distance_threshold": 0},
        {"init_delay_s": -0.1},
        {"keypoint_threshold": 1.0},
    ],
)
def test_bad_parameters_fail_clearly(kwargs):
    with pytest.raises(ValueError):
        PoseTracker(**kwargs)
