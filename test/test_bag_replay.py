"""Labelled bags replayed through the REAL pose and AcT nodes over DDS (loopback), scored, and
checked against the direct (non-ROS) evaluation of the same frames."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from act_ros.bag.bag_io import inspect_bag
from act_ros.ros.evaluate import main as evaluate_main

from bag_fixtures import DEMO_LABELS, START_TIME_S, lzq_csv, make_video_bag, write_text

# Every test here replays into the real nodes (rclpy, in-process or in other processes).
pytestmark = [pytest.mark.timeout(900), pytest.mark.ros]

NODE_QUIET = {"no_input_warning": 0.0}


@pytest.fixture(scope="module")
def act_params() -> dict:
    """The AcT node's parameters for these tests: the shipped model (or $ACT_ROS_TEST_ACT_MODEL)."""
    from act_ros.runtime import shipped_model_path

    other = os.environ.get("ACT_ROS_TEST_ACT_MODEL")
    if other:
        return {"model_path": other, **NODE_QUIET}
    try:
        shipped_model_path("micro")
    except FileNotFoundError as exc:
        pytest.fail(f"the replay tests need the shipped AcT model: {exc}")
    return dict(NODE_QUIET)


@pytest.fixture(scope="module")
def demo_bag(tmp_path_factory) -> Path:
    """The README's example: the bundled clip at 640 px with the bundled labels."""
    return make_video_bag(tmp_path_factory.mktemp("demo") / "demo_bag", DEMO_LABELS, "--width", "640")


def _params_args(pose: dict, act: dict) -> list[str]:
    args = []
    for k, v in pose.items():
        args += ["--pose-param", f"{k}={v}"]
    for k, v in act.items():
        args += ["--act-param", f"{k}={v}"]
    return args


def _run(bag: Path, out: Path, *args: str) -> dict:
    assert evaluate_main([str(bag), "-o", str(out), "--quiet", *args]) == 0
    for name in ("report.json", "report.md", "report_confusion.png"):
        assert (out / name).is_file(), name
    return json.loads((out / "report.json").read_text())


def _pairs(report: dict) -> dict[tuple[int, int], str]:
    return {(p["stamp_ns"], p["track_id"]): p["pred"] for p in report["score"]["pairs"]}


@pytest.mark.slow
def test_demo_bag_through_the_real_nodes_agrees_with_direct_evaluation(demo_bag, tmp_path, act_params):
    pose = dict(NODE_QUIET)
    replay = _run(
        demo_bag,
        tmp_path / "replay",
        "--in-process",
        "--as-fast-as-possible",
        *_params_args(pose, act_params),
    )
    direct = _run(demo_bag, tmp_path / "direct", "--direct", *_params_args(pose, act_params))

    cov = replay["score"]["coverage"]
    # Flow control: every one of the 230 frames reached the nodes and came back.
    assert replay["run"]["frames_published"] == 230 and replay["run"]["frames_timed_out"] == 0
    assert cov["frames"] == cov["frames_with_result"] == 230 and cov["frames_missing_result"] == 0
    assert replay["diagnostics"].get("pose_node: dropped_busy", 0) == 0
    assert replay["score"]["latency"]["count"] == 230 and replay["score"]["latency"]["p50_ms"] > 0
    assert replay["run"]["throughput_fps"] > 0

    # The labelled people are found and scored (tracks 1 and 2 of the bundled labels).
    scored_tracks = {p["track_id"] for p in replay["score"]["pairs"]}
    assert {1, 2} <= scored_tracks, scored_tracks
    rc, dc = replay["score"]["classification"], direct["score"]["classification"]
    assert rc["scored"] >= 100

    # The same frames through the same pipeline without ROS give the same scores. MediaPipe's
    # multi-threaded inference is not bit-exact between runs, so a few (person, frame) pairs may
    # differ at a track's first frames; everything else must be identical.
    a, b = _pairs(replay), _pairs(direct)
    same = sum(1 for k in set(a) & set(b) if a[k] == b[k])
    assert same >= 0.97 * max(len(a), len(b)), (len(a), len(b), same)
    assert abs(rc["scored"] - dc["scored"]) <= 0.03 * dc["scored"]
    assert rc["accuracy"] == pytest.approx(dc["accuracy"], abs=0.03)
    assert rc["balanced_accuracy"] == pytest.approx(dc["balanced_accuracy"], abs=0.03)
    assert replay["score"]["tracks"]["ground_truth_people"] == 2
    # Where each track is, to write labels by: the woman (2) walks right to left in the lower
    # half; the man on the box (1) stays in the upper left.
    woman, man = replay["score"]["track_summary"]["2"], replay["score"]["track_summary"]["1"]
    assert woman["mean_y"] > 0.5 and man["mean_y"] < 0.4 and man["mean_x"] < 0.6
    assert replay["score"]["track_summary"].keys() == direct["score"]["track_summary"].keys()
    # The numbers in the Markdown report are the JSON's.
    md = (tmp_path / "replay" / "report.md").read_text()
    assert f"| accuracy | {rc['accuracy'] * 100:.1f} % |" in md


