"""Running nodes as programs (``ros2 run``, ``python -m``): init, spin, clean shutdown."""
from __future__ import annotations

import signal
import sys
from collections.abc import Callable, Sequence

import rclpy
from rclpy.node import Node

from act_ros.ros.host import NodeHost


def spin_nodes(factories: Sequence[Callable[..., Node]], argv: Sequence[str] | None = None) -> int:
    """Create the nodes and spin them on one NodeHost until Ctrl-C / SIGTERM / shutdown.

    A node that cannot start (missing model, bad parameter) logs why and the program exits 1.
    """
    with NodeHost(args=list(argv) if argv is not None else sys.argv, signal_handlers=True) as host:
        try:
            for factory in factories:
                host.create(factory)
        except KeyboardInterrupt:  # Ctrl-C while a model loads
            return 0
        except Exception as exc:  # start-up failures: say what and why, no traceback wall
            rclpy.logging.get_logger("act_ros").fatal(f"{type(exc).__name__}: {exc}")
            return 1
        host.spin()
        # Finish the shutdown whatever else arrives: `ros2 launch` forwards SIGINT to its
        # nodes, which a Ctrl-C in the terminal (or a group stop) already sent them, and a second
        # KeyboardInterrupt inside close() would leave the estimator half closed.
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, signal.SIG_IGN)
    return 0
