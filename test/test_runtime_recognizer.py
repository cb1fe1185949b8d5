"""The AcT node's ROS-free core with the shipped model: resampling to the model's frame rate,
padding of partial windows, bounded memory, and agreement with the offline pipeline."""

from __future__ import annotations

import numpy as np
import pytest

from act_ros.preprocessing import pad_window, pose_features
from act_ros.assembly import recognizer_from_parameters
from act_ros.recognizer import ActionRecognizer, RecognizerConfig
from act_ros.runtime import ActClassifier, shipped_model_path
from core_fixtures import lzq_sequences

pytestmark = pytest.mark.emulated  # arm64 check: TFLite on partial windows, as the node runs it

T0 = 10**18


@pytest.fixture(scope="module")
def classifier() -> ActClassifier:
    return ActClassifier(shipped_model_path("micro"), expected_layout="coco17")


def feed(rec: ActionRecognizer, seq: np.ndarray, fps: float, frames: int, track: int = 1, start: int = T0):
    out = []
    for i in range(frames):
        out.append(rec.update(start + round(i * 1e9 / fps), np.array([track]), seq[i % len(seq)][None]))
    return out


def test_a_30fps_stream_is_resampled_to_the_model_frame_rate(classifier):
    rec = ActionRecognizer(classifier, RecognizerConfig(window_length=30, min_frames=1, frame_rate=12))
    out = feed(rec, lzq_sequences()["walk"], fps=30, frames=300)  # 10 s of camera time
    fresh = sum(1 for actions in out if actions and actions[0].fresh)
    assert 118 <= fresh <= 122  # 12 window frames per second of stamps, not 15 and not 30
    assert out[-1][0].window_frames == 30


def test_partial_windows_are_padded_to_T_whoever_else_is_in_the_batch(classifier):
    wave, walk = lzq_sequences()["wave"], lzq_sequences()["walk"]
    rec = ActionRecognizer(classifier, RecognizerConfig(window_length=30, min_frames=5))
    for i in range(12):  # person 1 from frame 0, person 2 from frame 5
        ids = [1] if i < 5 else [1, 2]
        kp = np.stack([wave[i]] + ([walk[i - 5]] if i >= 5 else []))
        out = rec.update(T0 + round(i * 1e9 / 12), np.array(ids), kp)
    assert rec.stats.inferences == 12 - 4  # one call per frame for everyone ready
    by_id = {a.track_id: a for a in out}
    assert (by_id[1].window_frames, by_id[2].window_frames) == (12, 7)
    # Person 2's 7 frames went in front-padded to T = 30 with their earliest frame ...
    padded = np.concatenate([np.repeat(walk[:1], 23, axis=0), walk[:7]])
    expected = classifier.predict_proba(pose_features(padded[None]))[0]
    np.testing.assert_allclose(by_id[2].scores, expected, atol=1e-5)
    # ... exactly as when they are alone: the batch does not change anyone's result.
    alone = ActionRecognizer(classifier, RecognizerConfig(window_length=30, min_frames=5))
    short = feed(alone, walk, fps=12, frames=7)[-1][0].scores
    np.testing.assert_allclose(short, by_id[2].scores, atol=1e-6)


class RecordingClassifier:
    """The real classifier, keeping the features the recognizer gives it."""

    def __init__(self, classifier: ActClassifier) -> None:
        self.inner, self.calls = classifier, []
        self.class_names, self.window_length = classifier.class_names, classifier.window_length
        self.temperature = classifier.temperature

    def predict_logits(self, features):
        self.calls.append(np.array(features))
        return self.inner.predict_logits(features)


