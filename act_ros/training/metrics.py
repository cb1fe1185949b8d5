"""Classification metrics (scikit-learn) and their pictures (matplotlib)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def classification_report(y_true: np.ndarray, logits: np.ndarray, class_names: tuple[str, ...]) -> dict:
    """Accuracy, balanced accuracy (primary: classes are imbalanced), per-class precision /
    recall / F1 / support and the confusion matrix (rows = true class)."""
    from sklearn.metrics import (
        accuracy_score,
        balanced_accuracy_score,
        confusion_matrix,
        precision_recall_fscore_support,
    )

    import warnings

    y_true = np.asarray(y_true)
    y_pred = np.asarray(logits).argmax(axis=1)
    with warnings.catch_warnings():
        # "y_pred contains classes not in y_true": expected on small or partial test sets.
        warnings.simplefilter("ignore", UserWarning)
        balanced = float(balanced_accuracy_score(y_true, y_pred)) if len(y_true) else 0.0
    labels = np.arange(len(class_names))
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    present = np.isin(labels, y_true)
    return {
        "samples": int(len(y_true)),
        "accuracy": float(accuracy_score(y_true, y_pred)),
        # sklearn's balanced accuracy averages recall over the classes present in y_true.
        "balanced_accuracy": balanced,
        "per_class": {
            name: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]), "support": int(s[i])}
            for i, name in enumerate(class_names)
            if present[i] or s[i] or np.any(y_pred == i)
        },
        "confusion_matrix": confusion_matrix(y_true, y_pred, labels=labels).tolist(),
        "class_names": list(class_names),
    }


def format_report(report: dict, title: str = "") -> str:
    lines = [title] if title else []
    lines.append(
        f"samples {report['samples']}  accuracy {report['accuracy']:.4f}  "
        f"balanced accuracy {report['balanced_accuracy']:.4f}"
    )
    lines.append(f"{'class':<16}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>10}")
    for name, m in report["per_class"].items():
        lines.append(
            f"{name:<16}{m['precision']:>10.3f}{m['recall']:>10.3f}{m['f1']:>10.3f}{m['support']:>10d}"
        )
    return "\n".join(lines)


def plot_confusion(report: dict, path: str | Path, title: str = "") -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import ConfusionMatrixDisplay

    cm = np.array(report["confusion_matrix"])
    names = report["class_names"]
    size = max(5.0, 0.45 * len(names) + 3)
    fig, ax = plt.subplots(figsize=(size, size))
    ConfusionMatrixDisplay(cm, display_labels=names).plot(
        ax=ax, cmap="Blues", colorbar=False, xticks_rotation=45, values_format="d"
    )
    ax.set_title(title or f"accuracy {report['accuracy']:.3f}, balanced {report['balanced_accuracy']:.3f}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)


def mean_std(reports: list[dict]) -> dict:
    """Mean and std of accuracy / balanced accuracy over runs (paper's protocol)."""
    out = {}
    for key in ("accuracy", "balanced_accuracy"):
        values = np.array([r[key] for r in reports], dtype=np.float64)
        out[key] = {"mean": float(values.mean()), "std": float(values.std()), "values": values.tolist()}
    out["runs"] = len(reports)
    return out