@pytest.mark.slow
def test_launch_mode_nodes_in_other_processes_with_sim_time_and_compressed_images(
    tmp_path, node_process, act_params
):
    labels = write_text(tmp_path / "labels.csv", "start_frame,end_frame,label,track_id\n45,119,walk,2\n")
    bag = make_video_bag(
        tmp_path / "bag",
        labels,
        "--width",
        "640",
        "--max-frames",
        "120",
        "--compressed",
        "jpeg",
        "--storage",
        "sqlite3",
    )
    pose = node_process(
        "act_ros.ros.pose_node", params={"use_compressed": True, "use_sim_time": True, **NODE_QUIET}
    )
    act = node_process("act_ros.ros.act_node", params={"use_sim_time": True, **act_params})
    report = _run(bag, tmp_path / "out", "--launch", "--use-sim-time", "--connect-timeout", "120")
    assert pose.alive() and act.alive(), pose.log() + act.log()
    cov = report["score"]["coverage"]
    assert report["run"]["mode"] == "launch" and report["run"]["use_sim_time"]
    assert cov["frames_with_result"] == 120 and cov["frames_missing_result"] == 0
    # With use_sim_time the nodes' diagnostics timers only run on /clock, which the replay
    # publishes from bag time: receiving their counters shows the clock reached them.
    assert "pose_node: processed" in report["diagnostics"], report["diagnostics"]
    assert report["score"]["classification"]["scored"] > 0


@pytest.mark.slow
def test_real_time_rate_without_flow_control_counts_drops_and_measures_latency(
    demo_bag, tmp_path, act_params
):
    # 1x recorded speed, no waiting for results, stamps rewritten to the wall clock: as live.
    report = _run(
        demo_bag,
        tmp_path / "rt",
        "--in-process",
        "--rate",
        "1.0",
        "--no-flow-control",
        "--stamps",
        "wall",
        *_params_args({"model_variant": "lite", **NODE_QUIET}, act_params),
    )
    cov = report["score"]["coverage"]
    assert report["run"]["pacing"] == "1x recorded rate, no flow control"
    assert report["run"]["wall_time_s"] >= 7.0  # the clip lasts 7.6 s
    assert cov["frames_with_result"] + cov["frames_missing_result"] == 230
    assert cov["frames_with_result"] > 0
    # Frames the pose node dropped while busy are the frames without a result.
    dropped = report["diagnostics"].get("pose_node: dropped_busy")
    assert dropped is not None and dropped <= cov["frames_missing_result"]
    lat = report["score"]["latency"]
    assert lat["count"] == cov["frames_with_result"] and 0 < lat["p50_ms"] <= lat["p99_ms"]
    assert report["run"]["latency_measured_from"].startswith("image stamp")


