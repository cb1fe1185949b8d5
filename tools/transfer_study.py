#!/usr/bin/env python3
"""The recipe study behind act_ros/models/MODEL_CARD.md: train AcT with named recipes on the
synthetic part of the mix and score every run ONLY by transfer (see act_ros/training/transfer.py):

  python tools/transfer_study.py prepare --mix runs/mix.npz -o runs/study
  python tools/transfer_study.py train --study runs/study --recipe small-data --seeds 0 1 2
  python tools/transfer_study.py score --study runs/study --recipe small-data --seeds 0 1 2
  python tools/transfer_study.py table --study runs/study
  python tools/transfer_study.py figures --study runs/study --recipe small-data -o docs/model_card
  python tools/transfer_study.py ship --study runs/study --final runs/final

`train` runs `act-ros train --recipe R` (the study's names, RECIPES below) and exports each
run to TFLite; `score` measures (a) synthetic -> real LZQ, (b) held-out subjects of the motion
capture, (c) the bundled demo clip through the real pose and AcT nodes (`act-ros evaluate BAG`),
calibration (ECE before / after the temperature) and the unknown-action reject rule.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ACT_ROS = [sys.executable, "-m", "act_ros.cli"]
# Study folder -> `act-ros train` arguments (act_ros/training/recipes.py). small-data and
# geometric share the budget (20 epochs, batch 128, peak 2e-3). small-data: the paper's
# augmentation and regularisation at that budget; geometric: + viewpoint / shape / crop /
# dropout augmentation, class-balanced epochs; paper: the paper's recipe as published (350
# epochs, batch 512, its own peak), the reference every candidate must beat.
RECIPES: dict[str, list[str]] = {
    "small-data": ["--recipe", "small-data"],
    "geometric": ["--recipe", "small-data-geometric"],
    "paper": ["--recipe", "paper"],  # the paper's own: 350 epochs, batch 512, its peak
    "long": ["--recipe", "small-data-long"],
}


def run(cmd: list[str], **kw) -> None:
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True, cwd=ROOT, **kw)


def prepare(args) -> None:
    from act_ros.datasets.mocap.taxonomy import load_taxonomy
    from act_ros.datasets.npz import load_npz_dataset
    from act_ros.training.transfer import protocol_datasets

    tax = load_taxonomy()
    mix = load_npz_dataset(args.mix)
    parts = protocol_datasets(mix, tax.model_classes, tax.unknown_tune, tax.unknown_test)
    args.output.mkdir(parents=True, exist_ok=True)
    for name, ds in parts.items():
        ds.save(args.output / f"{name}.npz")
        print(f"{name}: {len(ds)} windows, {ds.class_counts()}")


def train(args) -> None:
    for seed in args.seeds:
        out = args.study / args.recipe / f"seed_{seed}"
        if not (out / "run.json").is_file():
            run(
                [
                    "nice",
                    *ACT_ROS,
                    "train",
                    "--dataset",
                    str(args.study / "synthetic.npz"),
                    "--size",
                    args.size,
                    "--seed",
                    str(seed),
                    "--output",
                    str(out),
                    *RECIPES[args.recipe],
                    *args.extra,
                ]
            )
        if not (out / "model.tflite").is_file():
            run([*ACT_ROS, "export", str(out), "-o", str(out / "model.tflite")])


def demo_bag() -> Path:
    """The labelled demo clip as a bag, made once (the labels are inside: delete runs/demo after
    changing act_ros/data/sports2d_demo_labels.csv)."""
    bag = ROOT / "runs" / "demo" / "demo_bag"
    if not bag.exists():
        run(
            [
                *ACT_ROS,
                "make-bag",
                "act_ros/data/sports2d_demo.mp4",
                "--labels",
                "act_ros/data/sports2d_demo_labels.csv",
                "-o",
                str(bag),
                "--width",
                "640",
            ]
        )
    return bag


def demo_clip(model: Path, out: Path, threshold: float = 0.0) -> dict:
    """(c): the labelled demo clip through the real pose and AcT nodes (in-process, DDS)."""
    bag = demo_bag()
    run(
        [
            "nice",
            *ACT_ROS,
            "evaluate",
            str(bag),
            "--quiet",
            "-o",
            str(out),
            "--act-param",
            f"model_path={model}",
            "--act-param",
            f"unknown_threshold={threshold}",
        ],
        stdout=subprocess.DEVNULL,
    )
    rep = json.loads((out / "report.json").read_text())
    cls = rep["score"]["classification"]
    return {
        k: cls.get(k)
        for k in ("accuracy", "balanced_accuracy", "scored", "per_class", "confusion_matrix", "labels")
    }


def transfer_metrics(logits: dict, parts: dict, class_names) -> dict:
    """(a), (b), calibration and the reject rule from the logits of one model (or ensemble)."""
    import numpy as np
    from sklearn.metrics import balanced_accuracy_score

    from act_ros.runtime import softmax
    from act_ros.training.calibrate import calibrate, expected_calibration_error, reject_report

    out = {}
    y = parts["lzq"].labels
    pred = logits["lzq"].argmax(1)
    out["a_lzq_balanced_accuracy"] = float(balanced_accuracy_score(y, pred))
    out["a_lzq_recall"] = {class_names[c]: float(np.mean(pred[y == c] == c)) for c in np.unique(y)}
    y = parts["test"].labels
    pred = logits["test"].argmax(1)
    out["b_lso_accuracy"] = float(np.mean(pred == y))
    out["b_lso_balanced_accuracy"] = float(balanced_accuracy_score(y, pred))
    out["b_lso_recall"] = {class_names[c]: float(np.mean(pred[y == c] == c)) for c in np.unique(y)}
    cal = calibrate(logits["val"], parts["val"].labels, logits["unknown_tune"])
    t, thr = cal["temperature"], cal["unknown_threshold"]
    out["temperature"], out["unknown_threshold"] = t, thr
    for name in ("test", "lzq"):
        p0, p1 = softmax(logits[name]), softmax(logits[name] / t)
        out[f"ece_{name}_before"] = expected_calibration_error(p0, parts[name].labels)
        out[f"ece_{name}_after"] = expected_calibration_error(p1, parts[name].labels)
    out["reject_rule"] = cal["reject_rule"]
    out["reject_test"] = reject_report(
        cal["reject_rule"], thr, logits["test"] / t, parts["test"].labels, logits["unknown_test"] / t
    )
    out["reject_tune"] = cal["tune"]
    return out


def load_parts(study: Path) -> dict:
    from act_ros.datasets.npz import load_npz_dataset

    syn = load_npz_dataset(study / "synthetic.npz")
    unk = load_npz_dataset(study / "unknown.npz")
    return {
        "val": syn.part("val"),
        "test": syn.part("test"),
        "lzq": load_npz_dataset(study / "lzq.npz"),
        "unknown_tune": unk.part("val"),
        "unknown_test": unk.part("test"),
        "class_names": syn.class_names,
    }


def model_logits(model: Path, parts: dict, transform=None) -> dict:
    """Logits of every part; ``transform`` (features -> features) applied first if given."""
    import numpy as np

    from act_ros.training.evaluate import LogitsModel

    m = LogitsModel(model)
    prepare = transform or (lambda x: x)
    return {k: np.asarray(m.logits(prepare(v.features()))) for k, v in parts.items() if k != "class_names"}


def flip_tta(args) -> None:
    """Flip test-time averaging, judged like a recipe: the transfer metrics of ``--model`` with
    its plain logits and with the mean of each window's and its mirror image's logits."""
    from act_ros.preprocessing import flip_features

    parts = load_parts(args.study)
    plain = model_logits(args.model, parts)
    mirrored = model_logits(args.model, parts, transform=flip_features)
    averaged = {k: (plain[k] + mirrored[k]) / 2 for k in plain}
    out = {
        name: transfer_metrics(lg, parts, parts["class_names"])
        for name, lg in (("plain", plain), ("flip", averaged))
    }
    keys = ("a_lzq_balanced_accuracy", "b_lso_balanced_accuracy", "b_lso_accuracy", "temperature")
    for name, res in out.items():
        flagged = res["reject_test"].get("unknown_flagged")
        kept = res["reject_test"].get("known_right_kept_of_right")
        print(
            name,
            {k: round(res[k], 3) for k in keys},
            f"unknown flagged {flagged:.3f}, right kept (b) {kept:.3f}",
        )
    if args.output:
        args.output.write_text(json.dumps(out, indent=2) + "\n")


def score(args) -> None:
    import numpy as np

    parts = load_parts(args.study)
    for seed in args.seeds:
        out = args.study / args.recipe / f"seed_{seed}"
        if (out / "transfer.json").is_file():
            continue
        logits = model_logits(out / "model.tflite", parts)
        np.savez(out / "logits.npz", **logits)
        res = transfer_metrics(logits, parts, parts["class_names"])
        res["c_demo"] = demo_clip(out / "model.tflite", out / "eval_demo")
        (out / "transfer.json").write_text(json.dumps(res, indent=2) + "\n")
        print(out, {k: v for k, v in res.items() if not isinstance(v, dict)})


TABLE_METRICS = (
    ("(a) LZQ bal. acc.", lambda r: r["a_lzq_balanced_accuracy"]),
    ("(b) held-out subjects bal. acc.", lambda r: r["b_lso_balanced_accuracy"]),
    ("(b) acc.", lambda r: r["b_lso_accuracy"]),
    ("(c) demo clip acc.", lambda r: r["c_demo"]["accuracy"]),
    ("(c) demo walk recall", lambda r: r["c_demo"]["per_class"]["walk"]["recall"]),
    ("ECE (b) before", lambda r: r["ece_test_before"]),
    ("ECE (b) after", lambda r: r["ece_test_after"]),
    ("unknown flagged (test actions)", lambda r: r["reject_test"]["unknown_flagged"]),
    ("known right & kept (b)", lambda r: r["reject_test"]["known_right_and_kept"]),
)


def table(args) -> None:
    import numpy as np

    lines = [
        "| recipe | seeds | " + " | ".join(n for n, _ in TABLE_METRICS) + " |",
        "|---|---:|" + "---:|" * len(TABLE_METRICS),
    ]
    for recipe in RECIPES:
        results = [
            json.loads(p.read_text()) for p in sorted((args.study / recipe).glob("seed_*/transfer.json"))
        ]
        if not results:
            continue
        cells = []
        for _, get in TABLE_METRICS:
            v = np.array([get(r) for r in results], dtype=float)
            cells.append(f"{v.mean():.3f} +- {v.std(ddof=1) if len(v) > 1 else 0:.3f}")
        lines.append(f"| {recipe} | {len(results)} | " + " | ".join(cells) + " |")
    text = "\n".join(lines) + "\n"
    (args.study / "table.md").write_text(text)
    print(text)


def figures(args) -> None:
    """The card's pictures for a recipe: confusion matrices of (a) and (b) and the reliability
    diagram of the held-out subjects, from the ensemble of its seeds (logits averaged), and
    the ensemble's own transfer metrics."""
    import numpy as np

    from act_ros.runtime import softmax
    from act_ros.training.calibrate import fit_temperature, plot_reliability
    from act_ros.training.metrics import classification_report, plot_confusion

    parts = load_parts(args.study)
    runs = [args.study / args.recipe / f"seed_{s}" for s in args.seeds]
    logits = {
        k: np.mean([np.load(r / "logits.npz")[k] for r in runs], axis=0)
        for k in ("val", "test", "lzq", "unknown_tune", "unknown_test")
    }
    out = args.output
    out.mkdir(parents=True, exist_ok=True)
    names = parts["class_names"]
    for key, title in (
        ("lzq", "(a) synthetic -> real LZQ"),
        ("test", "(b) held-out subjects (motion capture)"),
    ):
        rep = classification_report(parts[key].labels, logits[key], names)
        plot_confusion(rep, out / f"confusion_{key}.png", f"{title}: AcT-micro x{len(runs)}, {args.recipe}")
    t = fit_temperature(logits["val"], parts["val"].labels)
    plot_reliability(
        softmax(logits["test"]),
        softmax(logits["test"] / t),
        parts["test"].labels,
        out / "reliability_test.png",
        f"held-out subjects, AcT-micro x{len(runs)} ({args.recipe}); T = {t:.2f} "
        "fitted on validation subjects",
    )
    res = transfer_metrics(logits, parts, names)
    (out / f"ensemble_{args.recipe}.json").write_text(json.dumps(res, indent=2) + "\n")
    print({k: v for k, v in res.items() if not isinstance(v, dict)})


