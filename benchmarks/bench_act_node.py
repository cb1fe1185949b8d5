"""AcT node time per pose message with 1, 5 and 20 people (issue 4, "Performance").

    .venv/bin/python benchmarks/bench_act_node.py [--quick] [--people 1,5,20] [--messages 500]
        [--act-model FILE.tflite] [--profile] [--compare-executors] [--json PATH] [--png PATH]

Real LZQ pose sequences, one per person, messages at the model's frame rate (every message puts a
frame in every window and runs the model for every person: the worst case). In-process: the real
``ActNode.process`` (the subscription callback) timed around the call, its pieces from the node's
own timing marks (``ActNode.last_timing``), the features and the TFLite call timed on the same
batch, and a cProfile when over target. Over DDS: the round trip poses -> actions to the node
(``python -m act_ros.ros.act_node``) in its own process. ``--compare-executors`` repeats the
round trips with the node on MultiThreadedExecutor.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

import node_harness as nh

TARGET_MS = 2.0  # issue 4: AcT node, 5 people, micro, 1 thread
MARKS = ("start", "converted", "recognized", "encoded", "published")  # ActNode.last_timing
PARTS = (
    ("converted", "message -> arrays (messages.pose_arrays)"),
    ("recognized", "recognizer.update (all of it)"),
    ("features", "  of which pose_features (same batch, timed alone)"),
    ("predict_proba", "  of which TFLite predict_proba (same batch, timed alone)"),
    ("encoded", "actions message (actions_to_msg)"),
    ("published", "publish human_actions"),
)


def _node_host(model: Path) -> tuple[Any, Any]:
    """A host with the real ActNode and a matched (never spun) subscriber of its output."""
    from act_ros.messages import ACTIONS_TOPIC
    from act_ros.msg import PersonActionArray
    from act_ros.ros.act_node import ActNode

    host = nh.host("bench_act_inprocess", ["--ros-args", "--params-file", str(nh.CONFIG)])
    node = host.create(ActNode, {"model_path": str(model), "num_threads": 1, "no_input_warning": 0.0})
    sub = host.nodes[0].create_subscription(PersonActionArray, ACTIONS_TOPIC, lambda m: None, nh.reliable())
    nh.spin_or_fail(host, lambda: sub.get_publisher_count() >= 1, 10, "the in-process actions subscriber")
    return host, node


def batch_parts(node: Any, people: int, repeats: int) -> dict[str, dict[str, float]]:
    """pose_features and predict_proba on one full batch of the node's window shape, timed
    alone: the two pieces of recognizer.update that matter."""
    from act_ros.preprocessing import pose_features

    windows = nh.people_poses(people, node.recognizer.config.window_length).transpose(1, 0, 2, 3)
    features, predict = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        x = pose_features(windows)
        t1 = time.perf_counter()
        node.recognizer.classifier.predict_proba(x)
        predict.append(time.perf_counter() - t1)
        features.append(t1 - t0)
    return {"features": nh.stats_ms(features), "predict_proba": nh.stats_ms(predict)}


def in_process(
    model: Path, people: int, warmup: int, count: int, period_ns: int, profile: bool
) -> dict[str, Any]:
    """Time ActNode.process on real messages; its parts; optionally a cProfile pass."""
    from rclpy.serialization import deserialize_message, serialize_message

    from act_ros.msg import PersonPose2DArray

    msgs = nh.pose_messages(nh.people_poses(people, warmup + count), 1, nh.STAMP0_NS, period_ns)
    host, node = _node_host(model)
    try:
        callback: list[float] = []
        parts: dict[str, list[float]] = {m: [] for m in MARKS[1:]}
        for i, msg in enumerate(msgs):
            if i == warmup:
                inferences0 = node.recognizer.stats.inferences
            t0 = time.perf_counter()
            node.process(msg)
            if i >= warmup:
                callback.append(time.perf_counter() - t0)
                for name, seconds in nh.durations(node.last_timing, MARKS).items():
                    parts[name].append(seconds)
        out = {
            "people": people,
            "callback_ms": nh.stats_ms(callback),
            "tracks": node.recognizer.num_tracks,
            "inferences_per_message": (node.recognizer.stats.inferences - inferences0) / count,
            "parts_ms": {**{k: nh.stats_ms(v) for k, v in parts.items()}, **batch_parts(node, people, count)},
        }
        # The take side of "receiving": rclpy turns the serialized message into Python objects.
        deserialize = []
        for msg in msgs[warmup:]:
            data = serialize_message(msg)
            t0 = time.perf_counter()
            deserialize_message(data, PersonPose2DArray)
            deserialize.append(time.perf_counter() - t0)
        out["deserialize_ms"] = nh.stats_ms(deserialize)
    finally:
        host.close()
    if profile:
        out["profile"] = profile_process(model, msgs, warmup)
    return out


def profile_process(model: Path, msgs: list[Any], warmup: int, top: int = 14) -> list[dict]:
    """cProfile of ActNode.process over the timed messages (a fresh node): the functions with
    the most own time."""
    host, node = _node_host(model)
    try:
        for msg in msgs[:warmup]:
            node.process(msg)
        profiler = cProfile.Profile()
        profiler.enable()
        for msg in msgs[warmup:]:
            node.process(msg)
        profiler.disable()
    finally:
        host.close()
    n = len(msgs) - warmup
    rows = [
        {
            "function": f"{Path(file).name}:{line}({func})",
            "calls_per_message": nc / n,
            "own_us_per_message": tt / n * 1e6,
            "cumulative_us_per_message": ct / n * 1e6,
        }
        for (file, line, func), (_, nc, tt, ct, _) in pstats.Stats(profiler).stats.items()
    ]
    rows.sort(key=lambda r: -r["own_us_per_message"])
    return rows[:top]


def over_dds(
    model: Path,
    people_counts: Sequence[int],
    warmup: int,
    count: int,
    period_ns: int,
    run_dir: Path,
    executor: str | None = None,
) -> dict[int, Any]:
    """Round trip poses -> actions per message, the AcT node in its own process: the shipped
    program, or with ``executor`` the same node on that executor. One node for every crowd
    size: each set has its own IDs and starts after the track timeout."""
    from tqdm import tqdm

    from act_ros.messages import ACTIONS_TOPIC, POSES_TOPIC, header_stamp_ns
    from act_ros.msg import PersonActionArray, PersonPose2DArray
    from act_ros.ros.host import StampedMessages

    if executor is None:
        node = nh.node_process(
            "act_node", run_dir, {"model_path": str(model), "num_threads": 1, "no_input_warning": 0.0}
        )
    else:
        node = nh.server_process("act-node", run_dir, ["--act-model", str(model), "--executor", executor])
    host = nh.host("bench_act_dds")
    results = {}
    try:
        pub = host.nodes[0].create_publisher(PersonPose2DArray, POSES_TOPIC, nh.reliable())
        replies = StampedMessages()
        sub = host.nodes[0].create_subscription(PersonActionArray, ACTIONS_TOPIC, replies, nh.reliable())
        nh.spin_or_fail(
            host,
            lambda: pub.get_subscription_count() >= 1 and sub.get_publisher_count() >= 1,
            60,
            "the AcT node",
            [node],
        )
        start, first_id = nh.STAMP0_NS, 1
        for people in people_counts:
            msgs = nh.pose_messages(nh.people_poses(people, warmup + count), first_id, start, period_ns)
            rtt, actions, lost = [], [], 0
            for i, msg in enumerate(tqdm(msgs, desc=f"AcT node over DDS, {people} people", leave=False)):
                stamp = header_stamp_ns(msg)
                t0 = time.perf_counter()
                pub.publish(msg)
                if not host.spin_until(lambda stamp=stamp: stamp in replies, 10.0, node.check):
                    lost += 1
                elif i >= warmup:
                    rtt.append(replies.arrival(stamp) - t0)
                    actions.append(len(replies.get(stamp).actions))
            results[people] = {
                "round_trip_ms": nh.stats_ms(rtt),
                "lost": lost,
                "actions_per_message": float(np.mean(actions)) if actions else 0.0,
            }
            first_id += people
            start = header_stamp_ns(msgs[-1]) + 10 * 1_000_000_000  # past track_timeout
        return results
    finally:
        host.close()
        node.stop()


def run(args: argparse.Namespace, run_dir: Path) -> dict[str, Any]:
    from act_ros.model_spec import load_model_spec

    model, description = nh.resolve_act_model(args.act_model)
    spec = load_model_spec(model)
    rate = float(spec.frame_rate or 0.0) or 30.0
    period_ns = int(round(1e9 / rate))
    counts = [int(c) for c in args.people.split(",")]
    # Full windows before timing (--quick: just past the first prediction; rough anyway).
    warmup = spec.window_length + 5 if not args.quick else 12
    load0 = os.getloadavg()
    inproc = {p: in_process(model, p, warmup, args.messages, period_ns, False) for p in counts}
    target = 5 if 5 in inproc else counts[0]
    if args.profile or inproc[target]["callback_ms"]["median"] > TARGET_MS:
        inproc[target]["profile"] = in_process(model, target, warmup, args.messages, period_ns, True)[
            "profile"
        ]
    dds = {
        nh.spin_executor_name() + " (python -m)": over_dds(
            model, counts, warmup, args.messages, period_ns, run_dir
        )
    }
    if args.compare_executors:
        dds["MultiThreadedExecutor"] = over_dds(
            model, counts, warmup, args.messages, period_ns, run_dir, executor="multi"
        )
    return {
        "model": str(model),
        "model_description": description,
        "window_length": spec.window_length,
        "frame_rate": rate,
        "classes": spec.num_classes,
        "messages": args.messages,
        "warmup": warmup,
        "in_process": inproc,
        "dds": dds,
        "load": [load0, os.getloadavg()],
    }


def print_results(res: dict[str, Any]) -> None:
    print(
        f"### AcT node time per message (model {res['model_description']}, window "
        f"{res['window_length']} frames, 1 TFLite thread, config/act_ros.yaml)"
    )
    print(
        f"{nh.load_text()} (at the start: {res['load'][0][0]:.2f}). Real LZQ pose sequences, "
        f"one per person; messages {1e3 / res['frame_rate']:.1f} ms apart (the model's "
        f"{res['frame_rate']:g} fps), so every message puts a frame in every window and runs "
        f"the model for every person (the worst case; a faster camera skips frames between "
        f"samples). Timed: {res['messages']} messages after {res['warmup']} that fill the "
        f"windows."
    )
    print(
        "In-process: the real ActNode.process (message -> arrays, recognizer, TFLite, actions "
        "message, publish to a matched subscriber) timed around the call; 'take' = rclpy "
        "deserialize_message of the same message (the executor's receive)."
    )
    rows = []
    for people, r in res["in_process"].items():
        cb, de = r["callback_ms"], r["deserialize_ms"]
        rows.append(
            [
                int(people),
                cb["median"],
                cb["p90"],
                cb["p99"],
                de["median"],
                cb["median"] + de["median"],
                r["inferences_per_message"],
            ]
        )
    nh.print_table(
        [
            "people",
            "callback median ms",
            "p90 ms",
            "p99 ms",
            "take median ms",
            "take + callback median ms",
            "inferences/message",
        ],
        rows,
        digits=3,
    )
    print(
        "Over DDS: publish PersonPose2DArray -> the AcT node in its own process -> "
        "PersonActionArray received here (both serializations included)."
    )
    rows = [
        [
            label,
            int(people),
            r["round_trip_ms"]["median"],
            r["round_trip_ms"]["p90"],
            r["round_trip_ms"]["p99"],
            r["lost"],
            r["actions_per_message"],
        ]
        for label, results in res["dds"].items()
        for people, r in results.items()
    ]
    nh.print_table(
        [
            "node process (executor)",
            "people",
            "round trip median ms",
            "p90 ms",
            "p99 ms",
            "lost",
            "actions/message",
        ],
        rows,
        digits=3,
    )
    r5 = res["in_process"].get(5) or res["in_process"].get("5")
    if r5:
        median = r5["callback_ms"]["median"] + r5["deserialize_ms"]["median"]
        print(
            f"5 people, take + callback median {median:.3f} ms; target < {TARGET_MS} ms: "
            f"{'within' if median <= TARGET_MS else 'OVER'} target.\n"
        )
    print(
        "Where the callback's time goes (the node's timing marks around each piece; the "
        "features and the TFLite call timed alone on one batch of the same shape):"
    )
    headers = ["part (mean ms per message)"] + [f"{int(p)} people" for p in res["in_process"]]
    rows = [
        [label] + [r["parts_ms"][key]["mean"] for r in res["in_process"].values()] for key, label in PARTS
    ]
    rows.append(["= callback"] + [r["callback_ms"]["mean"] for r in res["in_process"].values()])
    nh.print_table(headers, rows, digits=3)
    for people, r in res["in_process"].items():
        if r.get("profile"):
            print(
                f"cProfile of the callback, {int(people)} people (top functions by own time, "
                f"per message; cProfile itself slows Python code down):"
            )
            nh.print_table(
                ["function", "calls/message", "own us/message", "cumulative us/message"],
                [
                    [
                        p["function"],
                        p["calls_per_message"],
                        p["own_us_per_message"],
                        p["cumulative_us_per_message"],
                    ]
                    for p in r["profile"]
                ],
                digits=1,
            )


def plot(ax: Any, results: dict[str, Any]) -> str:
    res = results["act"]
    people = list(res["in_process"])
    series = [("callback in-process", res["in_process"], "callback_ms")]
    series += [(f"over DDS, {label}", data, "round_trip_ms") for label, data in res["dds"].items()]
    x = np.arange(len(people))
    width = 0.8 / len(series)
    for i, (label, data, key) in enumerate(series):
        med = [data[p][key]["median"] for p in people]
        p90 = [data[p][key]["p90"] for p in people]
        offset = (i - (len(series) - 1) / 2) * width
        ax.bar(x + offset, med, width=width, label=f"{label} (median, p90 bar)")
        ax.errorbar(
            x + offset,
            med,
            yerr=[np.zeros(len(med)), np.subtract(p90, med)],
            fmt="none",
            ecolor="black",
            capsize=3,
        )
    ax.axhline(TARGET_MS, color="red", linestyle="--", label="target (5 people)")
    ax.set_yscale("log")
    ax.set_xticks(x, [f"{int(p)} people" for p in people])
    ax.set_ylabel("ms per message (log)")
    ax.legend(fontsize=7)
    return "AcT node per message (1 TFLite thread)"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    nh.add_common_arguments(ap, act_model=True)
    ap.add_argument("--people", default="1,5,20", help="crowd sizes")
    ap.add_argument("--messages", type=int, default=500, help="timed messages per size")
    ap.add_argument("--profile", action="store_true", help="cProfile the callback even when within target")
    ap.add_argument(
        "--compare-executors",
        action="store_true",
        help="also time the node on MultiThreadedExecutor over DDS",
    )
    args = ap.parse_args(argv)
    if args.quick:
        args.messages = min(args.messages, 20)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)

    def measure(run_dir: Path, results: dict[str, Any]) -> None:
        results["act"] = run(args, run_dir)
        print_results(results["act"])

    return nh.run_benchmark(args, "act_ros AcT node benchmark", measure, plot)


if __name__ == "__main__":
    sys.exit(main())
