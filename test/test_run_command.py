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


def act_ros_run(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "act_ros.cli", "run", *args], capture_output=True,
                          text=True, timeout=timeout, cwd=ROOT)


@pytest.mark.slow
def test_run_on_the_bundled_clip_prints_actions_and_writes_the_annotated_video(tmp_path):
    out = tmp_path / "annotated.mp4"
    done = act_ros_run("--source", str(CLIP), "--max-frames", "60", "--output", str(out))
    assert done.returncode == 0, done.stderr[-3000:]
    assert "classes: stand, walk, squat, wave, operate, fall_down, run" in done.stderr
    # The actions are the command's output (stdout); status and logs go to stderr.
    actions = [line for line in done.stdout.splitlines() if "] person " in line]
    assert actions, done.stdout[-3000:]  # e.g. "[  1.20 s] person 1: wave (0.65)"
    assert "act-ros run: 60 frames in" in done.stderr
    video = cv2.VideoCapture(str(out))
    assert int(video.get(cv2.CAP_PROP_FRAME_COUNT)) == 60
    assert (int(video.get(cv2.CAP_PROP_FRAME_WIDTH)), int(video.get(cv2.CAP_PROP_FRAME_HEIGHT))) == (1768, 994)
    ok, annotated = video.read()
    original = cv2.VideoCapture(str(CLIP)).read()[1]
    assert ok and annotated.shape == original.shape


def test_run_refuses_a_missing_source_and_a_missing_model(tmp_path):
    done = act_ros_run("--source", str(tmp_path / "nope.mp4"))
    assert done.returncode != 0 and "no such file or bag" in done.stderr
    done = act_ros_run("--source", str(CLIP), "--model-path", str(tmp_path / "m.tflite"),
                       "--max-frames", "1")
    assert done.returncode == 2 and "cannot start" in done.stderr and "m.tflite" in done.stderr
