"""`act-ros train`: train AcT with a named recipe (every value overridable).

Defaults = paper Table II + reference code: AdamW (weight decay 1e-4), batch 512, 350 epochs,
label smoothing 0.1, dropout per size, lr = D^-0.5 * min(step^-0.5, step * warmup^-1.5) with
warm-up over 40% of the steps then a step to 1e-4 at 80%, flip (with left/right swap) p=0.5 +
Gaussian noise 0.03, keeping the checkpoint with the best VALIDATION accuracy, ties broken by the
lower validation loss (test data never selects anything). Validation = a stratified random 10%
of the training part (by groups when the dataset has them), or the dataset's own "val" split.
``--recipe stable`` (default) pins the schedule's peak to its MPOSE2021 value per size and clips
gradients, ``--recipe paper`` is the paper exactly, ``--recipe small-data-long`` is the shipped
micro model's (act_ros/training/recipes.py says why; a recipe also sets flag defaults). A
training whose curves collapse after a peak is reported loudly (act_ros/training/divergence.py).

``--seeds 0 1 2 ...`` runs the paper's protocol: one model per seed, each with its own
validation draw, and reports test mean +- std.
"""

from __future__ import annotations

import argparse
import csv
import json
import shlex
import sys
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

from act_ros.datasets.npz import PoseDataset
from act_ros.datasets.sources import DATASET_HELP, load_dataset
from act_ros.model_sizes import MODEL_SIZES
from act_ros.model_spec import class_name_problems
from act_ros.training.augment import Augmentation, augment
from act_ros.training.divergence import check_divergence
from act_ros.training.recipes import DEFAULT_RECIPE, RECIPES
from act_ros.training.runs import MODEL_FILE, save_run_info

PARITY_WINDOWS = 64