@pytest.mark.parametrize("frames", [10, 17, 29])
def test_a_short_clip_gives_the_training_features_in_the_node(classifier, frames):
    """Issue 14, item 7: training zero-filled short clips at the end while the node front-padded
    them. Now both go through preprocessing.pad_window: the node sees exactly the features a
    short training sample (stored the MPOSE2021 way, zero-filled at the end) trains on."""
    from act_ros.datasets.npz import PoseDataset

    clip = lzq_sequences()["squat"][:frames].astype(np.float32)
    stored = np.zeros((1, 30, 17, 3), np.float32)
    stored[0, :frames] = clip
    training = PoseDataset(
        poses=stored,
        labels=[0],
        class_names=classifier.class_names,
        keypoint_layout="coco17",
        frame_rate=12.0,
    ).features()
    recording = RecordingClassifier(classifier)
    rec = ActionRecognizer(recording, RecognizerConfig(window_length=30, min_frames=frames, frame_rate=12))
    out = feed(rec, clip, fps=12, frames=frames)
    assert len(recording.calls) == 1 and out[-1][0].window_frames == frames
    np.testing.assert_array_equal(recording.calls[0], training)


def test_a_full_window_equals_one_offline_prediction(classifier):
    seq = lzq_sequences()["squat"]
    rec = recognizer_from_parameters({"min_frames": 30, "sample_rate": 12.0})
    out = feed(rec, seq, fps=12, frames=40)
    offline = classifier.predict_proba(pose_features(seq[10:40][None]))[0]
    np.testing.assert_allclose(out[-1][0].scores, offline, atol=1e-5)


def test_memory_is_bounded_whatever_the_number_of_people(classifier):
    rec = ActionRecognizer(classifier, RecognizerConfig(window_length=30, min_frames=1, max_tracks=8))
    seq = lzq_sequences()["stand"]
    for i in range(5):
        ids = np.arange(1 + 1000 * i, 1001 + 1000 * i)
        rec.update(T0 + i * 10**8, ids, np.repeat(seq[i][None], 1000, axis=0))
    assert rec.num_tracks == 8 and rec._buffer.shape[0] == 8
    assert rec.stats.counters["over_capacity_people"] == 5 * 1000 - 8


def test_smoothing_and_unknown_threshold(classifier):
    seq = lzq_sequences()["walk"]
    plain = feed(ActionRecognizer(classifier, RecognizerConfig(min_frames=10)), seq, 12, 30)
    smooth = feed(ActionRecognizer(classifier, RecognizerConfig(min_frames=10, smoothing=0.8)), seq, 12, 30)
    jitter = lambda out: np.abs(np.diff([o[0].scores for o in out[9:]], axis=0)).sum()  # noqa: E731
    assert jitter(smooth) < jitter(plain)
    unsure = feed(
        ActionRecognizer(classifier, RecognizerConfig(min_frames=10, unknown_threshold=1.0)), seq, 12, 12
    )
    assert unsure[-1][0].label == "unknown" and unsure[-1][0].label_index == -1


def test_the_max_logit_rule_reads_each_windows_calibrated_logits(classifier):
    """The model's own rule (max_logit): 'unknown' exactly where the window's best logit / T is
    below the threshold, whatever the published probability says."""
    seq = lzq_sequences()["walk"]
    windows = np.stack([pad_window(seq[max(0, i - 29) : i + 1], 30) for i in range(9, 30)])
    best = (classifier.predict_logits(pose_features(windows)) / classifier.temperature).max(axis=1)
    threshold = float(np.median(best))  # half the windows on either side
    rec = ActionRecognizer(
        classifier, RecognizerConfig(min_frames=10, unknown_rule="max_logit", unknown_threshold=threshold)
    )
    out = feed(rec, seq, 12, 30)[9:]
    labels = np.array([o[0].label_index for o in out])
    np.testing.assert_array_equal(labels == -1, best < threshold)
    assert 0 < (labels == -1).sum() < len(labels)
    assert all(o[0].confidence == pytest.approx(o[0].scores.max()) for o in out)
    with pytest.raises(ValueError, match="unknown reject rule"):
        RecognizerConfig(unknown_rule="entropy")


def test_config_is_validated():
    with pytest.raises(ValueError, match="min_frames"):
        RecognizerConfig(window_length=30, min_frames=31)
    with pytest.raises(ValueError, match="smoothing"):
        RecognizerConfig(smoothing=1.0)
    with pytest.raises(ValueError, match="unknown parameter"):
        recognizer_from_parameters({"window": 3})
