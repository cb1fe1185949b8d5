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
    keep = [i for i in range(len(labels)) if cm[i].sum() > 0 or cm[:, i].sum() > 0] or list(
        range(len(labels))
    )
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
                ax.text(
                    j,
                    i,
                    f"{int(cm[i, j])}\n{norm[i, j] * 100:.0f}%",
                    ha="center",
                    va="center",
                    fontsize=8,
                    color="white" if norm[i, j] > 0.5 else "black",
                )
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


def plot_confidence(confidence: dict, path: str | Path, title: str = "") -> Path:
    """Histograms of the confidence of right and wrong predictions, with the share of each kept
    above every threshold: the picture to choose ``unknown_threshold`` from."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    hist = confidence["histogram"]
    edges = np.asarray(hist["bin_edges"])
    centers, width = (edges[:-1] + edges[1:]) / 2, np.diff(edges)
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    ax.bar(
        centers,
        hist["right"],
        width * 0.9,
        color="tab:green",
        alpha=0.7,
        label=f"right ({confidence['right']})",
    )
    ax.bar(
        centers,
        hist["wrong"],
        width * 0.9,
        color="tab:red",
        alpha=0.6,
        label=f"wrong ({confidence['wrong']})",
    )
    ax.set_xlabel("confidence of the predicted class")
    ax.set_ylabel("(person, frame) pairs")
    ax.set_xlim(0, 1)
    ax.legend()
    rows = confidence["thresholds"]
    t = [r["threshold"] for r in rows]
    for key, color, label in (
        ("right_kept", "tab:green", "right predictions kept"),
        ("wrong_rejected", "tab:red", "wrong ones turned 'unknown'"),
    ):
        values = [r[key] for r in rows]
        if any(v is not None for v in values):
            ax2.plot(t, [np.nan if v is None else v * 100 for v in values], "o-", color=color, label=label)
    ax2.set_xlabel("unknown_threshold")
    ax2.set_ylabel("%")
    ax2.set_ylim(-2, 102)
    ax2.legend()
    ax2.grid(alpha=0.3)
    fig.suptitle(title or "confidence of right and wrong predictions", fontsize=10)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _integrity_lines(report: dict) -> list[str]:
    integrity = report.get("integrity") or {}
    problems, warnings = integrity.get("problems") or [], integrity.get("warnings") or []
    lines = []
    if problems:
        lines += [
            "## WARNING: results the bag did not cause",
            "",
            "The scores below are not trustworthy: another program took part in this run.",
            "",
            *[f"- **{p}**" for p in problems],
            "",
        ]
    if warnings:
        lines += ["Notes on the run:", "", *[f"- {w}" for w in warnings], ""]
    return lines


def _confidence_lines(report: dict) -> list[str]:
    conf = report["score"].get("confidence")
    if not conf or not conf["right"] + conf["wrong"]:
        return []

    def q(quantiles: dict | None) -> str:
        if not quantiles:
            return "n/a"
        return f"{quantiles['p50']:.2f} ({quantiles['p10']:.2f}-{quantiles['p90']:.2f})"

    lines = [
        "## Confidence (to choose `unknown_threshold`)",
        "",
        "Median (10th-90th percentile) confidence of the predicted class:",
        "",
        "| predicted | right | confidence when right | wrong | confidence when wrong |",
        "| --- | --- | --- | --- | --- |",
        f"| all | {conf['right']} | {q(conf['right_quantiles'])} | {conf['wrong']} | "
        f"{q(conf['wrong_quantiles'])} |",
    ]
    for name, v in conf["per_predicted_class"].items():
        lines.append(
            f"| {name} | {v['right']} | {q(v['right_quantiles'])} | {v['wrong']} | "
            f"{q(v['wrong_quantiles'])} |"
        )
    lines += [
        "",
        "| unknown_threshold | right predictions kept | wrong ones turned 'unknown' |",
        "| --- | --- | --- |",
    ]
    for r in conf["thresholds"]:
        lines.append(
            f"| {r['threshold']:.2f} | {_fmt(r['right_kept'], pct=True)} | "
            f"{_fmt(r['wrong_rejected'], pct=True)} |"
        )
    lines.append("")
    if report.get("confidence_png"):
        lines += [f"![confidence]({Path(report['confidence_png']).name})", ""]
    return lines


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
    lines = [f"# Evaluation of `{report.get('bag', '?')}`", "", *_integrity_lines(report)]
    lines += [
        f"- mode: {run.get('mode', 'n/a')}, pacing: {run.get('pacing', 'n/a')}, "
        f"sim time: {run.get('use_sim_time', False)}, stamps: {run.get('stamps', 'n/a')}",
        f"- input: {report.get('input_topic')} ({report.get('input_type')}), "
        f"{cov['frames']} frames, {report.get('bag_duration_s', 0):.2f} s of recording",
        f"- replay took {_fmt(run.get('wall_time_s'), 2)} s; throughput "
        f"{_fmt(run.get('throughput_fps'), 1)} frames/s",
        *(
            [
                "- **interrupted**: the scores cover only the frames replayed before the signal (Ctrl-C, SIGTERM, SIGHUP)"
            ]
            if run.get("interrupted")
            else []
        ),
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
        lines += [
            "| class | precision | recall | F1 | support | predicted |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        for name, v in c["per_class"].items():
            if v["support"] or v["predicted"]:
                lines.append(
                    f"| {name} | {v['precision']:.3f} | {v['recall']:.3f} | {v['f1']:.3f} | "
                    f"{v['support']} | {v['predicted']} |"
                )
        lines.append("")
    if report.get("confusion_matrix_png"):
        lines += [f"![confusion matrix]({Path(report['confusion_matrix_png']).name})", ""]
    stretches = report["score"].get("stretches") or []
    if stretches:
        lines += [
            "By stretch (one track, one true label, consecutive; s from the first frame):",
            "",
            "| track | label | from (s) | to (s) | pairs | right | read as |",
            "| --- | --- | --- | --- | --- | --- | --- |",
        ]
        for st in stretches:
            read = ", ".join(f"{k} {v}" for k, v in st["read_as"].items())
            lines.append(
                f"| {st['track_id']} | {st['label']} | {st['from_s']:.2f} | {st['to_s']:.2f} | "
                f"{st['pairs']} | {st['right']} | {read} |"
            )
        lines.append("")
    lines += _confidence_lines(report)
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
        lines += [
            "Tracks of the pose node (IDs to use in a labels file; position = mean box "
            "centre, fraction of the image from the left / top):",
            "",
            "| track | from (s) | to (s) | frames | x | y |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        for tid, t in summary.items():
            lines.append(
                f"| {tid} | {t['first_s']:.2f} | {t['last_s']:.2f} | {t['frames']} | "
                f"{_fmt(t['mean_x'], 2)} | {_fmt(t['mean_y'], 2)} |"
            )
        lines.append("")
    return "\n".join(lines)


def write_reports(report: dict, out_dir: str | Path, stem: str = "report") -> dict[str, Path]:
    """Write ``<stem>.json``, ``<stem>.md`` and ``<stem>_confusion.png`` into ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    png = plot_confusion_matrix(
        report["score"]["classification"],
        out / f"{stem}_confusion.png",
        title=Path(str(report.get("bag", ""))).name,
    )
    report["confusion_matrix_png"] = str(png)
    paths = {"png": png}
    confidence = report["score"].get("confidence")
    if confidence and confidence["right"] + confidence["wrong"]:
        paths["confidence_png"] = plot_confidence(
            confidence, out / f"{stem}_confidence.png", title=Path(str(report.get("bag", ""))).name
        )
        report["confidence_png"] = str(paths["confidence_png"])
    js = write_json(report, out / f"{stem}.json")
    md = out / f"{stem}.md"
    md.write_text(markdown(report))
    return {"json": js, "markdown": md, **paths}
