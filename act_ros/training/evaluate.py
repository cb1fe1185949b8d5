"""`act-ros evaluate <model> --dataset ...`: score AcT models on a dataset part.

Models are exported ``.tflite`` files (scored with the robot's runtime, so what ships is what is
measured) or training run folders (Keras). Several models are an ensemble (logits averaged)
unless ``--each`` asks for the paper's protocol: every model scored alone, then mean +- std.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from act_ros.datasets.npz import PoseDataset
from act_ros.datasets.sources import DATASET_HELP, load_dataset


class LogitsModel:
    """A .tflite file (runtime) or a run folder (Keras) behind one ``logits(features)`` call."""

    def __init__(self, path: str | Path, num_threads: int = 2) -> None:
        self.path = Path(path)
        if self.path.is_dir():
            from act_ros.training.runs import load_run, run_model_spec

            self.keras_model, info = load_run(self.path)
            self.spec = run_model_spec(self.path, info)
            self.runtime = None
        else:
            from act_ros.runtime import ActClassifier

            self.runtime = ActClassifier(self.path, num_threads=num_threads)
            self.spec = self.runtime.spec
        self.class_names = self.spec.class_names
        self.window_length = self.spec.window_length

    def check(self, ds: PoseDataset) -> None:
        """ModelMismatchError unless the dataset's poses, classes and windows fit the model."""
        self.spec.check(
            str(self.path),
            keypoint_layout=ds.keypoint_layout,
            class_names=tuple(ds.class_names),
            window_length=ds.window_length,
        )

    def logits(self, features: np.ndarray, batch: int = 256) -> np.ndarray:
        if self.runtime is None:
            return np.asarray(self.keras_model.predict(features, batch_size=batch, verbose=0))
        return (
            np.concatenate(
                [self.runtime.predict_logits(features[i : i + batch]) for i in range(0, len(features), batch)]
            )
            if len(features)
            else np.zeros((0, len(self.class_names)), np.float32)
        )


def select_part(ds: PoseDataset, part: str) -> PoseDataset:
    if part == "all" or ds.split is None:
        return ds
    return ds.part(part)


def main(argv: list[str] | None = None) -> int:
    from act_ros.training.metrics import classification_report, format_report, mean_std, plot_confusion

    p = argparse.ArgumentParser(
        prog="act-ros evaluate",
        description=__doc__.split("\n\n")[0],
        epilog="A ROS 2 bag as first argument scores the running nodes instead: act-ros evaluate BAG --help",
    )
    p.add_argument("models", nargs="+", type=Path, help=".tflite files or training run folders")
    p.add_argument("--dataset", required=True, help=DATASET_HELP)
    p.add_argument(
        "--part",
        default="test",
        choices=("train", "val", "test", "all"),
        help="which split to score (datasets without splits: all)",
    )
    p.add_argument(
        "--each", action="store_true", help="score each model alone and report mean +- std (paper protocol)"
    )
    p.add_argument(
        "--output", type=Path, default=None, help="folder for metrics.json and the confusion matrix PNG"
    )
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args(argv)

    ds = select_part(load_dataset(args.dataset), args.part)
    models = [LogitsModel(m, args.threads) for m in args.models]
    for m in models:
        m.check(ds)
    feats = ds.features()
    logits = [m.logits(feats) for m in models]
    result: dict = {"dataset": ds.source, "part": args.part, "models": [str(m) for m in args.models]}
    if args.each:
        reports = [classification_report(ds.labels, lg, ds.class_names) for lg in logits]
        for path, rep in zip(args.models, reports):
            print(format_report(rep, f"{path}:"))
        summary = mean_std(reports)
        result.update(each=reports, summary=summary)
        print(
            f"\nover {summary['runs']} models: accuracy {summary['accuracy']['mean']:.4f} +- "
            f"{summary['accuracy']['std']:.4f}, balanced accuracy "
            f"{summary['balanced_accuracy']['mean']:.4f} +- "
            f"{summary['balanced_accuracy']['std']:.4f}"
        )
        report = reports[0]
    else:
        report = classification_report(ds.labels, np.mean(logits, axis=0), ds.class_names)
        result.update(report=report)
        label = "ensemble of " + str(len(models)) if len(models) > 1 else str(args.models[0])
        print(format_report(report, f"{label} on {ds.source} [{args.part}]:"))
    if args.output:
        args.output.mkdir(parents=True, exist_ok=True)
        (args.output / "metrics.json").write_text(json.dumps(result, indent=2) + "\n")
        png = plot_confusion(report, args.output / "confusion.png")
        print(f"wrote {args.output / 'metrics.json'} and {png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
