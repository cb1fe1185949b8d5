"""ModelSpec: JSON round trip, checksum, compatibility checks with messages that say what is
expected and what was found."""
from __future__ import annotations

import dataclasses
import json

import pytest

from act_ros.model_spec import (ModelMismatchError, ModelSpec, file_sha256, load_model_spec,
                                sidecar_path, write_model_spec)
from act_ros.preprocessing import FEATURE_SPEC, NUM_FEATURES, PREPROCESSING_VERSION
from act_ros.runtime import shipped_model_path


def _spec(**kw) -> ModelSpec:
    base = dict(name="t", size="micro", class_names=("a", "b"), keypoint_layout="coco17",
                window_length=30, num_features=NUM_FEATURES, feature_spec=FEATURE_SPEC,
                preprocessing_version=PREPROCESSING_VERSION, dynamic_length=True,
                dynamic_batch=True, precision="fp32", sha256="", frame_rate=10.0)
    base.update(kw)
    return ModelSpec(**base)


def test_round_trip_and_checksum(tmp_path):
    model = tmp_path / "m.tflite"
    model.write_bytes(shipped_model_path("micro").read_bytes())
    write_model_spec(model, _spec(training={"command": "act-ros train ..."}))
    spec = load_model_spec(model)
    assert spec.sha256 == file_sha256(model) and len(spec.sha256) == 64
    assert spec == dataclasses.replace(_spec(), sha256=spec.sha256)
    assert spec.training == {"command": "act-ros train ..."}
    assert json.loads(sidecar_path(model).read_text())["class_names"] == ["a", "b"]
    assert sidecar_path(model).name == "m.json"


def test_check_lists_every_problem():
    spec = _spec()
    spec.check("x.tflite", keypoint_layout="coco17", num_features=52,
               preprocessing_version=PREPROCESSING_VERSION, class_names=("a", "b"))
    with pytest.raises(ModelMismatchError) as err:
        spec.check("x.tflite", keypoint_layout="body25", num_features=39, class_names=("c",))
    msg = str(err.value)
    assert msg.startswith("x.tflite: model does not match")
    assert "caller feeds 'body25', model expects 'coco17'" in msg
    assert "caller feeds 39, model expects 52" in msg
    assert "expected ['c'], model has ['a', 'b']" in msg


def test_newer_format_is_refused():
    data = json.loads(_spec().to_json())
    data["format_version"] = 99
    with pytest.raises(ModelMismatchError, match="newer than this act_ros understands"):
        ModelSpec.from_dict(data, "s.json")
    data["format_version"] = 1
    data["unknown_future_field"] = 1                          # ignored, not fatal
    assert ModelSpec.from_dict(data).num_classes == 2
