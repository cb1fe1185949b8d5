"""Pose node throughput vs the raw MediaPipe estimator (issue 4, "Performance").

    .venv/bin/python benchmarks/bench_pose_node.py [--quick] [--sizes native,640x360]
        [--frames 120] [--variant full] [--compare-executors] [--json PATH] [--png PATH]

Per image size: the pose node (``python -m act_ros.ros.pose_node``, config/act_ros.yaml) in its
own process gets the demo clip's frames on ``image_raw`` with flow control (each frame's
``human_poses`` awaited before the next), interleaved frame by frame with a raw estimator in this
process (same options, same frames, never concurrently: both see the same load). Then where a
frame's round trip goes: the same node with its timing marks (``PoseNode.last_timing``) in the
node process, and ``PoseNode.process()`` called here, piece by piece. ``--compare-executors``
repeats the timeline on MultiThreadedExecutor (slow: one more node start and run per size).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

import node_harness as nh

OVERHEAD_TARGET = 0.15  # issue 4: pose node vs the raw estimator
# PoseNode.last_timing, in the order they happen (see PoseNode.process).
MARKS = ("received", "start", "converted", "estimated", "encoded", "published")


def estimator_options(params: dict[str, Any], variant: str) -> dict[str, Any]:
    """The backend and options the pose node passes to create_estimator, from the same
    parameters."""
    from act_ros.assembly import estimator_options as node_options

    return {"backend": params["backend"], **node_options({**params, "model_variant": variant})}


def node_over_dds(
    frames: Sequence[np.ndarray],
    msgs: list[Any],
    warmup: int,
    variant: str,
    run_dir: Path,
    options: dict[str, Any],
    step: int,
) -> dict[str, Any]:
    """The shipped program over DDS, interleaved with a raw estimator here; the node's own
    process() time from its /diagnostics."""
    from diagnostic_msgs.msg import DiagnosticArray

    from act_ros.messages import DIAGNOSTICS_TOPIC, header_stamp_ns
    from act_ros.pose import create_estimator

    node = nh.node_process("pose_node", run_dir, {"model_variant": variant, "no_input_warning": 0.0})
    options = dict(options)
    estimator = create_estimator(options.pop("backend"), **options)
    host = nh.host("bench_camera")
    reports: list[tuple[int, float]] = []  # (processed so far, mean process() ms since last)

    def on_diagnostics(msg: Any) -> None:
        values = nh.diagnostic_values(msg, "pose_node")
        if values is not None:
            reports.append((int(values["processed"]), float(values["processing_mean_ms"])))

    est: dict[int, float] = {}

    def estimate(i: int) -> None:
        t0 = time.perf_counter()
        estimator.estimate(frames[i], i * step)
        est[i] = time.perf_counter() - t0

    try:
        host.nodes[0].create_subscription(DiagnosticArray, DIAGNOSTICS_TOPIC, on_diagnostics, 50)
        pub, replies = nh.image_link(host, "the pose node", node)
        sent = nh.flow_controlled(
            host, pub, replies, msgs, node, "pose node over DDS + raw estimator", estimate
        )
        timed = [(i, t0, t1) for i, t0, t1 in sent if i >= warmup]
        rtt = [replies.arrival(header_stamp_ns(msgs[i])) - t0 for i, t0, _ in timed]
        people = [len(replies.get(header_stamp_ns(msgs[i])).people) for i, _, _ in timed]
        host.spin_until(lambda: bool(reports) and reports[-1][0] >= len(sent), 5.0)
    finally:
        estimator.close()
        host.close()
        node.stop()
    previous, total_ms, count = 0, 0.0, 0
    for done, mean_ms in reports:  # weighted by the frames each report covers
        total_ms += mean_ms * (done - previous)
        count += done - previous
        previous = done
    est_s = [est[i] for i, _, _ in timed]
    ms = nh.stats_ms(rtt)
    return {
        "round_trip_ms": ms,
        "fps": 1e3 / ms["mean"] if rtt else float("nan"),
        "estimator_ms": nh.stats_ms(est_s),
        "publish_ms": nh.stats_ms([t1 - t0 for _, t0, t1 in timed]),
        "ratio_median": float(np.median(np.divide(rtt, est_s))) if rtt else float("nan"),
        "node_process_ms": total_ms / count if count else float("nan"),
        "people": float(np.mean(people)) if people else 0.0,
        "lost": len(msgs) - len(sent),
        "frames": len(rtt),
    }


def node_timeline(msgs: list[Any], warmup: int, variant: str, run_dir: Path, executor: str) -> dict[str, Any]:
    """Where one frame's round trip goes: the flow-controlled run again, the node (on
    ``executor``) writing its timing marks per frame (node_servers.py pose-node)."""
    from act_ros.messages import header_stamp_ns

    marks_path = run_dir / f"pose_marks_{time.monotonic_ns()}.json"
    node = nh.server_process(
        "pose-node", run_dir, ["--marks", str(marks_path), "--pose-variant", variant, "--executor", executor]
    )
    host = nh.host("bench_camera_timeline")
    try:
        pub, replies = nh.image_link(host, "the pose node", node)
        sent = nh.flow_controlled(host, pub, replies, msgs, node, f"pose node timeline ({executor})")
    finally:
        host.close()
        code = node.stop()
    if not marks_path.is_file():
        raise RuntimeError(
            f"the pose node (exit {code}) wrote no timing marks; its log ends:\n{node.log_tail()}"
        )
    marks = {int(k): v for k, v in json.loads(marks_path.read_text()).items()}
    segments: dict[str, list[float]] = {
        k: [] for k in ("publish", "delivery", "handoff", "process", "back", "total")
    }
    for i, t0, t1 in sent:
        stamp = header_stamp_ns(msgs[i])
        mark = marks.get(stamp, {})
        if i < warmup or set(MARKS) - set(mark):
            continue
        back = replies.arrival(stamp)
        segments["publish"].append(t1 - t0)
        segments["delivery"].append(mark["received"] - t0)
        segments["handoff"].append(mark["start"] - mark["received"])
        segments["process"].append(mark["encoded"] - mark["start"])
        segments["back"].append(back - mark["encoded"])
        segments["total"].append(back - t0)
    return {f"{k}_ms": nh.stats_ms(v) for k, v in segments.items()}


def node_in_process(msgs: list[Any], warmup: int, variant: str) -> dict[str, Any]:
    """PoseNode.process() called here (no DDS transport of the image), its pieces from the
    node's own timing marks; the node's worker thread idles."""
    from rclpy.serialization import deserialize_message, serialize_message
    from sensor_msgs.msg import Image
    from tqdm import tqdm

    from act_ros.messages import POSES_TOPIC
    from act_ros.msg import PersonPose2DArray
    from act_ros.ros.pose_node import PoseNode

    host = nh.host("bench_pose_inprocess", ["--ros-args", "--params-file", str(nh.CONFIG)])
    try:
        node = host.create(PoseNode, {"model_variant": variant, "no_input_warning": 0.0})
        # A matched subscriber, so publish() does its real work (never spun: no GIL contention).
        sub = host.nodes[0].create_subscription(PersonPose2DArray, POSES_TOPIC, lambda m: None, nh.reliable())
        nh.spin_or_fail(host, lambda: sub.get_publisher_count() >= 1, 10, "the in-process poses subscriber")
        parts: dict[str, list[float]] = {m: [] for m in MARKS[2:]}
        process, serialize, deserialize = [], [], []
        for i, msg in enumerate(tqdm(msgs, desc="pose node in-process", leave=False)):
            t0 = time.perf_counter()
            node.process(msg)
            if i < warmup:
                continue
            process.append(time.perf_counter() - t0)
            for name, seconds in nh.durations(node.last_timing, MARKS[1:]).items():
                parts[name].append(seconds)
            t1 = time.perf_counter()
            data = serialize_message(msg)
            t2 = time.perf_counter()
            deserialize_message(data, Image)
            serialize.append(t2 - t1)
            deserialize.append(time.perf_counter() - t2)
        out = {
            "process_ms": nh.stats_ms(process),
            "serialize_ms": nh.stats_ms(serialize),
            "deserialize_ms": nh.stats_ms(deserialize),
        }
        out.update({f"{name}_ms": nh.stats_ms(v) for name, v in parts.items()})
        return out
    finally:
        host.close()


def run_size(args: argparse.Namespace, run_dir: Path, size: str) -> dict[str, Any]:
    from bench_pose import load_frames, measure_estimator

    params = nh.pose_node_params()
    variant = nh.pose_variant(args.variant)
    frames = load_frames(count=args.frames + args.warmup, size=nh.parse_size(size))
    step = int(round(1e9 / 30.0))
    msgs = [nh.image_message(f, args.encoding, nh.STAMP0_NS + i * step) for i, f in enumerate(frames)]
    options = estimator_options(params, variant)
    load0 = os.getloadavg()
    before = measure_estimator(frames, warmup=args.warmup, **options)
    dds = node_over_dds(frames, msgs, args.warmup, variant, run_dir, options, step)
    executors = {"single": node_timeline(msgs, args.warmup, variant, run_dir, "single")}
    if args.compare_executors:
        executors["multi"] = node_timeline(msgs, args.warmup, variant, run_dir, "multi")
    inproc = node_in_process(msgs, args.warmup, variant)
    after = measure_estimator(frames, warmup=args.warmup, **options)
    h, w = frames[0].shape[:2]
    return {
        "backend": params["backend"],
        "variant": variant,
        "image": f"{w}x{h}",
        "encoding": args.encoding,
        "num_poses": params["num_poses"],
        "frames": args.frames,
        "warmup": args.warmup,
        "estimator_before": before,
        "estimator_after": after,
        "node_dds": dds,
        "node_timeline": executors["single"],
        "node_in_process": inproc,
        "executors": executors,
        "spin_executor": nh.spin_executor_name(),
        "load": [load0, os.getloadavg()],
    }


def print_size(res: dict[str, Any]) -> None:
    dds, inproc = res["node_dds"], res["node_in_process"]
    before, after = res["estimator_before"], res["estimator_after"]
    est_ms, node_ms = dds["estimator_ms"]["mean"], dds["round_trip_ms"]["mean"]
    print(
        f"### Pose node throughput vs the raw estimator ({res['backend']} {res['variant']}, "
        f"{res['image']} {res['encoding']} frames of the demo clip from frame 0, "
        f"num_poses {res['num_poses']}, {res['frames']} timed frames after {res['warmup']})"
    )
    print(
        f"{nh.load_text()} (at the start: {res['load'][0][0]:.2f}). Node = `python -m "
        f"act_ros.ros.pose_node` (config/act_ros.yaml) in its own process; each frame is sent "
        f"on image_raw and its human_poses awaited before the next. 'interleaved': a raw "
        f"estimator in this process runs each frame just before the node gets it (same "
        f"load for both); measure_estimator ran before and after. frames/s = 1000 / mean ms."
    )
    rows = [
        [label, r["fps"], r["mean_ms"], r["median_ms"], r["p90_ms"], r["people"]]
        for label, r in (("measure_estimator, before", before), ("measure_estimator, after", after))
    ]
    rows += [
        [
            "raw estimator, interleaved",
            1e3 / est_ms,
            est_ms,
            dds["estimator_ms"]["median"],
            dds["estimator_ms"]["p90"],
            float("nan"),
        ],
        [
            f"pose node over DDS, interleaved ({dds['lost']} images lost)",
            dds["fps"],
            node_ms,
            dds["round_trip_ms"]["median"],
            dds["round_trip_ms"]["p90"],
            dds["people"],
        ],
        [
            "node.process() called in-process (no DDS)",
            1e3 / inproc["process_ms"]["mean"],
            inproc["process_ms"]["mean"],
            inproc["process_ms"]["median"],
            inproc["process_ms"]["p90"],
            float("nan"),
        ],
    ]
    nh.print_table(["path", "frames/s", "mean ms", "median ms", "p90 ms", "people/frame"], rows)
    overhead = node_ms / est_ms - 1
    ref = (before["mean_ms"] + after["mean_ms"]) / 2
    print(
        f"Node over DDS vs raw estimator, interleaved: throughput ratio {est_ms / node_ms:.3f}, "
        f"{overhead * 100:+.1f}% time per frame (median of per-frame ratios "
        f"{dds['ratio_median']:.3f}); target overhead < {OVERHEAD_TARGET:.0%}: "
        f"{'within' if overhead <= OVERHEAD_TARGET else 'OVER'} target. Against "
        f"measure_estimator (mean of before/after, {ref:.1f} ms): {(node_ms / ref - 1) * 100:+.1f}%.\n"
    )
    tl = res["node_timeline"]
    total = tl["total_ms"]["mean"]
    print(
        f"Where a frame's round trip goes, measured: a second flow-controlled run of the same "
        f"node code with its timing marks (PoseNode.last_timing) recorded in the node process "
        f"({tl['total_ms']['n']} frames; one monotonic clock across processes). 'share' = of "
        f"the mean round trip. Rows marked 'in-process' come from a third pass calling "
        f"node.process() directly:"
    )

    def row(label: str, stats: dict[str, float]) -> list:
        return [label, stats["mean"], stats["median"], stats["p90"], stats["mean"] / total]

    rows = [
        row(
            "image: publish() starts -> node callback runs (serialize, DDS delivery, take, "
            "executor dispatch)",
            tl["delivery_ms"],
        ),
        row("  of which publish() in the camera process", tl["publish_ms"]),
        row("  of which rclpy deserialize_message of the image (in-process)", inproc["deserialize_ms"]),
        row("mailbox hand-off: callback -> worker thread starts process()", tl["handoff_ms"]),
        row("node.process() up to publishing the poses", tl["process_ms"]),
    ]
    for key, label in (
        ("converted_ms", "image conversion (messages.message_to_rgb)"),
        ("estimated_ms", "PosePipeline.process (estimator + tracker)"),
        ("encoded_ms", "message building (detections_to_msg)"),
    ):
        rows.append(row(f"  of which {label} (in-process)", inproc[key]))
    rows += [
        row("poses back: publish() + DDS + take + this process's executor", tl["back_ms"]),
        row("  of which the node's publish() of the poses (in-process)", inproc["published_ms"]),
        row("= round trip (this run)", tl["total_ms"]),
        row("raw estimator (interleaved run), for comparison", dds["estimator_ms"]),
    ]
    nh.print_table(["part", "mean ms", "median ms", "p90 ms", "share"], rows)
    if len(res["executors"]) > 1:
        print(
            "The same node with timing marks on each rclpy executor (flow-controlled runs, "
            "same frames); the project's programs use SingleThreadedExecutor (act_ros.ros.host):"
        )
        rows = []
        for kind, t in res["executors"].items():
            d, tot = t["delivery_ms"], t["total_ms"]
            rows.append(
                [
                    nh.EXECUTOR_NAMES[kind],
                    d["median"],
                    d["p90"],
                    d["max"],
                    tot["mean"],
                    tot["median"],
                    tot["p90"],
                    f"{(tot['mean'] / est_ms - 1) * 100:+.1f}%",
                ]
            )
        nh.print_table(
            [
                "executor",
                "image publish -> callback median ms",
                "p90 ms",
                "max ms",
                "round trip mean ms",
                "median ms",
                "p90 ms",
                "mean overhead vs raw estimator (interleaved run)",
            ],
            rows,
        )


def plot(ax: Any, results: dict[str, Any]) -> str:
    res = results["pose"]
    x = np.arange(len(res))
    bars = [
        ("raw estimator (interleaved)", lambda r: 1e3 / r["node_dds"]["estimator_ms"]["mean"]),
        ("pose node over DDS (python -m)", lambda r: r["node_dds"]["fps"]),
    ]
    if "multi" in res[0]["executors"]:
        bars.append(
            ("same node, MultiThreadedExecutor", lambda r: 1e3 / r["executors"]["multi"]["total_ms"]["mean"])
        )
    width = 0.8 / len(bars)
    for i, (label, value) in enumerate(bars):
        ax.bar(x + (i - (len(bars) - 1) / 2) * width, [value(r) for r in res], width=width, label=label)
    ax.set_xticks(x, [r["image"] for r in res])
    ax.set_ylabel("frames/s (flow control)")
    ax.legend(fontsize=7)
    return f"pose node vs raw estimator ({res[0]['backend']} {res[0]['variant']})"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    nh.add_common_arguments(ap, pose_variant=True)
    ap.add_argument("--sizes", default="native,640x360", help="image sizes: 'native' (1768x994) and/or WxH")
    ap.add_argument("--frames", type=int, default=120, help="timed frames")
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument(
        "--compare-executors", action="store_true", help="also time the node on MultiThreadedExecutor (slow)"
    )
    args = ap.parse_args(argv)
    if args.quick:
        args.frames, args.warmup = min(args.frames, 8), min(args.warmup, 3)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)

    def measure(run_dir: Path, results: dict[str, Any]) -> None:
        results["pose"] = []
        for size in args.sizes.split(","):
            results["pose"].append(run_size(args, run_dir, size))
            print_size(results["pose"][-1])

    return nh.run_benchmark(args, "act_ros pose node benchmark", measure, plot)


if __name__ == "__main__":
    sys.exit(main())
