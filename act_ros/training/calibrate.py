"""`act-ros calibrate MODEL.tflite`: fit the temperature on validation subjects, choose the
"unknown" threshold on held-out actions, and write both into the model's description: the one
embedded in the .tflite (TFLite metadata ``act_ros.model_spec``) and its .json copy,
the weights byte-identical.

Reject rule (act_ros.reject, ``--rule``): a score per window from its calibrated logits,
max_logit by default (the best logit / T; max_probability = the best calibrated probability);
below the threshold -> "unknown". The threshold is the highest one that still keeps ``keep``
(default 90 %) of the correctly recognised known-class validation windows; the fraction of
held-out-action windows below it is what the rule flags (reported for both rules). The AcT node
applies the description's rule and threshold by default (``unknown_threshold: -1``).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

import numpy as np

from act_ros.model_spec import MAX_TEMPERATURE, MIN_TEMPERATURE, ModelMismatchError, ModelSpec
from act_ros.reject import REJECT_RULES, check_rule, reject_scores
from act_ros.runtime import softmax

ECE_BINS = 15
DEFAULT_KEEP = 0.90
DEFAULT_RULE = "max_logit"


def nll(logits: np.ndarray, labels: np.ndarray, temperature: float) -> float:
    z = np.asarray(logits, np.float64) / temperature
    z = z - z.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return float(-logp[np.arange(len(labels)), labels].mean())


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The temperature minimising the validation negative log-likelihood (Guo et al. 2017):
    golden-section search over log T in the description's range (the NLL is convex in 1/T)."""
    if len(labels) == 0:
        raise ValueError("no validation windows to fit the temperature on")
    f = lambda lt: nll(logits, labels, float(np.exp(lt)))  # noqa: E731
    a, b = np.log(MIN_TEMPERATURE), np.log(MAX_TEMPERATURE)
    g = (np.sqrt(5.0) - 1.0) / 2.0
    c, d = b - g * (b - a), a + g * (b - a)
    fc, fd = f(c), f(d)
    while b - a > 1e-5:
        if fc < fd:
            b, d, fd = d, c, fc
            c = b - g * (b - a)
            fc = f(c)
        else:
            a, c, fc = c, d, fd
            d = a + g * (b - a)
            fd = f(d)
    return float(np.exp(0.5 * (a + b)))


def expected_calibration_error(probs: np.ndarray, labels: np.ndarray, bins: int = ECE_BINS) -> float:
    """ECE: |accuracy - confidence| of equal-width confidence bins, weighted by their size."""
    conf = probs.max(axis=1)
    right = probs.argmax(axis=1) == labels
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(conf, edges[1:-1]), 0, bins - 1)
    ece = 0.0
    for b in range(bins):
        m = which == b
        if m.any():
            ece += m.mean() * abs(right[m].mean() - conf[m].mean())
    return float(ece)


def choose_threshold(known_scores: np.ndarray, known_right: np.ndarray, keep: float = DEFAULT_KEEP) -> float:
    """Highest threshold at which ``keep`` of the correctly recognised known windows keep their
    label (their reject score is at or above it)."""
    scores = np.sort(np.asarray(known_scores)[np.asarray(known_right, bool)])
    if scores.size == 0:  # nothing right to keep: a threshold that flags nothing, for either rule
        return float(np.min(known_scores, initial=0.0))
    return float(scores[int(np.floor((1.0 - keep) * scores.size))])


def reject_report(
    rule: str,
    threshold: float,
    known_logits: np.ndarray,
    known_labels: np.ndarray,
    unknown_logits: np.ndarray | None,
) -> dict:
    """What ``rule`` at ``threshold`` does on calibrated logits: known windows kept right (of
    all, and of those the model gets right), known windows flagged, held-out-action windows
    flagged."""
    kept = reject_scores(rule, known_logits) >= threshold
    right = known_logits.argmax(axis=1) == known_labels
    out = {
        "rule": rule,
        "threshold": float(threshold),
        "known_windows": int(len(known_labels)),
        "known_right_and_kept": float(np.mean(right & kept)) if len(kept) else None,
        "known_right_kept_of_right": float(np.mean(kept[right])) if right.any() else None,
        "known_flagged": float(np.mean(~kept)) if len(kept) else None,
    }
    if unknown_logits is not None and len(unknown_logits):
        out["unknown_windows"] = int(len(unknown_logits))
        out["unknown_flagged"] = float(np.mean(reject_scores(rule, unknown_logits) < threshold))
    return out