def ship_one(runs: list[Path], output: Path, name: str, study: Path) -> dict:
    """Export ``runs`` as one file, calibrate it (temperature on the validation subjects,
    threshold on the tuning actions), and measure the reject rule on the test actions."""
    import numpy as np

    from act_ros.datasets.npz import load_npz_dataset
    from act_ros.reject import reject_scores
    from act_ros.runtime import ActClassifier
    from act_ros.training.calibrate import reject_report

    run([*ACT_ROS, "export", *map(str, runs), "-o", str(output), "--name", name])
    run(
        [
            *ACT_ROS,
            "calibrate",
            str(output),
            "--dataset",
            str(study / "full.npz"),
            "--unknown",
            str(study / "unknown.npz"),
        ],
        stdout=subprocess.DEVNULL,
    )
    clf = ActClassifier(output)
    val = load_npz_dataset(study / "full.npz").part("val")
    unk = load_npz_dataset(study / "unknown.npz")
    test = unk.part("test")
    z_val = clf.predict_logits(val.features()) / clf.temperature
    z_unk = clf.predict_logits(test.features()) / clf.temperature
    flagged = reject_scores(clf.reject_rule, z_unk) < clf.unknown_threshold
    res = {
        "temperature": clf.temperature,
        "reject_rule": clf.reject_rule,
        "unknown_threshold": clf.unknown_threshold,
        "reject": reject_report(clf.reject_rule, clf.unknown_threshold, z_val, val.labels, z_unk),
        "flagged_per_action": {
            unk.class_names[c]: float(np.mean(flagged[test.labels == c])) for c in np.unique(test.labels)
        },
    }
    return res


