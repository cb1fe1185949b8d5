"""The node programs (what `ros2 run` and `ros2 launch` start) stop cleanly on every stop
signal and say with their exit status what happened: 0 after SIGINT, 1 when they could not
start, ended by SIGTERM / SIGHUP after the same clean shutdown (a shell's 143 / 129). A second
signal during the shutdown (ros2 launch forwards one after the terminal's) changes nothing."""

from __future__ import annotations

import signal

import pytest

from ros_harness import wait_until

QUIET = {"no_input_warning": 0.0}


def started(proc) -> None:
    wait_until(lambda: "activate: now active" in proc.log() or not proc.alive(), 120, "the node to activate")
    assert proc.alive(), proc.log()[-3000:]


def ended(proc, timeout: float = 30.0) -> int:
    wait_until(lambda: not proc.alive(), timeout, "the program to end")
    return proc.proc.returncode


@pytest.mark.parametrize(
    "module, stop_signal",
    [
        ("act_ros.ros.pose_node", signal.SIGTERM),  # the worker thread and MediaPipe closed first
        ("act_ros.ros.act_node", signal.SIGHUP),
    ],
)
def test_sigterm_and_sighup_run_the_clean_shutdown_then_end_by_that_signal(node_process, module, stop_signal):
    params = {**QUIET, **({"model_variant": "lite"} if "pose" in module else {})}
    proc = node_process(module, params=params)
    started(proc)
    proc.proc.send_signal(stop_signal)
    assert ended(proc) == -stop_signal  # killed by it, as the shell reports 128 + N
    log = proc.log()
    assert f"{stop_signal.name}: shutting down" in log
    assert "shutdown: now finalized" in log and "Traceback" not in log, log[-3000:]


def test_a_second_sigint_during_the_shutdown_is_noted_and_the_exit_is_clean(node_process):
    proc = node_process("act_ros.ros.act_node", params=QUIET)
    started(proc)
    proc.proc.send_signal(signal.SIGINT)
    proc.proc.send_signal(signal.SIGINT)
    assert ended(proc) == 0
    log = proc.log()
    assert "SIGINT: shutting down" in log and "shutdown: now finalized" in log
    assert "Traceback" not in log and "KeyboardInterrupt" not in log, log[-3000:]


def test_a_node_that_cannot_start_says_why_and_exits_1(node_process, tmp_path):
    missing = tmp_path / "no_such_model.tflite"
    proc = node_process("act_ros.ros.act_node", params={**QUIET, "model_path": str(missing)})
    assert ended(proc, 120) == 1
    assert str(missing) in proc.log()


def test_managed_programs_wait_unconfigured(node_process, ros_graph):
    """--managed: up (diagnostics say so) but unconfigured: no model loaded, nothing subscribed,
    until a lifecycle transition (the launch tests drive them from another process)."""
    from diagnostic_msgs.msg import DiagnosticArray

    diagnostics = ros_graph.collect(DiagnosticArray, "/diagnostics", 50)
    proc = node_process("act_ros.ros.act_node", args=["--managed"], params=QUIET)

    def act_states() -> list[str]:
        return [
            v.value
            for m in diagnostics.messages
            for st in m.status
            if st.name == "act_node"
            for v in st.values
            if v.key == "lifecycle_state"
        ]

    wait_until(lambda: bool(act_states()) or not proc.alive(), 60, "the act_node's diagnostics")
    assert act_states()[0] == "unconfigured"
    assert ros_graph.node.count_subscribers("/human_poses") == 0
    proc.proc.send_signal(signal.SIGINT)
    assert ended(proc) == 0
    assert "AcT model" not in proc.log() and "now active" not in proc.log(), proc.log()
