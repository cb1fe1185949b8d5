"""Pruning the BlazePose landmark models' unread outputs: the same numbers, fewer operators, the
same bytes everywhere, clear errors (real models, a real person crop)."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from footage import messi_path
from pose_fixtures import read_image_rgb

from act_ros.pose.blazepose_landmarks import BlazePoseLandmarker, roi_from_box
from act_ros.pose.person_detector import load_tflite
from act_ros.pose.tflite_prune import TFLitePruneError, keep_outputs, operator_count, subgraph_outputs
from act_ros.pose.topdown_models import landmark_model_path

# sha256 of pose_landmark_lite.tflite (itself pinned) with outputs 0, 1, 3 kept: the edit moves
# no byte, so it is the same on every machine and flatbuffers version.
LITE_PRUNED_SHA256 = "e44d50e6d0fb4b2efc55318671bc6967c35f1517ec32fe49bdfa6fc71f59e092"


def _outputs(interpreter, crop: np.ndarray) -> dict[tuple[int, ...], np.ndarray]:
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], crop)
    interpreter.invoke()
    return {
        tuple(int(d) for d in o["shape"]): interpreter.get_tensor(o["index"]).copy()
        for o in interpreter.get_output_details()
    }


@pytest.fixture(scope="module")
def lite_path():
    return landmark_model_path("lite", progress=False)


@pytest.fixture(scope="module")
def person_crop() -> np.ndarray:
    import cv2

    image = read_image_rgb(messi_path())
    h, w = image.shape[:2]
    crop = cv2.resize(image[:, w // 4 : 3 * w // 4], (256, 256), interpolation=cv2.INTER_AREA)
    return (crop.astype(np.float32) / 255.0)[None]


def test_pruned_model_computes_the_kept_outputs_bit_for_bit(lite_path, person_crop):
    model = lite_path.read_bytes()
    pruned = keep_outputs(model, [0, 1, 3])
    assert hashlib.sha256(pruned).hexdigest() == LITE_PRUNED_SHA256
    assert keep_outputs(model, [0, 1, 3]) == pruned  # deterministic
    assert len(pruned) == len(model)
    assert subgraph_outputs(pruned) == [subgraph_outputs(model)[k] for k in (0, 1, 3)]
    assert operator_count(pruned) < operator_count(model) - 40  # the mask decoder is gone

    whole = _outputs(load_tflite(lite_path, 1, "whole"), person_crop)
    kept = _outputs(
        load_tflite(lite_path, 1, "pruned", edit=lambda b: keep_outputs(b, [0, 1, 3])), person_crop
    )
    assert len(whole) == 5 and sorted(kept) == sorted([(1, 195), (1, 1), (1, 64, 64, 39)])
    for shape, value in kept.items():
        np.testing.assert_array_equal(value, whole[shape])
    assert whole[(1, 1)][0, 0] > 0.9  # a real person: the numbers compared are meaningful


def test_landmarker_loads_only_what_it_reads_and_finds_the_person(lite_path):
    image = read_image_rgb(messi_path())
    h, w = image.shape[:2]
    roi = roi_from_box(np.array([w * 0.25, 0, w * 0.75, h], np.float32), 1.0)
    refined = BlazePoseLandmarker(lite_path, refine=True)
    plain = BlazePoseLandmarker(lite_path, refine=False)
    assert refined.output_count == 3 and plain.output_count == 2
    a, b = refined.run(image, roi), plain.run(image, roi)
    assert a.presence > 0.9 and a.presence == b.presence
    np.testing.assert_array_equal(a.landmarks[:, 2:], b.landmarks[:, 2:])


def test_bad_requests_and_bad_bytes_fail_clearly(lite_path):
    model = lite_path.read_bytes()
    for keep in ([], [5], [0, 0], [-1]):
        with pytest.raises(TFLitePruneError, match="do not name distinct ones of 5"):
            keep_outputs(model, keep)
    with pytest.raises(TFLitePruneError, match="not a TFLite flatbuffer"):
        keep_outputs(b"\0" * 64, [0])
