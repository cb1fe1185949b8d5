"""train -> export -> load -> predict on small real data (LZQ), parity with Keras, short
windows and batches through TFLite, ensembles, evaluation and the studies."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("tensorflow")
# Keras 3 on numpy 2 warns about __array__(copy=...) inside its own code: not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")

from act_ros.datasets.npz import load_npz_dataset  # noqa: E402
from act_ros.model_checks import positional_embeddings, weights_precision  # noqa: E402
from act_ros.model_spec import EMBEDDED_NAME, SPEC_FORMAT_VERSION, load_model_spec  # noqa: E402
from act_ros.preprocessing import pose_features  # noqa: E402
from act_ros.runtime import ActClassifier  # noqa: E402
from act_ros.tflite_file import read_tflite  # noqa: E402
from core_fixtures import lzq_windows, small_lzq_npz, trained_micro  # noqa: E402


@pytest.fixture(scope="module")
def run():
    return trained_micro(0)


def test_training_run_folder(run):
    info = json.loads((run / "run.json").read_text())
    assert info["parameters"] == 227_156 - (20 - 7) * 257  # 7 LZQ classes
    assert info["class_names"] == ["stand", "walk", "squat", "wave", "operate", "fall_down", "run"]
    assert info["test_metrics"]["samples"] > 0 and info["val_metrics"]["samples"] > 0
    assert 1 <= info["best_epoch"] <= 4
    for name in ("model.keras", "history.csv", "curves.png", "confusion_test.png", "parity_features.npy"):
        assert (run / name).is_file(), name
    assert len((run / "history.csv").read_text().splitlines()) == 5
    # The default recipe, what it used, and the divergence verdict are recorded.
    assert info["recipe"]["name"] == "stable" and info["recipe"]["clip_norm_used"] == 1.0
    assert abs(info["recipe"]["peak_lr_used"] - 2.2e-3) < 1e-4  # micro's, whatever the steps
    assert info["divergence"] == {"diverged": False}


def test_exported_model_description_and_parity(run):
    path = run / "act_micro.tflite"
    spec = load_model_spec(path)
    assert spec.size == "micro" and spec.window_length == 30 and spec.num_features == 52
    assert spec.keypoint_layout == "coco17" and spec.frame_rate == 10.0
    assert spec.dynamic_length and spec.dynamic_batch and spec.precision == "fp32"
    parity = spec.training["parity"]
    for case in ("full", "short", "batch1"):
        assert parity[case]["max_abs_diff"] < 1e-4
        assert parity[case]["argmax_agreement"] == 1.0
    # The description travels inside the file; the .json beside it is the same, plus the hash.
    embedded = json.loads(read_tflite(path).metadata[EMBEDDED_NAME])
    assert embedded["training"]["parity"] == parity and embedded["format_version"] == SPEC_FORMAT_VERSION


def test_tflite_matches_keras_on_real_windows_of_any_length_and_batch(run):
    from act_ros.training.runs import load_run

    model, _ = load_run(run)
    clf = ActClassifier(run / "act_micro.tflite", num_threads=2)
    feats = pose_features(lzq_windows(12))
    for t in (30, 17, 3, 1):
        for n in (1, 5, 12):
            x = feats[:n, -t:]
            ref = model.predict(x, verbose=0)
            got = clf.predict_logits(x)
            assert got.shape == (n, 7)
            assert np.abs(got - ref).max() < 1e-4, (n, t)
    proba = clf.predict_proba(feats)
    assert np.allclose(proba.sum(1), 1, atol=1e-5)
    assert clf.predict_logits(np.zeros((0, 30, 52), np.float32)).shape == (0, 7)


def test_bad_feature_input_is_refused(run):
    clf = ActClassifier(run / "act_micro.tflite")
    with pytest.raises(ValueError, match="window length must be 1..30"):
        clf.predict_logits(np.zeros((1, 31, 52), np.float32))
    with pytest.raises(ValueError, match=r"\(N, t, 52\)"):
        clf.predict_logits(np.zeros((1, 30, 39), np.float32))
    with pytest.raises(ValueError, match="NaN"):
        clf.predict_logits(np.full((1, 30, 52), np.nan, np.float32))


def test_ensembles_list_of_files_and_single_file(run, tmp_path):
    """A list of files averages logits; a single exported ensemble file does the same inside."""
    from act_ros.training import export
    from act_ros.training.runs import load_run

    other = trained_micro(1)
    feats = pose_features(lzq_windows(6))
    a = ActClassifier(run / "act_micro.tflite").predict_logits(feats)
    b = ActClassifier(other / "act_micro.tflite").predict_logits(feats)
    pair = ActClassifier([run / "act_micro.tflite", other / "act_micro.tflite"])
    assert pair.ensemble_size == 2
    assert np.allclose(pair.predict_logits(feats), (a + b) / 2, atol=1e-5)
    assert export.main([str(run), str(other), "-o", str(tmp_path / "ens.tflite")]) == 0
    single = ActClassifier(tmp_path / "ens.tflite")
    assert single.spec.ensemble_size == 2 and single.ensemble_size == 2
    assert len(positional_embeddings(read_tflite(tmp_path / "ens.tflite"))) == 2
    assert np.allclose(single.predict_logits(feats), (a + b) / 2, atol=1e-4)
    ka, kb = load_run(run)[0], load_run(other)[0]
    keras_mean = (ka.predict(feats, verbose=0) + kb.predict(feats, verbose=0)) / 2
    assert np.abs(single.predict_logits(feats) - keras_mean).max() < 1e-4


@pytest.mark.parametrize("precision", ["fp16", "int8-dynamic"])
def test_quantised_exports_load_and_agree(run, tmp_path, precision):
    out = tmp_path / f"act_{precision}.tflite"
    from act_ros.training import export

    assert export.main([str(run), "-o", str(out), "--precision", precision]) == 0
    spec = load_model_spec(out)
    assert spec.precision == precision
    graph = read_tflite(out)
    assert weights_precision(graph) == precision  # what the load check compares
    assert [t.shape for t in positional_embeddings(graph)] == [(1, 31, 64)]
    assert spec.training["parity"]["full"]["argmax_agreement"] >= 0.9
    assert out.stat().st_size < (run / "act_micro.tflite").stat().st_size


def test_evaluate_and_studies_write_pictures(run, tmp_path, capsys):
    from act_ros import evaluate_cli
    from act_ros.training import study

    data = small_lzq_npz(tmp_path / "data.npz")
    out = tmp_path / "eval"
    assert (
        evaluate_cli.main([str(run / "act_micro.tflite"), "--dataset", str(data), "--output", str(out)]) == 0
    )
    metrics = json.loads((out / "metrics.json").read_text())["report"]
    ds = load_npz_dataset(data).part("test")
    assert metrics["samples"] == len(ds)
    assert np.array(metrics["confusion_matrix"]).sum() == len(ds)
    assert (out / "confusion.png").stat().st_size > 5000
    # The Keras run folder scores the same as its exported model.
    assert evaluate_cli.main([str(run), "--dataset", str(data), "--output", str(tmp_path / "k")]) == 0
    keras_metrics = json.loads((tmp_path / "k" / "metrics.json").read_text())["report"]
    assert keras_metrics["accuracy"] == pytest.approx(metrics["accuracy"], abs=2 / len(ds))

    assert (
        study.main(
            [
                "frames",
                str(run / "act_micro.tflite"),
                "--dataset",
                str(data),
                "--step",
                "10",
                "--output",
                str(tmp_path / "s"),
            ]
        )
        == 0
    )
    rows = json.loads((tmp_path / "s" / "frame_removal.json").read_text())["rows"]
    assert [r["frames_left"] for r in rows if r["removed_from"] == "end"] == [30, 20, 10]
    assert rows[0]["accuracy"] == pytest.approx(metrics["accuracy"], abs=1e-9)
    assert (
        study.main(
            [
                "attention",
                str(run),
                "--dataset",
                str(data),
                "--max-samples",
                "50",
                "--output",
                str(tmp_path / "s"),
            ]
        )
        == 0
    )
    for png in ("frame_removal.png", "attention_maps.png", "cls_attention.png", "positional_similarity.png"):
        assert (tmp_path / "s" / png).stat().st_size > 5000
    assert "removed" in capsys.readouterr().out


def test_training_is_deterministic_with_a_seed(tmp_path):
    from act_ros.training import train

    data = small_lzq_npz(tmp_path / "tiny.npz", stride=15)
    histories = []
    for name in ("a", "b"):
        out = tmp_path / name
        assert (
            train.main(
                [
                    "--dataset",
                    str(data),
                    "--epochs",
                    "2",
                    "--batch-size",
                    "64",
                    "--seed",
                    "7",
                    "--output",
                    str(out),
                    "--quiet",
                    "--rotate-deg",
                    "10",
                    "--crop-prob",
                    "0.3",
                ]
            )
            == 0
        )
        histories.append((out / "history.csv").read_text())
    assert histories[0] == histories[1]
