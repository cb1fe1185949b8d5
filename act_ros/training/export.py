"""`act-ros export`: trained Keras AcT -> TFLite (fp32 / fp16 / dynamic-range int8) with its
description embedded (``act_ros.model_spec``; ``<model>.json`` is a readable copy), and a parity
check against Keras on real inputs.

``act-ros export --embed-description MODEL.tflite`` (no TensorFlow needed) upgrades a model whose
description is only in its sidecar (format 1) to the embedded form, same weights, after checking
the description against the graph; on a model that has one already, it rewrites the sidecar
from the embedded description.

The exported graph takes input [batch, t, 52] with both batch and t dynamic (t <= T: the
positional embedding is sliced), so N people run in one invoke and short windows work. Several
runs exported together become ONE file whose graph averages their logits (an AcT-mu xN
ensemble); ``ensemble_size`` in the description says so.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

from act_ros.model_spec import (
    check_against_graph,
    PRECISIONS,
    SPEC_FORMAT_VERSION,
    ModelMismatchError,
    ModelSpec,
    embedded_model_spec,
    legacy_model_spec,
    load_model_spec,
    rewrite_description,
    write_model_spec,
)
from act_ros.preprocessing import FEATURE_SPEC, NUM_FEATURES, PREPROCESSING_VERSION
from act_ros.tflite_file import read_tflite

# Keras vs TFLite logits, fp32 (PERF_BASELINE: 4e-6 measured). Quantised models are checked on
# the agreement of their decisions instead.
FP32_TOLERANCE = 1e-4


class ParityError(RuntimeError):
    """The exported model does not compute what the Keras model computes."""


def _converter_for(models, num_features: int, workdir: str):
    import keras
    import tensorflow as tf

    models = list(models)

    def serve(features):
        logits = [m(features, training=False) for m in models]
        return tf.add_n(logits) / float(len(logits)) if len(logits) > 1 else logits[0]

    # Keras' own SavedModel export: converting a plain tf.function over Keras 3 layers keeps the
    # weights as resource variables (READ_VARIABLE ops that fail at invoke); this freezes them.
    archive = keras.export.ExportArchive()
    for m in models:
        archive.track(m)
    archive.add_endpoint(
        "serve",
        serve,
        input_signature=[tf.TensorSpec([None, None, num_features], tf.float32, name="features")],
    )
    archive.write_out(workdir, verbose=False)
    return tf.lite.TFLiteConverter.from_saved_model(workdir)


def convert_to_tflite(models, precision: str = "fp32", num_features: int = NUM_FEATURES) -> bytes:
    """TFLite flatbuffer of the (averaged) models."""
    import tensorflow as tf

    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    with tempfile.TemporaryDirectory(prefix="act_export_") as workdir:
        converter = _converter_for(models, num_features, workdir)
        if precision in ("fp16", "int8-dynamic"):
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
        if precision == "fp16":
            converter.target_spec.supported_types = [tf.float16]
        return converter.convert()


def export_models(
    models,
    output: str | Path,
    *,
    name: str,
    size: str,
    class_names: tuple[str, ...],
    keypoint_layout: str,
    window_length: int,
    precision: str = "fp32",
    frame_rate: float | None = None,
    training: dict | None = None,
) -> ModelSpec:
    """Write ``output`` (.tflite, its description embedded) and the readable ``.json`` copy;
    return the description. An invalid description (class names, ranges) is refused before
    anything is converted."""
    output = Path(output)
    if output.suffix != ".tflite":
        raise ValueError(f"output must end in .tflite, got {output}")
    spec = ModelSpec(
        name=name,
        size=size,
        class_names=tuple(class_names),
        keypoint_layout=keypoint_layout,
        window_length=int(window_length),
        num_features=NUM_FEATURES,
        feature_spec=FEATURE_SPEC,
        preprocessing_version=PREPROCESSING_VERSION,
        dynamic_length=True,
        dynamic_batch=True,
        precision=precision,
        sha256="",
        frame_rate=frame_rate,
        ensemble_size=len(list(models)),
        training=dict(training or {}),
    )
    spec.validate(f"{output} (description to embed)")
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_bytes(convert_to_tflite(models, precision))
    write_model_spec(output, spec)
    return load_model_spec(output)


def embed_description(model: Path) -> str:
    """``--embed-description``: embed the sidecar of a format-1 model (same weights), or rewrite
    the sidecar of a model whose description is embedded already. The result is checked against
    the graph and runs a full window before the model is replaced. Returns what was done."""
    from act_ros.runtime import ActClassifier

    model = Path(model)
    spec = embedded_model_spec(model)
    embedded = spec is not None
    if not embedded:
        spec = legacy_model_spec(model)
        check_against_graph(spec, read_tflite(model), str(model))
    side = rewrite_description(model, spec, probe=ActClassifier)
    done = (
        "its description was embedded already"
        if embedded
        else f"embedded its description (format {SPEC_FORMAT_VERSION})"
    )
    return (
        f"{model}: {done}, weights sha256 {read_tflite(model).weights_sha256[:16]}...; "
        f"wrote the readable copy {side}"
    )


def keras_logits(models, features: np.ndarray) -> np.ndarray:
    """Averaged Keras logits (graph mode, batched)."""
    outs = [np.asarray(m.predict(features, batch_size=256, verbose=0), np.float64) for m in models]
    return np.mean(outs, axis=0)


def parity_check(models, tflite_path: str | Path, features: np.ndarray, precision: str = "fp32") -> dict:
    """Compare the exported model with Keras on real features: full windows as a batch, a
    shorter window length, and batch 1. Raises ParityError if fp32 logits differ by more than
    ``FP32_TOLERANCE`` (quantised: if fewer than 90% of the decisions agree)."""
    from act_ros.runtime import ActClassifier

    clf = ActClassifier(tflite_path)
    t = features.shape[1]
    report = {}
    cases = {"full": features, "short": features[:, t // 2 :], "batch1": features[:1]}
    for case, x in cases.items():
        ref = keras_logits(models, x)
        got = clf.predict_logits(x).astype(np.float64)
        report[case] = {
            "max_abs_diff": float(np.abs(ref - got).max()),
            "argmax_agreement": float(np.mean(ref.argmax(1) == got.argmax(1))),
            "windows": int(x.shape[0]),
            "frames": int(x.shape[1]),
        }
    worst = max(r["max_abs_diff"] for r in report.values())
    agree = min(r["argmax_agreement"] for r in report.values())
    report["precision"] = precision
    if not np.isfinite(worst):
        raise ParityError(f"{tflite_path}: the exported model outputs NaN/inf: {report}")
    if precision == "fp32" and worst > FP32_TOLERANCE:
        raise ParityError(
            f"{tflite_path}: TFLite fp32 logits differ from Keras by {worst:.3g} "
            f"(tolerance {FP32_TOLERANCE}): {report}"
        )
    if precision != "fp32" and agree < 0.9:
        raise ParityError(
            f"{tflite_path}: {precision} model agrees with Keras on only {agree:.0%} of decisions: {report}"
        )
    return report


def main(argv: list[str] | None = None) -> int:
    from act_ros.training.runs import load_run

    parser = argparse.ArgumentParser(
        prog="act-ros export",
        description="Export trained AcT run(s) to TFLite, the description embedded in the file "
        "(a readable .json copy beside it). Several runs give one ensemble file "
        "averaging their logits.",
    )
    parser.add_argument("runs", nargs="*", type=Path, help="training run folder(s) (act-ros train)")
    parser.add_argument("-o", "--output", type=Path, help="output .tflite path")
    parser.add_argument("--precision", choices=PRECISIONS, default="fp32")
    parser.add_argument("--name", default=None, help="model name in the description")
    parser.add_argument(
        "--skip-parity", action="store_true", help="do not compare with Keras (not recommended)"
    )
    parser.add_argument(
        "--embed-description",
        nargs="+",
        type=Path,
        metavar="MODEL.tflite",
        help="instead of exporting: embed the .json description of these "
        "models into them (models exported before descriptions were "
        "embedded; same weights), or rewrite the .json copy of models "
        "that have one. Needs no TensorFlow",
    )
    args = parser.parse_args(argv)
    if args.embed_description:
        if args.runs or args.output:
            parser.error("--embed-description takes model files only (no runs, no --output)")
        try:
            for model in args.embed_description:
                print(embed_description(model))
        except (ModelMismatchError, FileNotFoundError) as exc:
            print(f"act-ros export: error: {exc}", file=sys.stderr)
            return 2
        return 0
    if not args.runs or args.output is None:
        parser.error("give the training run folder(s) and --output (or --embed-description)")

    loaded = [load_run(r) for r in args.runs]
    models = [m for m, _ in loaded]
    infos = [i for _, i in loaded]
    first = infos[0]
    for run, info in zip(args.runs[1:], infos[1:]):
        for key in ("class_names", "keypoint_layout", "window_length", "size"):
            if info[key] != first[key]:
                print(
                    f"act-ros export: {run} has {key}={info[key]!r}, {args.runs[0]} has "
                    f"{first[key]!r}: an ensemble needs identical ones",
                    file=sys.stderr,
                )
                return 2
    training = {
        "runs": [str(r) for r in args.runs],
        "commands": [i.get("command") for i in infos],
        "dataset": first.get("dataset"),
        "seeds": [i.get("seed") for i in infos],
        "test_metrics": [i.get("test_metrics") for i in infos],
    }
    spec = export_models(
        models,
        args.output,
        name=args.name or args.output.stem,
        size=first["size"],
        class_names=tuple(first["class_names"]),
        keypoint_layout=first["keypoint_layout"],
        window_length=first["window_length"],
        precision=args.precision,
        frame_rate=first.get("frame_rate"),
        training=training,
    )
    print(
        f"wrote {args.output} ({args.output.stat().st_size / 1e6:.2f} MB) and "
        f"{args.output.with_suffix('.json')}"
    )
    if not args.skip_parity:
        feats = np.load(Path(args.runs[0]) / "parity_features.npy")
        report = parity_check(models, args.output, feats, args.precision)
        print("parity vs Keras:", json.dumps(report))
        # Recorded in the description: re-embedding changes the metadata, not the weights.
        write_model_spec(args.output, dataclasses.replace(spec, training={**spec.training, "parity": report}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