def validation_split(ds: PoseDataset, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Boolean masks (train, val) over ``ds``: stratified, and by group when groups exist."""
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedShuffleSplit

    n = len(ds)
    idx = np.arange(n)
    val = np.zeros(n, dtype=bool)
    if fraction <= 0:
        return ~val, val
    if ds.groups is not None and len(np.unique(ds.groups)) >= 2:
        folds = max(2, int(round(1 / fraction)))
        splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
        _, val_idx = next(splitter.split(idx, ds.labels, ds.groups))
    else:
        splitter = StratifiedShuffleSplit(n_splits=1, test_size=fraction, random_state=seed)
        _, val_idx = next(splitter.split(idx, ds.labels))
    val[val_idx] = True
    return ~val, val


def balanced_indices(labels: np.ndarray, num_classes: int, rng: np.random.Generator) -> np.ndarray:
    """One epoch of indices drawn with replacement so that every class present is equally
    likely (as many as there are samples): rare classes (wave) are seen as often as common ones."""
    counts = np.bincount(labels, minlength=num_classes).astype(np.float64)
    weight = 1.0 / np.where(counts > 0, counts, 1.0)[labels]
    return rng.choice(len(labels), size=len(labels), replace=True, p=weight / weight.sum())


def make_schedule(
    d_model: int,
    total_steps: int,
    warmup_fraction: float,
    step_fraction: float,
    final_lr: float,
    peak_lr: float | None = None,
):
    import keras
    from keras import ops

    @keras.saving.register_keras_serializable(package="act_ros")
    class TransformerSchedule(keras.optimizers.schedules.LearningRateSchedule):
        """Paper: D^-0.5 * min(step^-0.5, step * warmup^-1.5), then ``final_lr`` from
        ``step_at`` on."""

        def __init__(self, d_model, warmup_steps, step_at, final_lr):
            self.d_model, self.warmup_steps = d_model, warmup_steps
            self.step_at, self.final_lr = step_at, final_lr

        def __call__(self, step):
            step = ops.cast(step, "float32") + 1.0
            lr = (self.d_model**-0.5) * ops.minimum(step**-0.5, step * self.warmup_steps**-1.5)
            return ops.where(step > self.step_at, self.final_lr, lr)

        def get_config(self):
            return {
                "d_model": self.d_model,
                "warmup_steps": self.warmup_steps,
                "step_at": self.step_at,
                "final_lr": self.final_lr,
            }

    warmup = max(1.0, warmup_fraction * total_steps)
    # The paper's peak, D^-0.5 * warmup^-0.5, grows as training gets shorter (350 MPOSE epochs:
    # ~2.4e-3 for micro; 60 epochs of a small dataset: ~1e-2, which made post-norm AcT diverge).
    # ``peak_lr`` rescales the same curve to a chosen peak instead.
    scale = 1.0 if peak_lr is None else peak_lr / (d_model**-0.5 * warmup**-0.5)
    return TransformerSchedule(
        float(d_model) / scale**2, float(warmup), float(step_fraction * total_steps), float(final_lr)
    )


def schedule_peak(schedule) -> float:
    """The highest learning rate ``schedule`` reaches (at the end of its warm-up)."""
    return float(schedule(max(0.0, schedule.warmup_steps - 1.0)))


def plot_curves(history: list[dict], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [h["epoch"] for h in history]
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4))
    a.plot(epochs, [h["loss"] for h in history], label="train loss")
    a.plot(epochs, [h["val_loss"] for h in history], label="validation loss")
    a.set_xlabel("epoch")
    a.legend()
    b.plot(epochs, [h["accuracy"] for h in history], label="train accuracy (augmented)")
    b.plot(epochs, [h["val_accuracy"] for h in history], label="validation accuracy")
    b.plot(epochs, [h["val_balanced_accuracy"] for h in history], label="validation balanced acc.")
    b.set_xlabel("epoch")
    b.set_ylim(0, 1.01)
    b.legend()
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def train_run(ds: PoseDataset, out_dir: Path, args: argparse.Namespace, seed: int, command: str) -> dict:
    """Train one model on ``ds`` into ``out_dir``; return the run info (also in run.json)."""
    import keras
    import tensorflow as tf
    from sklearn.metrics import balanced_accuracy_score
    from tqdm import tqdm

    from act_ros.training.metrics import classification_report, plot_confusion
    from act_ros.model_sizes import act_size
    from act_ros.training.model import build_act

    out_dir.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()
    rng = np.random.default_rng(seed)

    has_split = ds.split is not None
    train = ds.part("train") if has_split else ds
    test = ds.part("test") if has_split and np.any(ds.split == "test") else None
    if has_split and np.any(ds.split == "val"):
        val = ds.part("val")
        val_source = "dataset split 'val'"
    else:
        val_seed = seed if args.val_seed is None else args.val_seed
        tr_mask, val_mask = validation_split(train, args.val_fraction, val_seed)
        train, val = train.subset(tr_mask), train.subset(val_mask)
        val_source = f"{args.val_fraction:.0%} of train, stratified, seed {val_seed}"
    if len(val) == 0:
        raise ValueError("no validation data: the best checkpoint needs it (set --val-fraction)")

    size_cfg = act_size(args.size)
    recipe = RECIPES[args.recipe]
    peak_lr = args.peak_lr if args.peak_lr is not None else recipe.peak_lr(size_cfg.d_model)
    clip_norm = args.clip_norm if args.clip_norm is not None else recipe.clip_norm
    x_train, y_train = train.features(), train.labels
    x_val, y_val = val.features(), val.labels
    c = ds.num_classes
    steps_per_epoch = int(np.ceil(len(x_train) / args.batch_size))
    schedule = make_schedule(
        size_cfg.d_model,
        steps_per_epoch * args.epochs,
        args.warmup_fraction,
        args.step_fraction,
        args.final_lr,
        peak_lr,
    )
    peak_used = schedule_peak(schedule)
    model = build_act(args.size, c, ds.window_length)
    model.compile(
        optimizer=keras.optimizers.AdamW(
            learning_rate=schedule, weight_decay=args.weight_decay, global_clipnorm=clip_norm or None
        ),
        loss=keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=args.label_smoothing),
        metrics=["accuracy"],
        jit_compile=args.jit,
    )
    aug = Augmentation(
        flip_prob=args.flip_prob,
        noise_std=args.noise_std,
        rotate_deg=args.rotate_deg,
        scale_range=args.scale_range,
        yaw_scale=args.yaw_scale,
        crop_prob=args.crop_prob,
        joint_dropout=args.joint_dropout,
    )
    y_train_1h = np.eye(c, dtype=np.float32)[y_train]
    y_val_1h = np.eye(c, dtype=np.float32)[y_val]

    history: list[dict] = []
    divergence = {"diverged": False}
    best = {"epoch": -1, "score": -1.0, "val_loss": np.inf}
    select = args.select_metric
    started = time.time()
    bar = tqdm(range(args.epochs), desc=f"{args.size} seed {seed}", unit="epoch", disable=args.quiet)
    for epoch in bar:
        pick = balanced_indices(y_train, c, rng) if args.balance_classes else slice(None)
        x_aug = augment(x_train[pick], aug, rng)
        fit = model.fit(
            x_aug, y_train_1h[pick], batch_size=args.batch_size, epochs=1, shuffle=True, verbose=0
        )
        val_logits = model.predict(x_val, batch_size=1024, verbose=0)
        val_loss = float(
            keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=args.label_smoothing)(
                y_val_1h, val_logits
            )
        )
        val_pred = val_logits.argmax(1)
        row = {
            "epoch": epoch + 1,
            "loss": float(fit.history["loss"][-1]),
            "accuracy": float(fit.history["accuracy"][-1]),
            "val_loss": val_loss,
            "val_accuracy": float(np.mean(val_pred == y_val)),
            "val_balanced_accuracy": float(balanced_accuracy_score(y_val, val_pred)),
            "lr": float(schedule(model.optimizer.iterations - 1)),
        }
        history.append(row)
        score = row["val_accuracy"] if select == "accuracy" else row["val_balanced_accuracy"]
        # Ties (small validation sets saturate at 100%) go to the lower validation loss.
        if score > best["score"] or (score == best["score"] and val_loss < best["val_loss"]):
            best = {"epoch": epoch + 1, "score": score, "val_loss": val_loss}
            model.save(out_dir / MODEL_FILE)
        bar.set_postfix(
            loss=f"{row['loss']:.3f}",
            val=f"{row['val_accuracy']:.3f}",
            best=f"{best['score']:.3f}@{best['epoch']}",
        )
        if not divergence["diverged"]:
            divergence = check_divergence(history)
            if divergence["diverged"]:
                tqdm.write(
                    f"WARNING: {out_dir}: training diverged: {divergence['reason']} "
                    f"(peak learning rate {peak_used:.2e}: try a lower --peak-lr)",
                    file=sys.stderr,
                )
        if not np.isfinite(row["loss"]):
            break  # nothing more to learn from NaN weights; the best checkpoint stays
    train_seconds = time.time() - started
    if divergence["diverged"]:
        divergence["at_end"] = check_divergence(history)["diverged"]

    with open(out_dir / "history.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(history[0]))
        writer.writeheader()
        writer.writerows(history)
    plot_curves(
        history,
        out_dir / "curves.png",
        f"AcT-{args.size}, seed {seed}: best validation {select} {best['score']:.3f} "
        f"at epoch {best['epoch']}"
        + (f"\nDIVERGED: {divergence['reason']}" if divergence["diverged"] else ""),
    )

    best_model = keras.saving.load_model(out_dir / MODEL_FILE, compile=False)
    val_report = classification_report(y_val, best_model.predict(x_val, verbose=0), ds.class_names)
    plot_confusion(val_report, out_dir / "confusion_val.png")
    test_report = None
    if test is not None and len(test):
        test_logits = best_model.predict(test.features(), batch_size=1024, verbose=0)
        test_report = classification_report(test.labels, test_logits, ds.class_names)
        plot_confusion(test_report, out_dir / "confusion_test.png")
    pick = np.linspace(0, len(x_val) - 1, min(PARITY_WINDOWS, len(x_val))).astype(int)
    np.save(out_dir / "parity_features.npy", x_val[pick])

    info = {
        "size": args.size,
        "seed": seed,
        "class_names": list(ds.class_names),
        "keypoint_layout": ds.keypoint_layout,
        "window_length": ds.window_length,
        "frame_rate": ds.frame_rate,
        "dataset": {
            "source": ds.source,
            "argument": args.dataset,
            "train": len(train),
            "val": len(val),
            "test": 0 if test is None else len(test),
            "validation": val_source,
        },
        "recipe": {
            "name": recipe.name,
            "definition": recipe.record(),
            "peak_lr_used": peak_used,
            "clip_norm_used": clip_norm,
            **{
                k: getattr(args, k)
                for k in (
                    "epochs",
                    "batch_size",
                    "weight_decay",
                    "label_smoothing",
                    "warmup_fraction",
                    "step_fraction",
                    "final_lr",
                    "peak_lr",
                    "clip_norm",
                    "val_fraction",
                    "select_metric",
                    "jit",
                    "balance_classes",
                )
            },
        },
        "divergence": divergence,
        "augmentation": asdict(aug),
        "best_epoch": best["epoch"],
        f"best_val_{select}": best["score"],
        "train_seconds": round(train_seconds, 1),
        "val_metrics": val_report,
        "test_metrics": test_report,
        "command": command,
        "parameters": int(best_model.count_params()),
    }
    save_run_info(out_dir, info)
    return info


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="act-ros train",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--dataset", default="mpose2021:openpose:1", help=DATASET_HELP)
    p.add_argument("--size", default="micro", choices=MODEL_SIZES)
    p.add_argument("--output", type=Path, default=Path("runs/act"), help="run folder")
    p.add_argument(
        "--window-length",
        type=int,
        default=30,
        help="T for datasets cut on the fly (lzq:); files keep theirs",
    )
    p.add_argument("--epochs", type=int, default=350)
    p.add_argument("--batch-size", type=int, default=512)
    p.add_argument("--weight-decay", type=float, default=1e-4)
    p.add_argument("--label-smoothing", type=float, default=0.1)
    p.add_argument("--warmup-fraction", type=float, default=0.4)
    p.add_argument("--step-fraction", type=float, default=0.8)
    p.add_argument("--final-lr", type=float, default=1e-4)
    p.add_argument(
        "--recipe",
        choices=tuple(RECIPES),
        default=DEFAULT_RECIPE,
        help="; ".join(f"{r.name}: {r.description}" for r in RECIPES.values()),
    )
    p.add_argument(
        "--peak-lr",
        type=float,
        default=None,
        help="rescale the schedule to this peak (default: the recipe's; paper: "
        "D^-0.5 * warmup^-0.5, which is large for short trainings)",
    )
    p.add_argument(
        "--clip-norm",
        type=float,
        default=None,
        help="clip the global gradient norm at this value, 0 = off (default: the recipe's)",
    )
    p.add_argument("--flip-prob", type=float, default=0.5)
    p.add_argument("--noise-std", type=float, default=0.03)
    p.add_argument("--rotate-deg", type=float, default=0.0, help="random rotation +- degrees")
    p.add_argument("--scale-range", type=float, default=0.0, help="random x/y scale 1 +- range")
    p.add_argument(
        "--yaw-scale",
        type=float,
        default=1.0,
        help="random horizontal-only scale in [1/s, s] (viewpoint); 1 = off",
    )
    p.add_argument(
        "--crop-prob",
        type=float,
        default=0.0,
        help="probability of a random temporal crop (front-padded like the node)",
    )
    p.add_argument(
        "--joint-dropout",
        type=float,
        default=0.0,
        help="probability of a joint being dropped (missing) in a frame",
    )
    p.add_argument(
        "--balance-classes",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="draw every epoch class-balanced (with replacement)",
    )
    p.add_argument("--val-fraction", type=float, default=0.1)
    p.add_argument("--val-seed", type=int, default=None, help="default: the training seed")
    p.add_argument(
        "--select-metric",
        choices=("accuracy", "balanced_accuracy"),
        default="accuracy",
        help="validation metric that picks the checkpoint",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--seeds",
        type=int,
        nargs="+",
        default=None,
        help="paper protocol: one run per seed (output/seed_<k>), test mean +- std",
    )
    p.add_argument(
        "--no-jit",
        dest="jit",
        action="store_const",
        const=False,
        default="auto",
        help="disable XLA (default: Keras decides)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def parse_args(argv: list[str]) -> argparse.Namespace:
    """The command line with the chosen recipe's values as defaults (flags still win)."""
    parser = build_parser()
    known, _ = parser.parse_known_args(argv)
    if known.recipe in RECIPES:  # an unknown one: the full parse below says so
        parser.set_defaults(**RECIPES[known.recipe].defaults)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    from act_ros.training.metrics import format_report, mean_std

    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    command = "act-ros train " + " ".join(shlex.quote(a) for a in argv)
    ds = load_dataset(args.dataset, window_length=args.window_length)
    problems = class_name_problems(list(ds.class_names))
    if problems:  # refused now, not by the export after hours of training
        print(
            f"act-ros train: {args.dataset}: its class names cannot name a model's outputs: "
            + "; ".join(problems),
            file=sys.stderr,
        )
        return 2
    print(
        f"dataset: {ds.source}: {len(ds)} windows of {ds.window_length} frames, "
        f"{ds.num_classes} classes, layout {ds.keypoint_layout}"
    )
    seeds = args.seeds or [args.seed]
    infos = []
    for seed in seeds:
        out = args.output / f"seed_{seed}" if args.seeds else args.output
        info = train_run(ds, out, args, seed, command)
        infos.append(info)
        print(
            f"run {out}: best validation {args.select_metric} "
            f"{info[f'best_val_{args.select_metric}']:.4f} at epoch {info['best_epoch']} "
            f"({info['train_seconds']:.0f} s, recipe {args.recipe}, peak learning rate "
            f"{info['recipe']['peak_lr_used']:.2e})"
        )
        if info["divergence"]["diverged"]:
            print(
                f"WARNING: {out}: training DIVERGED: {info['divergence']['reason']}. The "
                f"best-validation checkpoint (epoch {info['best_epoch']}) was kept, but do not "
                f"trust this run: look at curves.png and retrain with a lower --peak-lr "
                f"(run.json 'divergence')",
                file=sys.stderr,
            )
        if info["test_metrics"]:
            print(format_report(info["test_metrics"], "test (best-validation checkpoint):"))
    tests = [i["test_metrics"] for i in infos if i["test_metrics"]]
    if args.seeds and tests:
        summary = mean_std(tests)
        (args.output / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
        print(
            f"protocol over {summary['runs']} seeds: test accuracy "
            f"{summary['accuracy']['mean']:.4f} +- {summary['accuracy']['std']:.4f}, "
            f"balanced accuracy {summary['balanced_accuracy']['mean']:.4f} +- "
            f"{summary['balanced_accuracy']['std']:.4f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
