"""`act-ros run` (the README's first command, on fewer frames): both nodes on real ROS 2 in one
process, per-person actions printed as they change, the annotated video written."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import pytest

ROOT = Path(__file__).resolve().parents[1]
CLIP = ROOT / "act_ros" / "data" / "sports2d_demo.mp4"
pytestmark = pytest.mark.ros  # `act-ros run` starts both nodes (test/needs.py cannot see that)


def act_ros_run(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "act_ros.cli", "run", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
    )


@pytest.mark.slow
def test_run_on_the_bundled_clip_prints_actions_and_writes_the_annotated_video(tmp_path):
    out = tmp_path / "annotated.mp4"
    done = act_ros_run("--source", str(CLIP), "--max-frames", "60", "--output", str(out))
    assert done.returncode == 0, done.stderr[-3000:]
    assert "classes: stand, walk, run, jump, squat, kick, pick_up, reach_up, lie_down, wave" in done.stderr
    # The actions are the command's output (stdout); status and logs go to stderr.
    actions = [line for line in done.stdout.splitlines() if "] person " in line]
    assert actions, done.stdout[-3000:]  # e.g. "[  1.20 s] person 1: wave (0.65)"
    assert "act-ros run: 60 frames in" in done.stderr
    video = cv2.VideoCapture(str(out))
    assert int(video.get(cv2.CAP_PROP_FRAME_COUNT)) == 60
    assert (int(video.get(cv2.CAP_PROP_FRAME_WIDTH)), int(video.get(cv2.CAP_PROP_FRAME_HEIGHT))) == (
        1768,
        994,
    )
    ok, annotated = video.read()
    original = cv2.VideoCapture(str(CLIP)).read()[1]
    assert ok and annotated.shape == original.shape


def test_run_refuses_a_missing_source_and_a_missing_model(tmp_path):
    done = act_ros_run("--source", str(tmp_path / "nope.mp4"))
    assert done.returncode != 0 and "no such file or bag" in done.stderr
    done = act_ros_run("--source", str(CLIP), "--model-path", str(tmp_path / "m.tflite"), "--max-frames", "1")
    assert done.returncode == 2 and "cannot start" in done.stderr and "m.tflite" in done.stderr


def test_help_names_the_shipped_sizes_and_every_setting():
    """Issue 11, item 11."""
    done = act_ros_run("--help")
    assert done.returncode == 0
    text = " ".join(done.stdout.split())
    # The 10-class models ship as micro (the default) and small.
    assert "shipped are micro, small; medium, large are not shipped" in text
    for flag in (
        "--unknown-threshold",
        "--smoothing",
        "--debug-image",
        "--pose-param",
        "--act-param",
        "--join-graph",
        "--video-codec",
    ):
        assert flag in text, flag
    assert "model variant of the backend, fastest to most accurate" in text  # --pose-variant
    assert "exit codes: 0 done" in text and "143" in text


@pytest.mark.slow
def test_flags_reach_the_nodes_and_bad_values_are_refused(tmp_path):
    import cli_runs

    clip = cli_runs.small_clip(tmp_path / "clip.mp4", 45)
    done = act_ros_run(
        "--source",
        str(clip),
        "--unknown-threshold",
        "1.0",
        "--smoothing",
        "0.5",
        "--debug-image",
        "--act-param",
        "min_frames=5",
    )
    assert done.returncode == 0, done.stderr[-3000:]
    labels = {line.split(": ")[1].split(" ")[0] for line in done.stdout.splitlines() if "] person " in line}
    assert labels == {"unknown"}, done.stdout  # nothing is ever 100 % sure
    refused = act_ros_run("--source", str(clip), "--unknown-threshold", "2")
    assert refused.returncode == 2
    assert "AcT node: parameter 'unknown_threshold' must be in -1.0 .. 1.0; got 2.0" in refused.stderr
    refused = act_ros_run("--source", str(clip), "--pose-param", "model_varient=lite")
    assert refused.returncode == 2 and "unknown parameter(s) ['model_varient']" in refused.stderr


@pytest.mark.slow
def test_a_video_too_small_for_the_pose_model_says_so(tmp_path):
    """A 64x64 video ran "fine" with 0 people and no word (issue 11, item 7)."""
    import cli_runs

    clip = cli_runs.small_clip(tmp_path / "tiny.mp4", 20, width=64)
    done = act_ros_run("--source", str(clip), "--quiet")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "0 people with actions" in done.stderr and "'small_images': 20" in done.stderr
    assert "act-ros run: WARNING: images reach the pose model at 64x36" in done.stderr
