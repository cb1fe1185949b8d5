"""`act-ros evaluate BAG`: replay a labelled bag through the running nodes and score the results.

Imports no rclpy until a replay starts: ``--direct`` runs without ROS (``act_ros.bag.direct``).

Modes: ``--in-process`` (default) starts the pose and AcT nodes in this process;
``--launch`` connects to nodes started elsewhere (``ros2 launch act_ros replay.launch.py``);
``--external-player`` only listens while someone else plays the bag (``ros2 bag play``);
``--direct`` runs the same pipeline without ROS (pose estimator -> recognizer) for comparison.
Writes ``report.json``, ``report.md`` and ``report_confusion.png`` to ``--output-dir``.

``--in-process`` runs on a private ROS domain (act_ros.private_domain) unless ``--join-graph``:
nothing else on the machine can feed the nodes. Whatever the mode, the report says loudly when
results arrived that the bag did not cause (act_ros.integrity), and the exit code says so.
SIGINT, SIGTERM and SIGHUP end the replay the same way: the report covers the frames so far.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import os
import sys
from pathlib import Path
from typing import Any

from act_ros import exit_codes
from act_ros.bag.bag_io import BagError, BagInfo, inspect_bag
from act_ros.bag.report import write_reports
from act_ros.bag.scoring import score
from act_ros.messages import GROUND_TRUTH_TOPIC


def parse_param(text: str) -> tuple[str, Any]:
    """``name=value`` for argparse (see act_ros.parameters.parse_assignment)."""
    from act_ros.parameters import parse_assignment

    try:
        return parse_assignment(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="act-ros evaluate",
        description="Replay a labelled bag (act-ros make-bag) into the pose and AcT nodes over DDS, "
        "collect /human_actions and score them against the bag's ground truth.",
    )
    p.add_argument("bag", help="bag folder (with metadata.yaml) or a .mcap / .db3 file")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument(
        "--in-process",
        dest="mode",
        action="store_const",
        const="in-process",
        help="start the nodes in this process (default)",
    )
    mode.add_argument(
        "--launch",
        dest="mode",
        action="store_const",
        const="launch",
        help="the nodes are already running (e.g. ros2 launch act_ros replay.launch.py)",
    )
    mode.add_argument(
        "--external-player",
        dest="mode",
        action="store_const",
        const="external",
        help="do not publish: listen while `ros2 bag play BAG` plays it",
    )
    mode.add_argument(
        "--direct",
        dest="mode",
        action="store_const",
        const="direct",
        help="no ROS: run the pose estimator and recognizer here on the bag's frames",
    )
    pace = p.add_mutually_exclusive_group()
    pace.add_argument("--rate", type=float, help="replay at R x the recorded speed")
    pace.add_argument(
        "--as-fast-as-possible", action="store_true", help="replay as fast as the nodes answer (default)"
    )
    p.add_argument(
        "--no-flow-control",
        action="store_true",
        help="do not wait for results before the next frame (nodes may drop frames, as live)",
    )
    p.add_argument(
        "--max-in-flight",
        type=int,
        default=1,
        help="with flow control: frames allowed to await their result (default 1)",
    )
    p.add_argument(
        "--use-sim-time",
        action="store_true",
        help="publish /clock from bag time (and set use_sim_time on in-process nodes)",
    )
    p.add_argument(
        "--stamps",
        choices=("original", "wall"),
        default="original",
        help="keep the recorded header stamps, or rewrite them to the wall clock at publish",
    )
    p.add_argument("--namespace", default="", help="namespace of the nodes' topics")
    p.add_argument(
        "--join-graph",
        action="store_true",
        help="--in-process: run the nodes on the ROS graph of ROS_DOMAIN_ID (others "
        "can see and disturb them); default: a private graph",
    )
    p.add_argument("--input-topic", help="bag topic to replay (default: the image or pose topic)")
    p.add_argument("--ground-truth-topic", default=GROUND_TRUTH_TOPIC)
    p.add_argument(
        "--params-file",
        help="ROS parameters YAML for the in-process/direct nodes (pose_node and "
        "act_node sections; default: the package's config/act_ros.yaml, as "
        "`act-ros run` and act.launch.py use; 'none' = the nodes' defaults)",
    )
    p.add_argument(
        "--pose-param",
        action="append",
        type=parse_param,
        default=[],
        metavar="NAME=VALUE",
        help="parameter of the in-process pose node (repeatable)",
    )
    p.add_argument(
        "--act-param",
        action="append",
        type=parse_param,
        default=[],
        metavar="NAME=VALUE",
        help="parameter of the in-process AcT node (repeatable)",
    )
    p.add_argument(
        "--min-window-frames",
        type=int,
        default=0,
        help="score only predictions made on windows of at least this many frames",
    )
    p.add_argument("--connect-timeout", type=float, default=30.0)
    p.add_argument("--frame-timeout", type=float, default=10.0)
    p.add_argument("-o", "--output-dir", help="where the reports go (default: ./eval_<bag name>)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.epilog = "exit codes: " + "; ".join(f"{code} {text}" for code, text in exit_codes.TABLE)
    return p


def build_report(
    info: BagInfo,
    outputs: dict,
    run: dict,
    diagnostics: dict | None = None,
    min_window_frames: int = 0,
    traffic: Any = None,
) -> dict:
    """The report dict (JSON-ready) from the bag, the collected outputs and run facts;
    ``traffic``: an act_ros.integrity.TrafficCheck (people and tracks are filled in here)."""
    result = score(info.ground_truth, outputs, info.frame_stamps, min_window_frames=min_window_frames)
    people = info.custom_data.get("act_ros.ground_truth_people")
    result["tracks"]["ground_truth_people"] = int(people) if people and people.isdigit() else None
    if traffic is not None:
        frames = [o.pose_track_ids for o in outputs.values() if o.pose_track_ids is not None]
        traffic.people = result["tracks"]["ground_truth_people"]
        traffic.most_people = max((len(ids) for ids in frames), default=None)
        traffic.tracks = result["tracks"]["predicted_tracks_in_poses"]
    return {
        "bag": str(info.path),
        "storage": info.storage,
        "input_topic": info.input_topic,
        "input_type": info.input_type,
        "bag_duration_s": info.duration_s,
        "frames": info.n_frames,
        "ground_truth_class_names": info.class_names,
        "run": run,
        "diagnostics": diagnostics or {},
        "integrity": traffic.as_dict() if traffic is not None else None,
        "score": result,
    }


def _print_summary(report: dict, paths: dict) -> None:
    c = report["score"]["classification"]
    cov = report["score"]["coverage"]
    lat = report["score"]["latency"]
    run = report["run"]

    def pct(v: float | None) -> str:
        return "n/a" if v is None else f"{v * 100:.1f}%"

    def ms(v: float | None) -> str:
        return "n/a" if v is None else f"{v:.1f}"

    print(
        f"accuracy {pct(c['accuracy'])}, balanced accuracy {pct(c['balanced_accuracy'])} "
        f"on {c['scored']} (person, frame) pairs; {cov['frames_with_result']}/{cov['frames']} frames "
        f"answered, {cov['frames_missing_result']} dropped"
    )
    print(
        f"latency p50/p90/p99 {ms(lat['p50_ms'])}/{ms(lat['p90_ms'])}/{ms(lat['p99_ms'])} ms; "
        f"replay {run.get('wall_time_s', 0):.1f} s"
    )
    for kind, path in paths.items():
        print(f"{kind}: {path}")
    integrity = report.get("integrity") or {}
    for problem in integrity.get("problems", []):
        print(
            f"act-ros evaluate: WARNING: results the bag did not cause: {problem}. The scores "
            f"are not trustworthy (in-process without --join-graph runs on a private graph).",
            file=sys.stderr,
        )
    for warning in integrity.get("warnings", []):
        print(f"act-ros evaluate: note: {warning}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    from act_ros.interrupts import GracefulStop

    args = build_parser().parse_args(argv)
    with GracefulStop("act-ros evaluate") as stop:
        return _main(args, stop)


def _main(args: argparse.Namespace, stop: Any) -> int:
    from act_ros.interrupts import Interrupted
    from act_ros.parameters import check_node_parameters

    mode = args.mode or "in-process"
    try:
        info = inspect_bag(args.bag, input_topic=args.input_topic, ground_truth_topic=args.ground_truth_topic)
    except BagError as exc:
        print(f"act-ros evaluate: error: {exc}", file=sys.stderr)
        return exit_codes.BAD_INPUT
    try:
        params = node_params(args.params_file, dict(args.pose_param), dict(args.act_param))
        check_node_parameters(params["pose"], params["act"])
    except ValueError as exc:
        print(f"act-ros evaluate: error: {exc}", file=sys.stderr)
        return exit_codes.BAD_INPUT
    out_dir = Path(args.output_dir or f"eval_{info.path.name.removesuffix(info.path.suffix) or 'bag'}")
    started = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    try:
        with stop.interruptible():  # the replay and the direct loop end cleanly at a signal
            if mode == "direct":
                report = _direct(info, args, started, params)
            else:
                report = _replay(info, args, mode, started, params)
    except Interrupted as exc:  # before the first frame (models loading, nodes connecting)
        print(f"act-ros evaluate: stopped by {exc} before the first frame; no report", file=sys.stderr)
        return stop.exit_code
    except (BagError, FileNotFoundError) as exc:
        print(f"act-ros evaluate: error: {exc}", file=sys.stderr)
        return exit_codes.BAD_INPUT
    except Exception as exc:
        from act_ros.model_spec import ModelMismatchError

        # A node refusing a parameter value (rclpy checks the declared ranges).
        if isinstance(exc, ModelMismatchError) or type(exc).__module__ == "rclpy.exceptions":
            print(f"act-ros evaluate: error: {exc}", file=sys.stderr)
            return exit_codes.BAD_INPUT
        from act_ros.private_domain import NoPrivateDomain
        from act_ros.ros.replay import ReplayError

        if isinstance(exc, NoPrivateDomain):
            print(f"act-ros evaluate: error: {exc}", file=sys.stderr)
            return exit_codes.BAD_INPUT
        if isinstance(exc, ReplayError):
            print(f"act-ros evaluate: error: {exc}", file=sys.stderr)
            return exit_codes.INCOMPLETE
        raise
    paths = write_reports(report, out_dir)
    _print_summary(report, paths)
    if stop.exit_code is not None:
        print(
            f"act-ros evaluate: stopped by {stop.name}: the report covers the frames replayed so far",
            file=sys.stderr,
        )
        return stop.exit_code
    if (report.get("integrity") or {}).get("problems"):
        return exit_codes.FOREIGN_TRAFFIC
    return exit_codes.OK


def _direct(info: BagInfo, args: argparse.Namespace, started: str, params: dict[str, Any]) -> dict:
    from act_ros.bag.direct import evaluate_direct

    direct = evaluate_direct(
        info, pose_params=params["pose"], act_params=params["act"], progress=not args.quiet
    )
    run = {
        "mode": "direct (no ROS)",
        "pacing": "sequential",
        "use_sim_time": False,
        "stamps": "original",
        "wall_time_s": direct.wall_time_s,
        "throughput_fps": direct.throughput_fps,
        "frames_published": len(direct.outputs),
        "interrupted": direct.interrupted,
        "node_params": params,
        "started_at": started,
    }
    return build_report(info, direct.outputs, run, {}, args.min_window_frames)


def node_params(
    params_file: str | None, pose_flags: dict[str, Any], act_flags: dict[str, Any]
) -> dict[str, dict[str, Any]]:
    """Parameters of the in-process (or direct) nodes: the params file, then the flags."""
    from act_ros.parameters import default_params_file, load_params_file

    path = default_params_file() if params_file is None else params_file
    if path is not None and str(path).lower() == "none":
        path = None
    pose, act = load_params_file(path)
    pose.update(pose_flags)
    act.update(act_flags)
    # The replay decides when input starts: no "no input" warnings while models load.
    pose["no_input_warning"] = pose_flags.get("no_input_warning", 0.0)
    act["no_input_warning"] = act_flags.get("no_input_warning", 0.0)
    return {"pose": pose, "act": act, "params_file": str(path) if path else "none"}


def _replay(info: BagInfo, args: argparse.Namespace, mode: str, started: str, params: dict[str, Any]) -> dict:
    # Before rclpy starts: the network rule (discovery stays on this machine) and the project's
    # Fast DDS profile (its shared-memory segment fits raw images between processes).
    from act_ros import environment

    environment.apply(os.environ)
    graph, domain = f"domain {os.environ.get('ROS_DOMAIN_ID', '0')} (shared)", None
    if mode == "in-process" and not args.join_graph:
        from act_ros.private_domain import private_domain

        domain = private_domain()
        graph = f"domain {domain} (private)"
    from act_ros.integrity import TrafficCheck
    from act_ros.ros.replay import ReplayOptions, run_replay

    options = ReplayOptions(
        rate=args.rate,
        flow_control=not args.no_flow_control,
        max_in_flight=max(1, args.max_in_flight),
        stamps=args.stamps,
        use_sim_time=args.use_sim_time,
        namespace=args.namespace,
        connect_timeout_s=args.connect_timeout,
        frame_timeout_s=args.frame_timeout,
        progress=not args.quiet,
        external_player=mode == "external",
    )
    if info.input_type.endswith("CompressedImage"):
        params["pose"]["use_compressed"] = True
    result = run_replay(
        info,
        options,
        in_process=mode == "in-process",
        node_params={"pose": params["pose"], "act": params["act"]},
        domain_id=domain,
    )
    run = {
        "mode": mode,
        "pacing": result.pacing,
        "use_sim_time": args.use_sim_time,
        "stamps": args.stamps,
        "latency_measured_from": "image stamp (rewritten to wall clock at publish)"
        if args.stamps == "wall"
        else "publish time of the frame",
        "wall_time_s": result.wall_time_s,
        "throughput_fps": result.throughput_fps,
        "frames_published": result.frames_published,
        "frames_timed_out": result.frames_timed_out,
        "first_frame_resends": result.first_frame_resends,
        "interrupted": result.interrupted,
        "node_params": params if mode == "in-process" else {},
        "ros_graph": graph,
        "started_at": started,
    }
    traffic = TrafficCheck(
        sent=result.frames_published + result.first_frame_resends,
        received=result.inputs_received,
        answered=len(result.outputs),
        foreign_results=result.foreign_results,
        repeated_results=result.repeated_results,
        expected_repeats=result.first_frame_resends,
    )
    return build_report(info, result.outputs, run, result.diagnostics, args.min_window_frames, traffic)


if __name__ == "__main__":
    sys.exit(main())
