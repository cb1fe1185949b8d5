"""Running nodes as programs (``ros2 run``, ``ros2 launch``, ``python -m``): start, spin, stop.

    pose_node [--managed] [--ros-args ...]

The nodes are managed (lifecycle) nodes. By default the program configures and activates them
itself, so ``ros2 run act_ros act_node`` works on its own; with ``--managed`` (what the launch
files pass) they wait unconfigured for their transitions from ``ros2 launch`` (launch argument
``autostart``) or a lifecycle manager.

Stopping: SIGINT (Ctrl-C, ``ros2 launch`` stopping its nodes), SIGTERM (``kill``, systemd,
docker, ``timeout``) and SIGHUP (the terminal closed) all run the same clean shutdown: the
executor stops, each node goes through its shutdown transition (worker threads joined, models
released), the context ends. Further signals during it are noted, not obeyed, so a second SIGINT
(launch forwards one after the terminal's) cannot leave an estimator half closed. Exit status,
saying what happened:
    0                       stopped by SIGINT, or every node was shut down through its lifecycle
    1                       could not start (the reason is logged), or a callback failed
    killed by SIGTERM/SIGHUP  after the clean shutdown the signal is re-raised, so a shell sees
                            143 / 129 and systemd records a clean stop by that signal
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence

import rclpy
from rclpy.node import Node

from act_ros.ros.host import NodeHost

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class StopSignals:
    """SIGINT/SIGTERM/SIGHUP handlers (the main thread's): the first one asks to stop, later
    ones are logged. ``received`` is the first signal's number, None until one came."""

    def __init__(self, logger_name: str = "act_ros") -> None:
        self.received: int | None = None
        self.event = threading.Event()
        self._logger = rclpy.logging.get_logger(logger_name)
        self._previous = {s: signal.signal(s, self._on_signal) for s in STOP_SIGNALS}

    def _on_signal(self, signum: int, frame) -> None:
        name = signal.Signals(signum).name
        if self.received is None:
            self.received = signum
            self._logger.info(f"{name}: shutting down")
        else:
            self._logger.info(f"{name} during the shutdown: still shutting down")
        self.event.set()

    def wait(self, done: Callable[[], bool], poll_s: float = 0.25) -> None:
        """Until a stop signal or ``done()``."""
        while not self.event.wait(poll_s):
            if done():
                return

    def exit(self, code: int) -> int:
        """``code``, or for SIGTERM/SIGHUP the default action of that signal (the process ends
        "killed by" it, after everything was cleaned up)."""
        # Everything is cleaned up: later signals are ignored, also while Python exits (it
        # resets its own handlers to the default, which would end us "killed by SIGINT").
        for s in STOP_SIGNALS:
            signal.signal(s, signal.SIG_IGN)
        if self.received in (signal.SIGTERM, signal.SIGHUP):
            sys.stdout.flush()
            sys.stderr.flush()
            signal.signal(self.received, signal.SIG_DFL)
            os.kill(os.getpid(), self.received)
        return code


def spin_nodes(factories: Sequence[Callable[..., Node]], argv: Sequence[str] | None = None) -> int:
    """Create the nodes (self-activating unless ``--managed``) and spin them until a stop
    signal or until every node is shut down; the exit status says which (module docstring)."""
    argv = list(argv if argv is not None else sys.argv)
    managed = "--managed" in rclpy.utilities.remove_ros_args(argv)
    stop = StopSignals()
    code = 0
    with NodeHost(args=argv, signal_handlers=False) as host:
        try:
            for factory in factories:
                host.create(factory, autostart=not managed)
        except Exception as exc:  # start-up failures: say what and why, no traceback wall
            rclpy.logging.get_logger("act_ros").fatal(f"{type(exc).__name__}: {exc}")
            code = 1
        if code == 0 and stop.received is None:
            host.start()  # the executor's thread; this one waits for signals
            stop.wait(
                lambda: (
                    host.error is not None
                    or not host.context.ok()
                    or all(getattr(n, "lifecycle_state", "") == "finalized" for n in host.nodes)
                )
            )
        if host.error is not None:
            code = 1
    return stop.exit(code)
