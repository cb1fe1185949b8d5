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
from core_fixtures import REPO, lzq_dataset

LZQ_CLASSES = ("stand", "walk", "squat", "wave", "operate", "fall_down", "run")


@pytest.fixture
def model_copy(tmp_path):
    """A writable copy of the shipped micro model and its description."""
    src = shipped_model_path("micro")
    dst = tmp_path / "act_micro.tflite"
    shutil.copy(src, dst)
    shutil.copy(sidecar_path(src), sidecar_path(dst))
    return dst


def _edit_sidecar(path, **changes):
    side = sidecar_path(path)
    data = json.loads(side.read_text())
    data.update(changes)
    side.write_text(json.dumps(data))


def test_shipped_models_exist_and_describe_themselves():
    assert {"micro", "small"} <= set(SHIPPED_SIZES)
    for size in SHIPPED_SIZES:
        path = shipped_model_path(size)
        spec = load_model_spec(path)
        assert spec.size == size and spec.class_names == LZQ_CLASSES
        assert spec.keypoint_layout == "coco17" and spec.window_length == 30
        assert spec.num_features == NUM_FEATURES
        assert spec.preprocessing_version == PREPROCESSING_VERSION
        assert spec.dynamic_length and spec.dynamic_batch and spec.frame_rate == 10.0
        assert path.stat().st_size < 20e6
    assert (REPO / "act_ros" / "models" / "LICENSE").is_file()
    assert (REPO / "act_ros" / "models" / "MODEL_CARD.md").is_file()
    with pytest.raises(FileNotFoundError, match="no shipped AcT model of size 'huge'.*micro"):
        shipped_model_path("huge")


@pytest.mark.parametrize("size", ["micro", "small"])
def test_shipped_model_recognises_held_out_real_windows(size):
    """Held-out LZQ segments (never trained on): the node's call on real poses."""
    ds = lzq_dataset(30, 3).part("test")
    clf = ActClassifier(shipped_model_path(size), num_threads=2, expected_layout="coco17")
    proba = clf.predict_proba(pose_features(ds.poses))
    assert proba.shape == (len(ds), 7) and np.allclose(proba.sum(1), 1, atol=1e-5)
    accuracy = np.mean(proba.argmax(1) == ds.labels)
    assert accuracy > 0.9, accuracy
    # Short windows (a track that just appeared) and batches of any size work.
    short = clf.predict_proba(pose_features(ds.poses[:5, -8:]))
    assert short.shape == (5, 7) and np.isfinite(short).all()


def test_runtime_does_not_import_tensorflow():
    code = ("import sys, numpy as np; from act_ros.runtime import ActClassifier, "
            "shipped_model_path; c = ActClassifier(shipped_model_path('micro')); "
            "c.predict_proba(np.zeros((2, 30, 52), np.float32)); "
            "assert not any(m.split('.')[0] in ('tensorflow', 'keras') for m in sys.modules), "
            "'TensorFlow imported'")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)


def test_missing_model_file_names_the_path(tmp_path):
    missing = tmp_path / "nope.tflite"
    with pytest.raises(FileNotFoundError, match=f"{missing}.*nope.json"):
        ActClassifier(missing)


def test_missing_description_names_the_expected_sidecar(model_copy):
    sidecar_path(model_copy).unlink()
    with pytest.raises(ModelMismatchError, match=f"{model_copy}.*expected {sidecar_path(model_copy)}"):
        ActClassifier(model_copy)


def test_wrong_layout_is_refused(model_copy):
    with pytest.raises(ModelMismatchError,
                       match=f"{model_copy}.*caller feeds 'body25', model expects 'coco17'"):
        ActClassifier(model_copy, expected_layout="body25")


def test_wrong_feature_count_is_refused(model_copy):
    # A description claiming 39 inputs (the reference's published weights) is refused by name.
    _edit_sidecar(model_copy, num_features=39)
    with pytest.raises(ModelMismatchError, match=f"{model_copy}.*caller feeds 52, model expects 39"):
        ActClassifier(model_copy)


def test_wrong_preprocessing_version_is_refused(model_copy):
    _edit_sidecar(model_copy, preprocessing_version=PREPROCESSING_VERSION + 1)
    with pytest.raises(ModelMismatchError, match="preprocessing version"):
        ActClassifier(model_copy)


def test_wrong_checksum_is_refused(model_copy):
    with open(model_copy, "ab") as fh:
        fh.write(b"\0")
    with pytest.raises(ModelMismatchError, match=f"{model_copy}: checksum mismatch.*expects sha256"):
        ActClassifier(model_copy)


def test_broken_description_is_refused(model_copy):
    sidecar_path(model_copy).write_text("{not json")
    with pytest.raises(ModelMismatchError, match="unreadable model description"):
        ActClassifier(model_copy)
    sidecar_path(model_copy).write_text(json.dumps({"name": "x"}))
    with pytest.raises(ModelMismatchError, match="lacks the fields"):
        ActClassifier(model_copy)


def test_class_count_must_match_the_graph(model_copy):
    _edit_sidecar(model_copy, class_names=["a", "b"])
    with pytest.raises(ModelMismatchError, match="lists 2 classes"):
        ActClassifier(model_copy)


def test_ensemble_members_must_agree(model_copy, tmp_path):
    other = tmp_path / "other.tflite"
    shutil.copy(model_copy, other)
    shutil.copy(sidecar_path(model_copy), sidecar_path(other))
    _edit_sidecar(other, class_names=list(LZQ_CLASSES[::-1]))
    with pytest.raises(ModelMismatchError, match=f"{other}: ensemble member does not match"):
        ActClassifier([model_copy, other])
    both = ActClassifier([model_copy, model_copy])
    x = pose_features(lzq_dataset(30, 3).poses[:3])
    assert np.allclose(both.predict_logits(x), ActClassifier(model_copy).predict_logits(x),
                       atol=1e-5)


def test_bad_constructor_arguments():
    with pytest.raises(ValueError, match="at least one"):
        ActClassifier([])
    with pytest.raises(ValueError, match="num_threads"):
        ActClassifier(shipped_model_path("micro"), num_threads=0)
