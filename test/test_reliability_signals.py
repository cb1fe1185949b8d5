"""SIGTERM and SIGHUP stop `act-ros run` and `act-ros evaluate` like SIGINT (issue 11, item 2):
summary printed, the partial video playable, the report written, and an exit code that says so
(128 + the signal, never 0)."""

from __future__ import annotations

import json
import os
import signal

import cv2
import pytest

import cli_runs
from act_ros import exit_codes
from act_ros.interrupts import GracefulStop, Interrupted


def test_signals_raise_only_where_interruptible():
    with GracefulStop("test") as stop:
        with pytest.raises(Interrupted) as caught:
            with stop.interruptible():
                os.kill(os.getpid(), signal.SIGTERM)
                for _ in range(10_000_000):  # the handler runs between two bytecodes
                    pass
        assert caught.value.signum == signal.SIGTERM and stop.exit_code == 143
    with GracefulStop("test") as stop:  # outside the block: remembered, not raised
        os.kill(os.getpid(), signal.SIGHUP)
        for _ in range(1000):
            pass
        assert stop.name == "SIGHUP" and stop.exit_code == 129
        with pytest.raises(Interrupted):
            with stop.interruptible():  # a later interruptible block ends at once
                pass
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # restored


def test_a_shielded_step_completes_before_the_signal_is_raised():
    """A frame being written when the signal comes is written whole (a SIGHUP once left a
    frame counted but not in the video), then the run stops."""
    steps = []
    with GracefulStop("test") as stop:
        with pytest.raises(Interrupted):
            with stop.interruptible():
                with stop.shielded():
                    os.kill(os.getpid(), signal.SIGTERM)
                    for _ in range(1_000_000):
                        pass
                    steps.append("written")
                steps.append("never")
    assert steps == ["written"] and stop.exit_code == 143


@pytest.fixture(scope="module")
def long_clip(tmp_path_factory):
    return cli_runs.small_clip(tmp_path_factory.mktemp("clip") / "clip.mp4", 230)


def _frames_in(path) -> int:
    video = cv2.VideoCapture(str(path))
    n = 0
    while video.read()[0]:
        n += 1
    return n


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_run_stops_cleanly_on_sigterm_and_sighup(long_clip, tmp_path, signum):
    out = tmp_path / "partial.mp4"
    proc = cli_runs.start("run", "--source", str(long_clip), "--output", str(out))
    stdout, stderr = cli_runs.LineWatcher(proc.stdout), cli_runs.LineWatcher(proc.stderr)
    stdout.wait_for(r"\] person \d+: ", timeout=300)  # frames are flowing (after 1 s of video)
    proc.send_signal(signum)
    code = proc.wait(timeout=120)
    err = stderr.text()
    assert code == exit_codes.for_signal(signum), err[-3000:]
    name = signal.Signals(signum).name
    frames = int(cli_runs.re.search(rf"stopped by {name} after (\d+) frames", err).group(1))
    assert 30 <= frames < 230, err[-2000:]
    assert f"act-ros run: {frames} frames in" in err  # the summary
    # The partial video is complete and plays: every frame done, readable back.
    assert f"annotated video written to {out}" in err
    assert _frames_in(out) == frames


@pytest.mark.slow
def test_evaluate_writes_its_report_when_terminated(long_clip, tmp_path):
    from act_ros.bag.make_bag import main as make_bag

    labels = tmp_path / "labels.csv"
    labels.write_text("start,end,label\n0.0,8.0,walk\n")
    bag = tmp_path / "bag"
    assert (
        make_bag(
            [str(long_clip), "--labels", str(labels), "-o", str(bag), "--quiet", "--start-time", "1700000000"]
        )
        == 0
    )
    proc = cli_runs.start("evaluate", str(bag), "-o", str(tmp_path / "eval"))
    stderr = cli_runs.LineWatcher(proc.stderr)
    stderr.wait_for(r"replay: .*\b([3-9]\d|1\d\d)/230\b", timeout=300)  # 30+ frames replayed
    proc.send_signal(signal.SIGTERM)
    code = proc.wait(timeout=120)
    err = stderr.text()
    assert code == 143, err[-3000:]
    assert "stopped by SIGTERM: the report covers the frames replayed so far" in err
    report = json.loads((tmp_path / "eval" / "report.json").read_text())
    assert report["run"]["interrupted"] is True
    assert 30 <= report["score"]["coverage"]["frames_with_result"] < 230
    assert "**interrupted**" in (tmp_path / "eval" / "report.md").read_text()