def plot_reliability(
    probs_before: np.ndarray,
    probs_after: np.ndarray,
    labels: np.ndarray,
    path: Path,
    title: str,
    bins: int = ECE_BINS,
) -> Path:
    """Reliability diagram (accuracy per confidence bin) before and after the temperature."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9, 4.2), sharey=True)
    edges = np.linspace(0, 1, bins + 1)
    for ax, probs, name in ((axes[0], probs_before, "before"), (axes[1], probs_after, "after")):
        conf, right = probs.max(1), probs.argmax(1) == labels
        which = np.clip(np.digitize(conf, edges[1:-1]), 0, bins - 1)
        acc = [right[which == b].mean() if np.any(which == b) else np.nan for b in range(bins)]
        ax.bar(edges[:-1], acc, width=1 / bins, align="edge", edgecolor="k", alpha=0.7, label="accuracy")
        ax.plot([0, 1], [0, 1], "r--", label="perfect calibration")
        ax.set_xlabel("confidence (best probability)")
        ax.set_title(f"{name}: ECE {expected_calibration_error(probs, labels, bins):.3f}")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
    axes[0].set_ylabel("accuracy")
    axes[0].legend(loc="upper left")
    fig.suptitle(title)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def calibrate(
    logits_val: np.ndarray,
    labels_val: np.ndarray,
    logits_tune: np.ndarray | None,
    keep: float = DEFAULT_KEEP,
    rule: str = DEFAULT_RULE,
) -> dict:
    """Temperature, the threshold of ``rule`` and what every rule would do on the validation /
    tuning windows (each at its own threshold for the same ``keep``)."""
    check_rule(rule)
    t = fit_temperature(logits_val, labels_val)
    p_before, p_after = softmax(logits_val), softmax(logits_val / t)
    z_val = logits_val / t
    z_tune = None if logits_tune is None else logits_tune / t
    right = z_val.argmax(axis=1) == labels_val
    reports = {}
    for name in REJECT_RULES:
        threshold = choose_threshold(reject_scores(name, z_val), right, keep)
        reports[name] = reject_report(name, threshold, z_val, labels_val, z_tune)
    return {
        "temperature": t,
        "reject_rule": rule,
        "unknown_threshold": reports[rule]["threshold"],
        "keep": keep,
        "val_ece_before": expected_calibration_error(p_before, labels_val),
        "val_ece_after": expected_calibration_error(p_after, labels_val),
        "val_nll_before": nll(logits_val, labels_val, 1.0),
        "val_nll_after": nll(logits_val, labels_val, t),
        "tune": reports[rule],
        "rules": reports,
    }


def write_calibration(model: Path, result: dict) -> ModelSpec:
    """Put temperature and threshold into the description embedded in ``model`` and into its
    readable copy (the result in ``training.calibration``); the weights stay byte-identical
    (checked). Values outside their ranges are refused before anything is written; a model
    whose description is not embedded yet (format 1) is refused with the upgrade command."""
    from act_ros.model_spec import load_model_spec, rewrite_description
    from act_ros.runtime import ActClassifier

    spec = load_model_spec(model)
    calibrated = dataclasses.replace(
        spec,
        temperature=float(result["temperature"]),
        unknown_threshold=float(result["unknown_threshold"]),
        reject_rule=str(result.get("reject_rule", "max_probability")),
        training={**spec.training, "calibration": result},
    )
    rewrite_description(model, calibrated, probe=ActClassifier)
    return load_model_spec(model)


def main(argv: list[str] | None = None) -> int:
    from act_ros.datasets.npz import load_npz_dataset
    from act_ros.training.evaluate import LogitsModel

    p = argparse.ArgumentParser(prog="act-ros calibrate", description=__doc__.split("\n\n")[0])
    p.add_argument(
        "model",
        type=Path,
        help="exported .tflite: its embedded description and the .json copy are updated, the weights are not",
    )
    p.add_argument(
        "--dataset",
        type=Path,
        required=True,
        help=".npz with a 'val' split of held-out subjects (the model's classes)",
    )
    p.add_argument(
        "--unknown",
        type=Path,
        default=None,
        help=".npz of actions the model never learnt; its 'val' part tunes the threshold",
    )
    p.add_argument(
        "--keep",
        type=float,
        default=DEFAULT_KEEP,
        help="fraction of correctly recognised validation windows that must keep their label",
    )
    p.add_argument(
        "--rule",
        choices=REJECT_RULES,
        default=DEFAULT_RULE,
        help="reject rule whose threshold is chosen (act_ros.reject; both are reported)",
    )
    p.add_argument("--dry-run", action="store_true", help="print, do not write the description")
    args = p.parse_args(argv)
    if not 0.0 < args.keep <= 1.0:
        p.error(f"--keep: expected a fraction in (0, 1], found {args.keep}")
    try:
        model = LogitsModel(args.model)
        val = load_npz_dataset(args.dataset).part("val")
        model.check(val)
        tune_logits = None
        if args.unknown:
            tune = load_npz_dataset(args.unknown)
            has_val = tune.split is not None and np.any(tune.split == "val")
            tune = tune.part("val") if has_val else tune
            tune_logits = model.logits(tune.features())
        result = calibrate(model.logits(val.features()), val.labels, tune_logits, args.keep, args.rule)
        print(json.dumps(result, indent=2))
        if not args.dry_run:
            spec = write_calibration(args.model, result)
            print(
                f"wrote temperature {spec.temperature:.3f} and unknown threshold "
                f"{spec.reject_rule} {spec.unknown_threshold:.3f} into the description embedded in {args.model} "
                f"and its copy {args.model.with_suffix('.json')} (weights unchanged)"
            )
    except (ModelMismatchError, FileNotFoundError, ValueError) as exc:
        print(f"act-ros calibrate: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
