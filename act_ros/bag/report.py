"""Evaluation reports: JSON (everything), Markdown (for people), confusion matrix PNG."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np


def _fmt(value: Any, digits: int = 3, pct: bool = False) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value * 100:.1f} %" if pct else f"{value:.{digits}f}"
    return str(value)


def plot_confusion_matrix(classification: dict, path: str | Path, title: str = "") -> Path:
    """Row-normalised confusion matrix with counts, as a PNG (matplotlib, no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = classification["labels"]
    cm = np.asarray(classification["confusion_matrix"], dtype=np.float64).reshape(len(labels), len(labels))
    # Keep rows/columns that carry data so a 7-class model on 2 labelled classes stays readable.
    keep = [i for i in range(len(labels)) if cm[i].sum() > 0 or cm[:, i].sum() > 0] or list(range(len(labels)))
    cm = cm[np.ix_(keep, keep)]
    names = [labels[i] for i in keep]
    rows = cm.sum(axis=1, keepdims=True)
    norm = np.divide(cm, rows, out=np.zeros_like(cm), where=rows > 0)
    size = max(4.0, 0.8 * len(names) + 2.0)
    fig, ax = plt.subplots(figsize=(size + 1, size))
    im = ax.imshow(norm, cmap="Blues", vmin=0.0, vmax=1.0)
    ax.set_xticks(range(len(names)), names, rotation=45, ha="right")
    ax.set_yticks(range(len(names)), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("ground truth")
    for i in range(len(names)):
        for j in range(len(names)):
            if cm[i, j]:
                ax.text(j, i, f"{int(cm[i, j])}\n{norm[i, j] * 100:.0f}%", ha="center", va="center",
                        fontsize=8, color="white" if norm[i, j] > 0.5 else "black")
    acc = classification.get("accuracy")
    bal = classification.get("balanced_accuracy")
    subtitle = f"accuracy {_fmt(acc, pct=True)}, balanced {_fmt(bal, pct=True)}, n={classification['scored']}"
    ax.set_title(f"{title}\n{subtitle}" if title else subtitle, fontsize=10)
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="fraction of ground-truth row")
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_json(report: dict, path: str | Path) -> Path:
    path = Path(path)
    path.write_text(json.dumps(report, indent=2, sort_keys=False) + "\n")
    return path


def markdown(report: dict) -> str:
    """A human-readable summary of a report produced by ``act_ros.ros.evaluate``."""
    c = report["score"]["classification"]
    cov = report["score"]["coverage"]
    lat = report["score"]["latency"]
    trk = report["score"]["tracks"]
    run = report.get("run", {})
    lines = [f"# Evaluation of `{report.get('bag', '?')}`", ""]
    lines += [
        f"- mode: {run.get('mode', 'n/a')}, pacing: {run.get('pacing', 'n/a')}, "
        f"sim time: {run.get('use_sim_time', False)}, stamps: {run.get('stamps', 'n/a')}",
        f"- input: {report.get('input_topic')} ({report.get('input_type')}), "
        f"{cov['frames']} frames, {report.get('bag_duration_s', 0):.2f} s of recording",
        f"- replay took {_fmt(run.get('wall_time_s'), 2)} s; throughput "
        f"{_fmt(run.get('throughput_fps'), 1)} frames/s",
        *(["- **interrupted**: the scores cover only the frames replayed before Ctrl-C"]
          if run.get("interrupted") else []),
        "",
        "## Scores",
        "",
        "| metric | value |",
        "| --- | --- |",
        f"| accuracy | {_fmt(c['accuracy'], pct=True)} |",
        f"| balanced accuracy | {_fmt(c['balanced_accuracy'], pct=True)} |",
        f"| scored (person, frame) pairs | {c['scored']} |",
        f"| labelled frames | {cov['labelled_frames']} |",
        f"| labelled frames without any prediction | {cov['labelled_frames_without_prediction']} |",
        f"| missed ground-truth tracks (frame x track) | {cov['missed_ground_truth_tracks']} |",
        "",
    ]
    if c["per_class"]:
        lines += ["| class | precision | recall | F1 | support | predicted |",
                  "| --- | --- | --- | --- | --- | --- |"]
        for name, v in c["per_class"].items():
            if v["support"] or v["predicted"]:
                lines.append(f"| {name} | {v['precision']:.3f} | {v['recall']:.3f} | {v['f1']:.3f} | "
                             f"{v['support']} | {v['predicted']} |")
        lines.append("")
    if report.get("confusion_matrix_png"):
        lines += [f"![confusion matrix]({Path(report['confusion_matrix_png']).name})", ""]
    lines += [
        "## Timing and frames",
        "",
        "| metric | value |",
        "| --- | --- |",
        f"| latency p50 / p90 / p99 | {_fmt(lat['p50_ms'], 1)} / {_fmt(lat['p90_ms'], 1)} / "
        f"{_fmt(lat['p99_ms'], 1)} ms (n={lat['count']}) |",
        f"| frames published | {run.get('frames_published', cov['frames'])} |",
        f"| frames with a result | {cov['frames_with_result']} |",
        f"| frames dropped (no result) | {cov['frames_missing_result']} |",
    ]
    for name, value in (report.get("diagnostics") or {}).items():
        lines.append(f"| {name} (from /diagnostics) | {value} |")
    lines += [
        "",
        "## Tracks",
        "",
        "| metric | value |",
        "| --- | --- |",
    ]
    for key, value in trk.items():
        lines.append(f"| {key.replace('_', ' ')} | {_fmt(value, 2)} |")
    lines.append("")
    summary = report["score"].get("track_summary") or {}
    if summary:
        lines += ["Tracks of the pose node (IDs to use in a labels file; position = mean box "
                  "centre, fraction of the image from the left / top):", "",
                  "| track | from (s) | to (s) | frames | x | y |",
                  "| --- | --- | --- | --- | --- | --- |"]
        for tid, t in summary.items():
            lines.append(f"| {tid} | {t['first_s']:.2f} | {t['last_s']:.2f} | {t['frames']} | "
                         f"{_fmt(t['mean_x'], 2)} | {_fmt(t['mean_y'], 2)} |")
        lines.append("")
    return "\n".join(lines)


def write_reports(report: dict, out_dir: str | Path, stem: str = "report") -> dict[str, Path]:
    """Write ``<stem>.json``, ``<stem>.md`` and ``<stem>_confusion.png`` into ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    png = plot_confusion_matrix(report["score"]["classification"], out / f"{stem}_confusion.png",
                                title=Path(str(report.get("bag", ""))).name)
    report["confusion_matrix_png"] = str(png)
    js = write_json(report, out / f"{stem}.json")
    md = out / f"{stem}.md"
    md.write_text(markdown(report))
    return {"json": js, "markdown": md, "png": png}