def ship(args) -> None:
    """The shipped models: export, calibrate, the reject rule on never-learnt actions, and the
    demo clip through the real nodes at the model's threshold and without a reject."""
    models = ROOT / "act_ros" / "models"
    out = {}
    args.final.mkdir(parents=True, exist_ok=True)
    micro = args.micro_runs or sorted((args.final / "micro").glob("seed_*"))
    out["micro"] = ship_one(micro, models / "act_micro.tflite", f"act_micro_mix10_x{len(micro)}", args.study)
    if args.small_run or (args.final / "small" / "run.json").is_file():
        out["small"] = ship_one(
            [args.small_run or args.final / "small"],
            models / "act_small.tflite",
            "act_small_mix10",
            args.study,
        )
    bag = demo_bag()
    for size in out:
        for name, thr in (("default", -1.0), ("no_reject", 0.0)):
            dest = args.final / f"eval_demo_{size}_{name}"
            run(
                [
                    *ACT_ROS,
                    "evaluate",
                    str(bag),
                    "--quiet",
                    "-o",
                    str(dest),
                    "--act-param",
                    f"model_size={size}",
                    "--act-param",
                    f"unknown_threshold={thr}",
                ],
                stdout=subprocess.DEVNULL,
            )
            c = json.loads((dest / "report.json").read_text())["score"]["classification"]
            out[size][f"demo_{name}"] = {
                k: c[k] for k in ("accuracy", "balanced_accuracy", "scored", "per_class")
            }
    (args.final / "shipped.json").write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=1)[:4000])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("prepare")
    a.add_argument("--mix", type=Path, required=True)
    a.add_argument("-o", "--output", type=Path, required=True)
    for name in ("train", "score"):
        b = sub.add_parser(name)
        b.add_argument("--study", type=Path, required=True)
        b.add_argument("--recipe", choices=tuple(RECIPES), required=True)
        b.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
        b.add_argument("--size", default="micro")
        b.add_argument("--extra", nargs=argparse.REMAINDER, default=[])
    f = sub.add_parser("figures")
    f.add_argument("--study", type=Path, required=True)
    f.add_argument("--recipe", choices=tuple(RECIPES), required=True)
    f.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    f.add_argument("-o", "--output", type=Path, required=True)
    s = sub.add_parser("ship")
    s.add_argument("--study", type=Path, required=True)
    s.add_argument(
        "--final",
        type=Path,
        required=True,
        help="output folder; its micro/seed_* and small runs unless given below",
    )
    s.add_argument("--micro-runs", type=Path, nargs="+", default=None)
    s.add_argument("--small-run", type=Path, default=None)
    c = sub.add_parser("table")
    c.add_argument("--study", type=Path, required=True)
    t = sub.add_parser("flip-tta")
    t.add_argument("--study", type=Path, required=True)
    t.add_argument("--model", type=Path, required=True)
    t.add_argument("-o", "--output", type=Path, default=None)
    args = p.parse_args(argv)
    os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    commands = {"prepare": prepare, "train": train, "score": score, "table": table, "figures": figures}
    commands.update({"ship": ship, "flip-tta": flip_tta})
    commands[args.cmd](args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
