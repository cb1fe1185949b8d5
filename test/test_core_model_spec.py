"""ModelSpec: the description embedded in the .tflite (TFLite metadata) with its readable JSON
copy, value validation, checks against the graph, and messages that say which file, what was
expected and what was found. Every lie and breakage of issue 11 (items 8, 9) has a test here or
in test_core_runtime.py."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil

import numpy as np
import pytest

from act_ros.model_spec import (
    EMBEDDED_NAME,
    SPEC_FORMAT_VERSION,
    ModelMismatchError,
    ModelSpec,
    class_name_problems,
    file_sha256,
    load_model_spec,
    sidecar_path,
    write_model_spec,
)
from act_ros.preprocessing import FEATURE_SPEC, NUM_FEATURES, PREPROCESSING_VERSION
from act_ros.runtime import shipped_model_path
from act_ros.tflite_file import read_tflite, with_metadata
from core_fixtures import edit_sidecar, embed_raw, legacy_copy, model_copy_of

pytestmark = pytest.mark.emulated  # arm64 check: model descriptions read and checked


def _spec(**kw) -> ModelSpec:
    base = dict(
        name="t",
        size="micro",
        class_names=("a", "b"),
        keypoint_layout="coco17",
        window_length=30,
        num_features=NUM_FEATURES,
        feature_spec=FEATURE_SPEC,
        preprocessing_version=PREPROCESSING_VERSION,
        dynamic_length=True,
        dynamic_batch=True,
        precision="fp32",
        sha256="",
        frame_rate=10.0,
    )
    base.update(kw)
    return ModelSpec(**base)


@pytest.fixture
def micro(tmp_path):
    return model_copy_of("micro", tmp_path)


def test_shipped_models_carry_their_description_inside(tmp_path):
    """Every model file in the package: the default and the 7-class LZQ ones (lzq7/)."""
    shipped = sorted(shipped_model_path("micro").parent.rglob("*.tflite"))
    assert len(shipped) == 4  # micro and small, lzq7/ micro and small
    for path in shipped:
        size = f"{path.parent.name}_{path.stem}"
        embedded = json.loads(read_tflite(path).metadata[EMBEDDED_NAME])
        side = json.loads(sidecar_path(path).read_text())
        # lzq7/ files were described in format 2 (no reject rule: max_probability), still read.
        assert embedded["format_version"] == side["format_version"] in (2, SPEC_FORMAT_VERSION)
        assert side["sha256"] == file_sha256(path) and embedded["sha256"] == ""
        assert {k: v for k, v in embedded.items() if k != "sha256"} == {
            k: v for k, v in side.items() if k != "sha256"
        }
        # The copy is optional: the file alone describes itself.
        alone = tmp_path / f"alone_{size}.tflite"
        shutil.copy(path, alone)
        assert load_model_spec(alone) == load_model_spec(path)


def test_round_trip_keeps_the_weights(micro):
    before = read_tflite(micro)
    write_model_spec(
        micro,
        _spec(class_names=tuple("abcdefghij"), ensemble_size=3, training={"command": "act-ros train ..."}),
    )
    spec = load_model_spec(micro)
    assert spec.sha256 == file_sha256(micro) and spec.class_names == tuple("abcdefghij")
    assert spec.training == {"command": "act-ros train ..."}
    assert json.loads(sidecar_path(micro).read_text())["class_names"] == list("abcdefghij")
    after = read_tflite(micro)
    assert after.weights_sha256 == before.weights_sha256
    assert [t.name for t in after.tensors] == [t.name for t in before.tensors]


def test_check_lists_every_problem():
    spec = _spec()
    spec.check(
        "x.tflite",
        keypoint_layout="coco17",
        num_features=52,
        preprocessing_version=PREPROCESSING_VERSION,
        class_names=("a", "b"),
    )
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
    data["format_version"] = 2
    data["unknown_future_field"] = 1  # ignored, not fatal
    assert ModelSpec.from_dict(data).num_classes == 2


@pytest.mark.parametrize(
    "names, reason",
    [
        (
            ["\x1b[31mstand", "walk"],
            "class_names[0]: expected printable characters only (no control "
            "or escape characters), found '\\x1b[31mstand'",
        ),
        (["x" * 10_000, "walk"], "class_names[0]: expected at most 64 characters"),
        (["walk", "walk"], "expected unique names, found ['walk'] repeated"),
        (["", "walk"], "expected non-empty text"),
        ([" walk", "run"], "without surrounding spaces"),
        (["line\nbreak", "run"], "class_names[0]: expected printable"),
        (["walk"], "expected 2..1000 classes, found 1"),
        ([1, 2], "class_names[0]: expected text, found 1"),
    ],
)
def test_class_names_are_validated(names, reason):
    assert class_name_problems(["stand", "walk"]) == []
    problems = class_name_problems(names)
    assert any(reason in p for p in problems), problems
    assert all(len(p) < 300 for p in problems)  # a 10 kB name is not repeated in the message
    with pytest.raises(ModelMismatchError, match="s.json: invalid model description"):
        ModelSpec.from_dict({**_spec().to_dict(), "class_names": names}, "s.json")


@pytest.mark.parametrize(
    "field, value, reason",
    [
        ("frame_rate", 1000, "frame_rate: expected 1..240 frames per second"),
        ("frame_rate", 0, "frame_rate: expected 1..240"),
        ("ensemble_size", 999, "ensemble_size: expected an integer in 1..32, found 999"),
        ("window_length", 0, "window_length: expected an integer in 1..300"),
        ("window_length", "30", "window_length: expected an integer in 1..300, found '30'"),
        ("precision", "int4", "precision: expected one of ['fp32', 'fp16', 'int8-dynamic']"),
        ("size", "huge", "size: expected one of"),
        ("keypoint_layout", "coco99", "keypoint_layout: expected one of"),
        ("dynamic_batch", "yes", "dynamic_batch: expected true or false"),
        ("name", "a\x07b", "name: expected printable"),
    ],
)
def test_values_are_validated_at_export_and_at_load(micro, field, value, reason):
    """At export: write_model_spec refuses to embed it. At load: a description embedded by
    other means (bypassing the export) is refused the same way."""
    with pytest.raises(ModelMismatchError, match=f"description to embed.*{re.escape(reason)}"):
        write_model_spec(micro, dataclasses.replace(load_model_spec(micro), **{field: value}))
    embed_raw(micro, **{field: value})
    with pytest.raises(ModelMismatchError) as err:
        load_model_spec(micro)
    assert str(micro) in str(err.value) and reason in str(err.value)


def test_sidecar_must_agree_with_the_embedded_description(micro):
    """The lie of issue 11: reversed classes in the JSON, re-hashed, were accepted."""
    names = list(load_model_spec(micro).class_names)
    edit_sidecar(micro, class_names=names[::-1], frame_rate=1000)
    with pytest.raises(ModelMismatchError) as err:
        load_model_spec(micro)
    msg = str(err.value)
    assert msg.startswith(f"{sidecar_path(micro)} disagrees with the description embedded in {micro}")
    assert f"class_names: embedded {names!r}, {sidecar_path(micro).name} {names[::-1]!r}" in msg
    assert "frame_rate: embedded 10.0" in msg and "--embed-description" in msg


@pytest.mark.parametrize(
    "change, reason",
    [
        (
            {"window_length": 300},
            "window_length: description says 300 frames, graph's positional embedding holds 30",
        ),
        ({"ensemble_size": 2}, "ensemble_size: description says 2, graph holds 3 AcT models"),
        (
            {"precision": "int8-dynamic"},
            "precision: description says 'int8-dynamic', graph's weights are 'fp32'",
        ),
        ({"precision": "fp16"}, "graph's weights are 'fp32'"),
        ({"class_names": list("ab")}, "classes: description lists 2, graph outputs [-1, 10] scores"),
        (
            {"num_features": 39},
            "input: description says [batch, frames, 39] features, graph takes [-1, -1, 52]",
        ),
        ({"size": "small"}, "size: description says 'small' (D=128), graph's tokens have D=64"),
    ],
)
def test_description_is_checked_against_the_graph(micro, change, reason):
    embed_raw(micro, **change)
    with pytest.raises(ModelMismatchError) as err:
        load_model_spec(micro)
    assert str(err.value).startswith(f"{micro}: its description does not match its graph")
    assert reason in str(err.value)


@pytest.mark.parametrize(
    "damage, reason",
    [
        (lambda b: b[: len(b) // 2], "truncated or corrupt TFLite model"),
        (lambda b: b[:100], "truncated or corrupt TFLite model (100 bytes"),
        (lambda b: b"", "empty file (0 bytes)"),
        (lambda b: b"\x89PNG\r\n\x1a\n" + bytes(64), "not a TFLite model: identifier"),
        (lambda b: json.dumps({"not": "a model"}).encode(), "not a TFLite model"),
    ],
)
def test_broken_files_are_named(micro, damage, reason):
    """A truncated or empty model with a re-hashed sidecar gave "not a valid Flatbuffer", no
    path."""
    micro.write_bytes(damage(micro.read_bytes()))
    edit_sidecar(micro)  # re-hashed: the checksum cannot be what catches it
    with pytest.raises(ModelMismatchError) as err:
        load_model_spec(micro)
    assert str(err.value).startswith(f"{micro}: ") and reason in str(err.value)
    assert "expected a TFLite model" in str(err.value)


def test_no_description_at_all(micro):
    micro.write_bytes(with_metadata(micro.read_bytes(), EMBEDDED_NAME, None))
    sidecar_path(micro).unlink()
    with pytest.raises(
        ModelMismatchError, match=f"{micro}: no model description: expected one embedded in the file"
    ):
        load_model_spec(micro)


def test_legacy_sidecar_only_model_is_refused_with_the_upgrade_command(tmp_path):
    legacy = legacy_copy("micro", tmp_path)
    with pytest.raises(ModelMismatchError) as err:
        load_model_spec(legacy)
    assert f"{legacy}: legacy model" in str(err.value)
    assert f"act-ros export --embed-description {legacy}" in str(err.value)


def test_embed_description_upgrades_a_legacy_model_without_touching_the_weights(tmp_path, capsys):
    from act_ros.training import export

    legacy = legacy_copy("micro", tmp_path)
    weights = read_tflite(legacy).weights_sha256
    assert export.main(["--embed-description", str(legacy)]) == 0
    assert f"embedded its description (format {SPEC_FORMAT_VERSION})" in capsys.readouterr().out
    spec = load_model_spec(legacy)
    assert spec.format_version == SPEC_FORMAT_VERSION and spec == dataclasses.replace(
        load_model_spec(shipped_model_path("micro")), sha256=spec.sha256
    )
    assert read_tflite(legacy).weights_sha256 == weights
    # Run again: the description is embedded already; a drifted copy is rewritten from it.
    edit_sidecar(legacy, name="edited")
    assert export.main(["--embed-description", str(legacy)]) == 0
    assert load_model_spec(legacy).name == spec.name


def test_embed_description_refuses_what_it_cannot_vouch_for(tmp_path, capsys):
    from act_ros.training import export

    legacy = legacy_copy("micro", tmp_path)
    other = tmp_path / "other.tflite"
    other.write_bytes(legacy.read_bytes() + b"\0")  # not the file the JSON was made for
    sidecar_path(other).write_text(sidecar_path(legacy).read_text())
    assert export.main(["--embed-description", str(other)]) == 2
    err = capsys.readouterr().err
    assert f"{other}: checksum mismatch" in err and "not written for this file" in err
    edit_sidecar(legacy, window_length=300)  # a lie the graph contradicts
    assert export.main(["--embed-description", str(legacy)]) == 2
    assert "window_length: description says 300 frames" in capsys.readouterr().err
    assert EMBEDDED_NAME not in read_tflite(legacy).metadata  # nothing written
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "act_micro.json",
        "act_micro.tflite",
        "other.json",
        "other.tflite",
    ]


def test_metadata_rewrite_keeps_alignment_and_output(micro):
    """Rewriting the flatbuffer keeps every weight buffer 16-byte aligned (as the converter
    writes them) and the runtime's output bit-identical."""
    from ai_edge_litert import schema_py_generated as schema

    from act_ros.runtime import ActClassifier

    x = np.random.default_rng(0).standard_normal((4, 30, NUM_FEATURES)).astype(np.float32)
    before = ActClassifier(micro).predict_logits(x)
    write_model_spec(micro, dataclasses.replace(load_model_spec(micro), name="renamed"))
    data = micro.read_bytes()
    model = schema.Model.GetRootAs(data, 0)
    starts = [
        model.Buffers(i)._tab.Vector(model.Buffers(i)._tab.Offset(4))
        for i in range(model.BuffersLength())
        if model.Buffers(i).DataLength()
    ]
    assert starts and all(s % 16 == 0 for s in starts)
    assert np.array_equal(ActClassifier(micro).predict_logits(x), before)


def test_reading_works_with_mediapipes_schema_too(monkeypatch):
    """On a machine with tflite-runtime instead of ai-edge-litert, the schema comes from
    mediapipe (the pose node's dependency): same reading, same checks."""
    from act_ros import tflite_file

    path = shipped_model_path("micro")
    expected = read_tflite(path)
    monkeypatch.setattr(tflite_file, "_schema", lambda writable=False: tflite_file.mediapipe_schema())
    assert tflite_file.mediapipe_schema().__file__.endswith("mediapipe/tasks/metadata/schema_py_generated.py")
    assert read_tflite(path) == expected
    assert load_model_spec(path).sha256 == expected.sha256  # validated and graph-checked
