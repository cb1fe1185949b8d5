"""Image stamp -> /human_poses and -> /human_actions latency with both nodes running (issue 4).

    .venv/bin/python benchmarks/bench_latency.py [--quick] [--frames 230] [--loops 2]
        [--fps 30] [--size native] [--compare-executors] [--json PATH] [--png PATH]

A camera process publishes the demo clip on ``image_raw`` in real time (stamp = publish time)
without flow control: the pose node drops what it cannot keep up with, and the drops are counted
(its /diagnostics). The pose node and the AcT node run in their own processes with
config/act_ros.yaml (``python -m act_ros.ros.*``); this process receives both outputs and
measures arrival - image stamp. ``--compare-executors`` repeats the run with both nodes on
MultiThreadedExecutor.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

import node_harness as nh


def run(args: argparse.Namespace, run_dir: Path, executor: str | None = None) -> dict[str, Any]:
    """Camera -> pose node -> AcT node in real time. ``executor`` None: the shipped programs;
    "multi": the same nodes on that rclpy executor (node_servers.py)."""
    from diagnostic_msgs.msg import DiagnosticArray

    from act_ros.messages import ACTIONS_TOPIC, DIAGNOSTICS_TOPIC, POSES_TOPIC, header_stamp_ns
    from act_ros.msg import PersonActionArray, PersonPose2DArray

    model, description = nh.resolve_act_model(args.act_model)
    variant = nh.pose_variant(args.variant)
    load0 = os.getloadavg()
    if executor is None:
        nodes = f"python -m act_ros.ros.* ({nh.spin_executor_name()})"
        act = nh.node_process("act_node", run_dir, {"model_path": str(model), "no_input_warning": 0.0})
        pose = nh.node_process("pose_node", run_dir, {"model_variant": variant, "no_input_warning": 0.0})
    else:
        nodes = f"both nodes on {nh.EXECUTOR_NAMES[executor]}"
        act = nh.server_process("act-node", run_dir, ["--act-model", str(model), "--executor", executor])
        pose = nh.server_process("pose-node", run_dir, ["--pose-variant", variant, "--executor", executor])
    host = nh.host("bench_observer")
    camera = None
    poses_lat: list[int] = []
    actions_lat: list[int] = []
    busy_actions_lat: list[int] = []
    diag: dict[str, Any] = {}

    def on_poses(msg: Any) -> None:
        poses_lat.append(time.time_ns() - header_stamp_ns(msg))

    def on_actions(msg: Any) -> None:
        latency = time.time_ns() - header_stamp_ns(msg)
        actions_lat.append(latency)
        if len(msg.actions):
            busy_actions_lat.append(latency)

    def on_diagnostics(msg: Any) -> None:
        values = nh.diagnostic_values(msg, "pose_node")
        if values is not None:
            diag["pose"] = (time.monotonic(), values)

    try:
        node = host.nodes[0]
        p_sub = node.create_subscription(PersonPose2DArray, POSES_TOPIC, on_poses, nh.reliable(100))
        a_sub = node.create_subscription(PersonActionArray, ACTIONS_TOPIC, on_actions, nh.reliable(100))
        node.create_subscription(DiagnosticArray, DIAGNOSTICS_TOPIC, on_diagnostics, 50)
        nh.spin_or_fail(
            host,
            lambda: p_sub.get_publisher_count() >= 1 and a_sub.get_publisher_count() >= 1,
            120,
            "both nodes",
            [act, pose],
        )
        # Windows need poses from the pose node: it must see the AcT node's subscription too.
        nh.spin_or_fail(
            host,
            lambda: node.count_subscribers("/" + POSES_TOPIC) >= 2,
            30,
            "the AcT node's poses subscription",
            [act, pose],
        )
        camera = nh.server_process(
            "camera",
            run_dir,
            [
                "--frames",
                str(args.frames),
                "--loops",
                str(args.loops),
                "--fps",
                str(args.fps),
                "--encoding",
                args.encoding,
                "--size",
                args.size,
            ],
            capture_stdout=True,
        )
        nh.spin_or_fail(
            host,
            lambda: not camera.alive(),
            60 + 2 * args.frames * args.loops / args.fps,
            "the camera to finish",
            [act, pose],
        )
        cam = camera.result()
        if "error" in cam:
            raise RuntimeError(f"camera: {cam['error']}")
        ended = time.monotonic()

        def drained() -> bool:
            if "pose" not in diag or diag["pose"][0] < ended + 1.0:
                return False  # a report made after the last image could have arrived
            processed = int(diag["pose"][1].get("processed", -1))
            return processed == len(poses_lat) and len(actions_lat) == len(poses_lat)

        nh.spin_or_fail(host, drained, 30, "the nodes to finish the last frames", [act, pose])
    finally:
        if camera is not None:
            camera.stop()
        host.close()
        pose.stop()
        act.stop()
    values = diag["pose"][1]
    received = int(values["received"])

    def ms(ns: list[int]) -> dict[str, float]:
        return nh.stats_ms(np.asarray(ns, dtype=np.float64) / 1e9)

    return {
        "nodes": nodes,
        "variant": variant,
        "model_description": description,
        "camera": cam,
        "output_fps": int(values["processed"]) / cam["seconds"],
        "received": received,
        "processed": int(values["processed"]),
        "dropped_busy": int(values["dropped_busy"]),
        "lost_in_transport": int(values["lost_in_transport"]),
        "not_received": cam["published"] - received,
        "poses_ms": ms(poses_lat),
        "actions_ms": ms(actions_lat),
        "actions_with_people_ms": ms(busy_actions_lat),
        "load": [load0, os.getloadavg()],
        "fps": args.fps,
        "frames": args.frames,
        "loops": args.loops,
    }


def print_results(runs: list[dict[str, Any]]) -> None:
    res, cam = runs[0], runs[0]["camera"]
    print(
        f"### Image stamp -> /human_actions latency, both nodes running (pose: MediaPipe "
        f"{res['variant']}; AcT: {res['model_description']})"
    )
    print(
        f"{nh.load_text()} (at the start: {res['load'][0][0]:.2f}). A camera process "
        f"publishes the demo clip from frame 0 ({res['frames']} frames x {res['loops']} "
        f"loop(s)) on image_raw at {res['fps']:g} fps in real time (achieved "
        f"{cam['rate']:.1f} fps, {cam['late']} frames published > 1 period late, publish() "
        f"{cam['publish_ms']['median']:.1f} ms median), stamp = publish time; pose node and "
        f"AcT node in their own processes with config/act_ros.yaml; latency = arrival here - "
        f"image stamp."
        + (" The second run: the same nodes on the other rclpy executor." if len(runs) > 1 else "")
    )
    rows = []
    for run_ in runs:
        for key, label in (
            ("poses_ms", "image stamp -> /human_poses"),
            ("actions_ms", "image stamp -> /human_actions (every message)"),
            ("actions_with_people_ms", "image stamp -> /human_actions with >= 1 labelled person"),
        ):
            s = run_[key]
            rows.append([run_["nodes"], label, s["n"], s["median"], s["p90"], s["p99"], s["max"]])
    nh.print_table(["nodes", "path", "messages", "p50 ms", "p90 ms", "p99 ms", "max ms"], rows, digits=1)
    print("Frames:")
    rows = [
        [
            r["nodes"],
            r["camera"]["published"],
            r["received"],
            r["processed"],
            r["dropped_busy"],
            r["not_received"],
            r["processed"] / max(1, r["camera"]["published"]),
            r["output_fps"],
        ]
        for r in runs
    ]
    nh.print_table(
        [
            "nodes",
            "published",
            "received by the pose node",
            "processed",
            "dropped (node busy, replaced in the 1-slot mailbox)",
            "never received (lost in transport)",
            "processed share",
            "pose node output frames/s",
        ],
        rows,
        digits=3,
    )


def plot(ax: Any, results: dict[str, Any]) -> str:
    res = results["latency"]
    names = ["published", "received", "processed", "dropped busy"]
    x = np.arange(len(names))
    width = 0.8 / len(res)
    lines = []
    for i, r in enumerate(res):
        values = [r["camera"]["published"], r["received"], r["processed"], r["dropped_busy"]]
        ax.bar(x + (i - (len(res) - 1) / 2) * width, values, width=width, label=r["nodes"])
        a = r["actions_ms"]
        lines.append(
            f"{r['nodes']}: actions p50 {a['median']:.0f} / p90 {a['p90']:.0f} / p99 {a['p99']:.0f} ms"
        )
    ax.set_xticks(x, names)
    ax.set_ylabel("frames")
    ax.set_title("\n".join(lines), fontsize=8)
    ax.legend(fontsize=7, loc="best")
    return f"camera {res[0]['fps']:g} fps -> both nodes"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    nh.add_common_arguments(ap, pose_variant=True, act_model=True)
    ap.add_argument("--frames", type=int, default=230, help="clip frames (from frame 0)")
    ap.add_argument("--loops", type=int, default=2, help="times the clip is played")
    ap.add_argument("--fps", type=float, default=30.0, help="camera rate")
    ap.add_argument("--size", default="native", help="camera image size (native or WxH)")
    ap.add_argument(
        "--compare-executors",
        action="store_true",
        help="repeat with both nodes on MultiThreadedExecutor (slow)",
    )
    args = ap.parse_args(argv)
    if args.quick:
        args.frames, args.loops = min(args.frames, 45), 1
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)

    def measure(run_dir: Path, results: dict[str, Any]) -> None:
        results["latency"] = [run(args, run_dir)]
        if args.compare_executors:
            results["latency"].append(run(args, run_dir, executor="multi"))
        print_results(results["latency"])

    return nh.run_benchmark(args, "act_ros latency benchmark", measure, plot)


if __name__ == "__main__":
    sys.exit(main())
