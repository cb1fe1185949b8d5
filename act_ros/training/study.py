"""`act-ros study`: the paper's introspection and robustness studies, as tables and PNGs.

act-ros study attention RUN --dataset D   attention maps per layer/head (Fig. 10), [CLS]
                                          attention per frame by class (Fig. 8) and the
                                          positional-embedding cosine similarity (Fig. 7)
act-ros study frames MODEL.. --dataset D  accuracy as frames are removed from the start or
                                          the end of the window, no retraining (Fig. 9)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from act_ros.datasets.sources import DATASET_HELP, load_dataset
from act_ros.preprocessing import pose_features


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def attention_maps(run_dir: Path, features: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """Per layer the attention weights (N, H, T+1, T+1) and the positional embedding (T+1, D)."""
    from act_ros.training.model import build_act
    from act_ros.training.runs import load_run

    model, info = load_run(run_dir)
    probe = build_act(
        info["size"], len(info["class_names"]), int(info["window_length"]), return_attention=True
    )
    probe.set_weights(model.get_weights())
    outputs = probe.predict(features, batch_size=256, verbose=0)
    position = np.asarray(model.get_layer("embedding").position)[0]
    return [np.asarray(o) for o in outputs[1:]], position


def cosine_similarity(vectors: np.ndarray) -> np.ndarray:
    unit = vectors / np.maximum(np.linalg.norm(vectors, axis=-1, keepdims=True), 1e-12)
    return unit @ unit.T


def study_attention(run_dir: Path, ds, out: Path) -> dict:
    plt = _plt()
    maps, position = attention_maps(run_dir, ds.features())
    layers, heads = len(maps), maps[0].shape[1]
    fig, axes = plt.subplots(heads, layers, figsize=(3 * layers, 3 * heads), squeeze=False)
    for li, m in enumerate(maps):
        for h in range(heads):
            ax = axes[h][li]
            ax.imshow(m[:, h].mean(0), cmap="viridis")
            ax.set_title(f"layer {li + 1}, head {h + 1}", fontsize=9)
            ax.set_xlabel("key token (0 = CLS)", fontsize=8)
            ax.set_ylabel("query token", fontsize=8)
    fig.suptitle(f"Mean attention maps over {len(ds)} windows")
    fig.tight_layout()
    fig.savefig(out / "attention_maps.png", dpi=90)
    plt.close(fig)

    # [CLS] -> frame attention of the last layer, averaged over heads, per class (Fig. 8).
    cls_to_frames = maps[-1][:, :, 0, 1:].mean(1)  # (N, T)
    fig, ax = plt.subplots(figsize=(8, 4))
    per_class = {}
    for i, name in enumerate(ds.class_names):
        sel = ds.labels == i
        if sel.any():
            per_class[name] = cls_to_frames[sel].mean(0).tolist()
            ax.plot(np.arange(1, cls_to_frames.shape[1] + 1), per_class[name], label=name)
    ax.set_xlabel("frame")
    ax.set_ylabel("[CLS] attention (last layer)")
    ax.legend(fontsize=8, ncol=2)
    fig.tight_layout()
    fig.savefig(out / "cls_attention.png", dpi=100)
    plt.close(fig)

    sim = cosine_similarity(position)
    fig, ax = plt.subplots(figsize=(5, 4.5))
    im = ax.imshow(sim, cmap="coolwarm", vmin=-1, vmax=1)
    fig.colorbar(im, ax=ax)
    ax.set_title("positional embedding cosine similarity (0 = CLS)")
    fig.tight_layout()
    fig.savefig(out / "positional_similarity.png", dpi=100)
    plt.close(fig)
    return {"cls_attention_per_class": per_class, "positional_similarity": sim.tolist()}


def frame_removal(models, ds, steps: list[int]) -> dict:
    """Accuracy/balanced accuracy with k frames removed from the start or the end."""
    from act_ros.training.metrics import classification_report

    t = ds.window_length
    rows = []
    for where in ("start", "end"):
        for k in steps:
            poses = ds.poses[:, k:] if where == "start" else ds.poses[:, : t - k]
            feats = pose_features(poses, ds.keypoint_layout)
            logits = np.mean([m.logits(feats) for m in models], axis=0)
            rep = classification_report(ds.labels, logits, ds.class_names)
            rows.append(
                {
                    "removed_from": where,
                    "frames_removed": k,
                    "frames_left": t - k,
                    "accuracy": rep["accuracy"],
                    "balanced_accuracy": rep["balanced_accuracy"],
                }
            )
    return {"rows": rows, "window_length": t}


def plot_frame_removal(result: dict, path: Path, title: str) -> None:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 4))
    for where, style in (("start", "-o"), ("end", "-s")):
        rows = [r for r in result["rows"] if r["removed_from"] == where]
        ax.plot(
            [r["frames_removed"] for r in rows],
            [r["balanced_accuracy"] for r in rows],
            style,
            label=f"removed from the {where}",
        )
    ax.set_xlabel("frames removed")
    ax.set_ylabel("balanced accuracy")
    ax.set_ylim(0, 1.01)
    ax.set_title(title, fontsize=10)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    from act_ros.training.evaluate import LogitsModel, select_part

    p = argparse.ArgumentParser(prog="act-ros study", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("attention", help="attention maps, [CLS] attention, positional embedding")
    a.add_argument("run", type=Path, help="training run folder")
    f = sub.add_parser("frames", help="accuracy vs frames removed (paper Fig. 9)")
    f.add_argument("models", nargs="+", type=Path, help=".tflite files or run folders (ensemble)")
    f.add_argument("--step", type=int, default=3, help="frames removed per step")
    for s in (a, f):
        s.add_argument("--dataset", required=True, help=DATASET_HELP)
        s.add_argument("--part", default="test", choices=("train", "val", "test", "all"))
        s.add_argument("--max-samples", type=int, default=2000, help="evenly spaced subset for speed")
        s.add_argument("--output", type=Path, default=Path("study"))
    args = p.parse_args(argv)

    ds = select_part(load_dataset(args.dataset), args.part)
    if len(ds) > args.max_samples:
        ds = ds.subset(np.linspace(0, len(ds) - 1, args.max_samples).astype(int))
    args.output.mkdir(parents=True, exist_ok=True)
    if args.cmd == "attention":
        result = study_attention(args.run, ds, args.output)
        (args.output / "attention.json").write_text(json.dumps(result) + "\n")
        print(f"wrote attention_maps.png, cls_attention.png, positional_similarity.png in {args.output}")
        return 0
    models = [LogitsModel(m) for m in args.models]
    for m in models:
        m.check(ds)
    steps = list(range(0, ds.window_length, max(1, args.step)))
    result = frame_removal(models, ds, steps)
    print(
        f"{'removed':>8} {'left':>5} {'from start: acc':>16} {'bal.acc':>8} "
        f"{'from end: acc':>14} {'bal.acc':>8}"
    )
    by = {(r["removed_from"], r["frames_removed"]): r for r in result["rows"]}
    for k in steps:
        s, e = by[("start", k)], by[("end", k)]
        print(
            f"{k:>8} {ds.window_length - k:>5} {s['accuracy']:>16.4f} "
            f"{s['balanced_accuracy']:>8.4f} {e['accuracy']:>14.4f} {e['balanced_accuracy']:>8.4f}"
        )
    (args.output / "frame_removal.json").write_text(json.dumps(result, indent=2) + "\n")
    plot_frame_removal(
        result,
        args.output / "frame_removal.png",
        f"{', '.join(m.name for m in args.models)[:50]}: {len(ds)} {args.part} windows, no retraining",
    )
    print(f"wrote {args.output / 'frame_removal.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
