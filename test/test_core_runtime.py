"""The robot-side runtime without TensorFlow: shipped models, ActClassifier on real poses, and
every description mismatch refused with a message naming the file and the expectation."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from act_ros.model_spec import ModelMismatchError, load_model_spec, sidecar_path
from act_ros.preprocessing import NUM_FEATURES, PREPROCESSING_VERSION, pose_features
from act_ros.runtime import SHIPPED_SIZES, ActClassifier, shipped_model_path
from core_fixtures import REPO, edit_sidecar, embed_raw, lzq_dataset, model_copy_of, rename_tensors

pytestmark = pytest.mark.emulated  # arm64 check: TFLite loading and the model checks

LZQ_CLASSES = ("stand", "walk", "squat", "wave", "operate", "fall_down", "run")
LZQ7_DIR = REPO / "act_ros" / "models" / "lzq7"


def _model_classes() -> tuple[str, ...]:
    from act_ros.datasets.mocap.taxonomy import load_taxonomy

    return load_taxonomy().model_classes


@pytest.fixture
def model_copy(tmp_path):
    """A writable copy of the shipped micro model and its description."""
    return model_copy_of("micro", tmp_path)


def test_shipped_models_exist_and_describe_themselves():
    assert SHIPPED_SIZES == ("micro", "small")  # medium, large: train them (README)
    for size in SHIPPED_SIZES:
        path = shipped_model_path(size)
        spec = load_model_spec(path)
        assert spec.size == size and spec.class_names == _model_classes()
        # Calibrated: a temperature and the reject threshold chosen on held-out actions.
        assert spec.temperature > 0 and spec.reject_rule == "max_logit"
        assert 0 < spec.unknown_threshold < 100  # a calibrated logit
        assert spec.keypoint_layout == "coco17" and spec.window_length == 30
        assert spec.num_features == NUM_FEATURES
        assert spec.preprocessing_version == PREPROCESSING_VERSION
        assert spec.dynamic_length and spec.dynamic_batch and spec.frame_rate == 10.0
        assert path.stat().st_size < 20e6
    # Trained on HDM05 (CC BY-SA 3.0): their own licence file with the attribution.
    licence = (REPO / "act_ros" / "models" / "LICENSE").read_text()
    assert "CC BY-SA 3.0" in licence and "HDM05" in licence and "Müller" in licence
    card = (REPO / "act_ros" / "models" / "MODEL_CARD.md").read_text()
    assert "mocap.cs.cmu.edu" in card and "NSF EIA-0196217" in card and "@@" not in card
    # The 7-class LZQ models stay available, Apache-2.0.
    assert "Apache License" in (LZQ7_DIR / "LICENSE").read_text()
    for size in ("micro", "small"):
        assert load_model_spec(LZQ7_DIR / f"act_{size}.tflite").class_names == LZQ_CLASSES
    with pytest.raises(FileNotFoundError, match="no shipped AcT model of size 'huge'.*micro"):
        shipped_model_path("huge")


@pytest.mark.heavy  # every test window: minutes emulated (the arm64 parity check runs 24)
@pytest.mark.parametrize("size", ["micro", "small"])
def test_lzq7_model_recognises_held_out_real_windows(size):
    """Held-out LZQ segments (never trained on) through the 7-class LZQ models."""
    ds = lzq_dataset(30, 3).part("test")
    clf = ActClassifier(LZQ7_DIR / f"act_{size}.tflite", num_threads=2, expected_layout="coco17")
    proba = clf.predict_proba(pose_features(ds.poses))
    assert proba.shape == (len(ds), 7) and np.allclose(proba.sum(1), 1, atol=1e-5)
    accuracy = np.mean(proba.argmax(1) == ds.labels)
    assert accuracy > 0.9, accuracy
    # Short windows (a track that just appeared) and batches of any size work.
    short = clf.predict_proba(pose_features(ds.poses[:5, -8:]))
    assert short.shape == (5, 7) and np.isfinite(short).all()


def test_a_person_scores_the_same_whatever_the_batch_sizes_before():
    """The interpreters kept per batch size (people come and go between messages): more sizes
    than are kept, in turn, give every person the result it gets alone."""
    ds = lzq_dataset(30, 3).part("test")
    feats = pose_features(ds.poses[:9])
    clf = ActClassifier(shipped_model_path("micro"))
    alone = np.concatenate([clf.predict_proba(feats[i : i + 1]) for i in range(9)])
    for n in [5, 4, 5, 2, 9, 3, 6, 4, 7, 5, 1, 8]:
        assert np.allclose(clf.predict_proba(feats[:n]), alone[:n], atol=1e-5), n


def test_runtime_does_not_import_tensorflow():
    code = (
        "import sys, numpy as np; from act_ros.runtime import ActClassifier, "
        "shipped_model_path; c = ActClassifier(shipped_model_path('micro')); "
        "c.predict_proba(np.zeros((2, 30, 52), np.float32)); "
        "assert not any(m.split('.')[0] in ('tensorflow', 'keras') for m in sys.modules), "
        "'TensorFlow imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)


def test_missing_model_file_names_the_path(tmp_path):
    missing = tmp_path / "nope.tflite"
    with pytest.raises(FileNotFoundError, match=f"AcT model file not found: {missing}"):
        ActClassifier(missing)


def test_the_file_alone_is_enough(model_copy):
    sidecar_path(model_copy).unlink()
    assert ActClassifier(model_copy).class_names == _model_classes()


def _reversed_classes(path):
    edit_sidecar(path, class_names=list(_model_classes()[::-1]))


def _truncated(path):
    path.write_bytes(path.read_bytes()[:1_000_000])
    edit_sidecar(path)


def _emptied(path):
    path.write_bytes(b"")
    edit_sidecar(path)


def _named(name):
    return lambda path: embed_raw(path, class_names=[name, *_model_classes()[1:]])


# Issue 11, items 8 and 9: each of these was accepted (or failed without naming the file).
@pytest.mark.parametrize(
    "lie, reason",
    [
        (_reversed_classes, "class_names: embedded ['stand', 'walk'"),
        (lambda p: embed_raw(p, frame_rate=1000), "frame_rate: expected 1..240 frames per second"),
        (lambda p: embed_raw(p, frame_rate=0), "frame_rate: expected 1..240 frames per second"),
        (lambda p: embed_raw(p, ensemble_size=999), "ensemble_size: expected an integer in 1..32"),
        (
            lambda p: embed_raw(p, precision="int8-dynamic"),
            "precision: description says 'int8-dynamic', graph's weights are 'fp32'",
        ),
        (
            lambda p: embed_raw(p, window_length=300),
            "window_length: description says 300 frames, graph's positional embedding holds 30",
        ),
        (_truncated, "truncated or corrupt TFLite model (1000000 bytes"),
        (_emptied, "empty file (0 bytes); expected a TFLite model"),
        (_named("\x1b[31mstand"), "class_names[0]: expected printable characters only"),
        (_named("x" * 10_000), "class_names[0]: expected at most 64 characters"),
    ],
    ids=[
        "reversed-classes",
        "frame-rate-1000",
        "frame-rate-0",
        "ensemble-999",
        "int8-for-fp32",
        "window-300",
        "truncated",
        "empty",
        "ansi-name",
        "10kB-name",
    ],
)
def test_models_that_lie_or_break_are_refused_by_name(model_copy, lie, reason):
    lie(model_copy)
    with pytest.raises(ModelMismatchError) as err:
        ActClassifier(model_copy)
    msg = str(err.value)
    assert str(model_copy) in msg and reason in msg, msg
    assert "\x1b" not in msg and len(msg) < 2000  # escaped and bounded


def test_a_window_the_graph_cannot_run_fails_at_load_not_at_the_first_message(model_copy):
    """Without recognisable positional embeddings (a graph act_ros did not export) the static
    check cannot see the window; the probe run at the full window turns the runtime's op error
    into a ModelMismatchError naming the file and what was expected."""
    rename_tensors(model_copy, "embedding", "positions")
    assert ActClassifier(model_copy).window_length == 30
    embed_raw(model_copy, window_length=300)
    with pytest.raises(ModelMismatchError) as err:
        ActClassifier(model_copy)
    msg = str(err.value)
    assert msg.startswith(
        f"{model_copy}: expected to classify a window of 300 frames as its "
        f"description says, the TFLite runtime failed:"
    ), msg


def test_wrong_layout_is_refused(model_copy):
    with pytest.raises(
        ModelMismatchError, match=f"{model_copy}.*caller feeds 'body25', model expects 'coco17'"
    ):
        ActClassifier(model_copy, expected_layout="body25")


def test_wrong_preprocessing_version_is_refused(model_copy):
    embed_raw(model_copy, preprocessing_version=PREPROCESSING_VERSION + 1)
    with pytest.raises(
        ModelMismatchError, match=f"{model_copy}: model does not match: preprocessing version"
    ):
        ActClassifier(model_copy)


def test_wrong_checksum_is_refused(model_copy):
    with open(model_copy, "ab") as fh:
        fh.write(b"\0")
    with pytest.raises(ModelMismatchError, match=f"{model_copy}: checksum mismatch.*expects sha256"):
        ActClassifier(model_copy)


def test_broken_description_copy_is_refused(model_copy):
    sidecar_path(model_copy).write_text("{not json")
    with pytest.raises(ModelMismatchError, match="unreadable model description"):
        ActClassifier(model_copy)
    sidecar_path(model_copy).write_text(json.dumps({"name": "x"}))
    with pytest.raises(ModelMismatchError, match="disagrees with the description embedded"):
        ActClassifier(model_copy)


def test_ensemble_members_must_agree(model_copy, tmp_path):
    other = tmp_path / "other.tflite"
    shutil.copy(model_copy, other)
    shutil.copy(sidecar_path(model_copy), sidecar_path(other))
    embed_raw(other, class_names=list(load_model_spec(model_copy).class_names[::-1]))
    with pytest.raises(ModelMismatchError, match=f"{other}: ensemble member does not match"):
        ActClassifier([model_copy, other])
    both = ActClassifier([model_copy, model_copy])
    x = pose_features(lzq_dataset(30, 3).poses[:3])
    assert np.allclose(both.predict_logits(x), ActClassifier(model_copy).predict_logits(x), atol=1e-5)


def test_bad_constructor_arguments():
    with pytest.raises(ValueError, match="at least one"):
        ActClassifier([])
    with pytest.raises(ValueError, match="num_threads"):
        ActClassifier(shipped_model_path("micro"), num_threads=0)