def test_pose_bag_into_the_act_node_alone_matches_direct_exactly(tmp_path, act_params):
    from act_ros.bag.make_bag import write_pose_bag
    from act_ros.bag.pose_datasets import load_sequences

    sequences, classes, fps = load_sequences(lzq_csv())
    # 90 frames (7.5 s at 12 fps) from each recording: four people, four actions.
    from act_ros.bag.pose_datasets import PoseSequence

    short = [PoseSequence(s.keypoints[100:190], s.labels[100:190]) for s in sequences]
    bag = tmp_path / "poses"
    write_pose_bag(
        short,
        bag,
        classes,
        fps=fps,
        image_size=(640, 480),
        start_time_ns=int(START_TIME_S * 1e9),
        progress=False,
    )
    assert inspect_bag(bag).is_pose_bag
    replay = _run(
        bag,
        tmp_path / "replay",
        "--in-process",
        "--namespace",
        "robot1",
        "--max-in-flight",
        "4",
        *_params_args({}, act_params),
    )
    direct = _run(bag, tmp_path / "direct", "--direct", *_params_args({}, act_params))
    assert replay["run"]["pacing"] == "as fast as possible, flow control (4 in flight)"
    assert replay["score"]["coverage"]["frames_with_result"] == 360
    # No pose estimator in the loop: the node and the direct path compute the same thing exactly.
    assert replay["score"]["pairs"] == direct["score"]["pairs"]
    assert replay["score"]["classification"] == direct["score"]["classification"]
    assert replay["score"]["classification"]["scored"] >= 300
    assert replay["score"]["tracks"]["ground_truth_tracks"] == 4
    assert np.isfinite(replay["score"]["classification"]["balanced_accuracy"])


@pytest.mark.slow
def test_external_player_mode_scores_what_another_player_replays(
    tmp_path, node_process, act_params, ros_graph
):
    """`--external-player` only listens (as with `ros2 bag play`); here the player is a second
    `act-ros evaluate --launch`, since ros2 bag is not installable on these machines."""
    import subprocess
    import sys

    from ros_harness import wait_until

    labels = write_text(tmp_path / "labels.csv", "start_frame,end_frame,label,track_id\n45,74,walk,2\n")
    bag = make_video_bag(tmp_path / "bag", labels, "--width", "640", "--max-frames", "75")
    node_process("act_ros.ros.pose_node", params={"model_variant": "lite", **NODE_QUIET})
    node_process("act_ros.ros.act_node", params=act_params)
    log = open(tmp_path / "listener.log", "w")
    listener = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "act_ros.ros.evaluate",
            str(bag),
            "--external-player",
            "--quiet",
            "-o",
            str(tmp_path / "listened"),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_until(
            lambda: ros_graph.node.count_subscribers("/human_actions") >= 1,
            120,
            "the listener's subscription",
        )
        wait_until(
            lambda: "listening on /human_actions" in (tmp_path / "listener.log").read_text(),
            60,
            "the listener to match the AcT node",
        )
        # The player is a process of its own too.
        played = subprocess.run(
            [
                sys.executable,
                "-m",
                "act_ros.ros.evaluate",
                str(bag),
                "--launch",
                "--quiet",
                "-o",
                str(tmp_path / "player"),
            ],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert played.returncode == 0, played.stdout + played.stderr
        player = json.loads((tmp_path / "player" / "report.json").read_text())
        assert listener.wait(120) == 0, (tmp_path / "listener.log").read_text()
    finally:
        if listener.poll() is None:
            listener.kill()
        log.close()
    listened = json.loads((tmp_path / "listened" / "report.json").read_text())
    assert listened["run"]["mode"] == "external"
    assert listened["score"]["coverage"]["frames_with_result"] == 75
    # Both saw the same /human_actions messages, so they score the same.
    assert listened["score"]["pairs"] == player["score"]["pairs"]
    assert listened["score"]["latency"]["count"] == 0  # a listener cannot know publish times
