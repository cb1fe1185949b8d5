"""Calibration and the "unknown" reject rule: the temperature fit, ECE, the threshold rule, the
`act-ros calibrate` command on a real trained model and the runtime applying its description;
and the named training recipes' flag defaults."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from act_ros.reject import REJECT_RULES, reject_scores
from act_ros.runtime import ActClassifier, softmax
from act_ros.training.calibrate import (
    choose_threshold,
    expected_calibration_error,
    fit_temperature,
    reject_report,
)


def _overconfident(n: int = 4000, classes: int = 6, true_t: float = 2.5, seed: int = 0):
    """Logits whose labels really follow softmax(logits / true_t): a model that is
    overconfident by a known factor."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 4.0, (n, classes))
    p = softmax(logits / true_t).astype(np.float64)
    labels = np.array([rng.choice(classes, p=row / row.sum()) for row in p])
    return logits, labels


def test_temperature_fit_recovers_the_overconfidence_and_lowers_ece():
    logits, labels = _overconfident()
    t = fit_temperature(logits, labels)
    assert t == pytest.approx(2.5, rel=0.1)
    before = expected_calibration_error(softmax(logits), labels)
    after = expected_calibration_error(softmax(logits / t), labels)
    assert after < 0.03 < before


@pytest.mark.parametrize("rule", REJECT_RULES)
def test_threshold_keeps_the_requested_share_of_right_windows_and_flags_the_rest(rule):
    logits, labels = _overconfident(true_t=1.0)
    right = logits.argmax(1) == labels
    thr = choose_threshold(reject_scores(rule, logits), right, keep=0.9)
    rep = reject_report(rule, thr, logits, labels, unknown_logits=np.full((10, 6), -3.0))
    assert rep["rule"] == rule and rep["known_right_kept_of_right"] == pytest.approx(0.9, abs=0.005)
    assert rep["unknown_flagged"] == 1.0  # uniform, low logits: below either rule's threshold
    assert rep["known_right_and_kept"] <= rep["known_right_kept_of_right"]


def test_the_two_rules_read_the_same_logits_differently():
    """Two windows with the same probabilities (logits shifted by a constant): max_probability
    scores them alike, max_logit tells the one with little evidence for any class."""
    strong = np.array([[9.0, 5.0, 5.0]])
    weak = strong - 8.0
    assert reject_scores("max_probability", strong) == pytest.approx(reject_scores("max_probability", weak))
    assert reject_scores("max_probability", strong)[0] == pytest.approx(softmax(strong).max())
    assert reject_scores("max_logit", strong)[0] == 9.0 and reject_scores("max_logit", weak)[0] == 1.0
    with pytest.raises(ValueError, match="unknown reject rule 'entropy'; choose one of"):
        reject_scores("entropy", strong)


def test_recipes_set_defaults_and_flags_still_win():
    """One concept: a recipe is its schedule policy plus parser defaults; small-data is what
    trained the shipped model (the paper's recipe at 20 epochs, batch 128, peak 2e-3, no
    clipping: the commands recorded in its description)."""
    from act_ros.training.recipes import RECIPES
    from act_ros.training.train import build_parser, parse_args

    stable = parse_args(["--dataset", "x.npz"])
    assert stable.recipe == "stable" and vars(stable) == vars(
        build_parser().parse_args(["--dataset", "x.npz"])
    )
    small = parse_args(["--recipe", "small-data", "--dataset", "x.npz"])
    assert (small.epochs, small.batch_size, small.peak_lr, small.clip_norm) == (20, 128, None, None)
    assert RECIPES["small-data"].peak_lr(64) == RECIPES["small-data"].peak_lr(128) == 2e-3
    assert RECIPES["small-data"].clip_norm == 0.0
    geometric = parse_args(["--recipe", "small-data-geometric"])
    for key, value in RECIPES["small-data-geometric"].defaults.items():
        assert getattr(geometric, key) == value, key
    assert geometric.balance_classes and geometric.select_metric == "balanced_accuracy"
    mine = parse_args(["--recipe", "small-data-geometric", "--epochs", "3", "--no-balance-classes"])
    assert mine.epochs == 3 and mine.balance_classes is False and mine.yaw_scale == 2.5
    with pytest.raises(SystemExit):
        parse_args(["--recipe", "nonsense"])
    with pytest.raises(SystemExit):  # the former name of the concept is gone
        parse_args(["--preset", "small-data"])


@pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")
def test_calibrate_command_writes_the_description_the_runtime_applies(tmp_path):
    pytest.importorskip("tensorflow")
    from act_ros.datasets.npz import load_npz_dataset
    from act_ros.model_spec import embedded_model_spec, load_model_spec
    from act_ros.training import calibrate
    from core_fixtures import small_lzq_npz, trained_micro

    run = trained_micro(0)
    recipe = json.loads((run / "run.json").read_text())["recipe"]  # the default, recorded
    assert recipe["name"] == "stable" and recipe["definition"]["clip_norm"] == 1.0
    assert recipe["clip_norm_used"] == 1.0 and recipe["peak_lr_used"] > 0
    assert recipe["epochs"] == 4 and recipe["batch_size"] == 64  # the flags given won
    model = tmp_path / "m.tflite"
    shutil.copy(run / "act_micro.tflite", model)
    shutil.copy(run / "act_micro.json", model.with_suffix(".json"))
    data = small_lzq_npz(tmp_path / "lzq.npz")
    assert calibrate.main([str(model), "--dataset", str(data), "--unknown", str(data)]) == 0
    spec = load_model_spec(model)  # embedded and copy agree, the checksum holds
    assert spec == embedded_model_spec(model)
    result = json.loads(model.with_suffix(".json").read_text())["training"]["calibration"]
    assert spec.temperature == pytest.approx(result["temperature"]) and spec.temperature > 0
    assert spec.unknown_threshold == pytest.approx(result["unknown_threshold"])
    assert spec.reject_rule == result["reject_rule"] == "max_logit"  # the default rule
    assert result["tune"]["known_right_kept_of_right"] >= 0.9
    assert set(result["rules"]) == set(REJECT_RULES)  # both rules reported at the same keep
    clf = ActClassifier(model)
    x = load_npz_dataset(data).part("val").features()[:8]
    np.testing.assert_allclose(
        clf.predict_proba(x), softmax(clf.predict_logits(x) / spec.temperature), atol=1e-6
    )
    assert clf.unknown_threshold == pytest.approx(spec.unknown_threshold)


def _result(temperature: float, threshold: float, rule: str = "max_probability") -> dict:
    return {"temperature": temperature, "unknown_threshold": threshold, "keep": 0.9, "reject_rule": rule}


def test_calibration_goes_into_the_embedded_description_weights_untouched(tmp_path):
    """No TensorFlow: the shipped default model recalibrated with given values. The embedded
    description and its copy carry them; every tensor and weight byte is what it was, and so
    are the logits; the probabilities follow the new temperature."""
    from act_ros.model_spec import SPEC_FORMAT_VERSION, EMBEDDED_NAME, embedded_model_spec, load_model_spec
    from act_ros.tflite_file import read_tflite
    from act_ros.training.calibrate import write_calibration
    from core_fixtures import lzq_dataset, model_copy_of

    model = model_copy_of("micro", tmp_path)
    before = read_tflite(model)
    x = lzq_dataset().features()[:16]
    logits = ActClassifier(model).predict_logits(x)
    spec = write_calibration(model, _result(1.7, 0.55))
    after = read_tflite(model)
    assert (after.weights_sha256, after.tensors) == (before.weights_sha256, before.tensors)
    embedded = json.loads(after.metadata[EMBEDDED_NAME])
    side = json.loads(model.with_suffix(".json").read_text())
    for data in (embedded, side):
        assert (data["temperature"], data["unknown_threshold"]) == (1.7, 0.55)
        assert data["training"]["calibration"]["keep"] == 0.9
        assert data["format_version"] == SPEC_FORMAT_VERSION and data["reject_rule"] == "max_probability"
    assert spec == load_model_spec(model) == embedded_model_spec(model)
    clf = ActClassifier(model)
    np.testing.assert_array_equal(clf.predict_logits(x), logits)
    np.testing.assert_allclose(clf.predict_proba(x), softmax(logits / 1.7), atol=1e-6)
    assert clf.unknown_threshold == 0.55


@pytest.mark.parametrize(
    "temperature, threshold, rule, reason",
    [
        (0.0, 0.5, "max_probability", "temperature: expected 0.05..20"),
        (50.0, 0.5, "max_probability", "temperature: expected 0.05..20"),
        (float("nan"), 0.5, "max_probability", "temperature: expected 0.05..20"),
        (1.0, 1.5, "max_probability", "unknown_threshold: expected a probability in 0..1"),
        (1.0, -0.1, "max_probability", "unknown_threshold: expected a probability in 0..1"),
        (1.0, 2000.0, "max_logit", r"unknown_threshold: expected a calibrated logit within \+-1000"),
        (1.0, float("inf"), "max_logit", "unknown_threshold: expected a calibrated logit"),
        (1.0, 0.5, "entropy", "reject_rule: expected one of max_probability, max_logit"),
    ],
)
def test_calibration_outside_its_range_is_refused_and_nothing_written(
    tmp_path, temperature, threshold, rule, reason
):
    from act_ros.model_spec import ModelMismatchError
    from act_ros.training.calibrate import write_calibration
    from core_fixtures import model_copy_of

    model = model_copy_of("micro", tmp_path)
    files = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    with pytest.raises(ModelMismatchError, match=reason):
        write_calibration(model, _result(temperature, threshold, rule))
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == files


def test_a_legacy_model_is_not_calibrated_but_told_how_to_upgrade(tmp_path, capsys):
    from act_ros.model_spec import ModelMismatchError
    from act_ros.training.calibrate import write_calibration
    from core_fixtures import legacy_copy

    legacy = legacy_copy("micro", tmp_path)
    with pytest.raises(ModelMismatchError, match=f"act-ros export --embed-description {legacy}"):
        write_calibration(legacy, _result(1.2, 0.5))
