"""Running nodes as programs (``ros2 run``, ``python -m``): init, spin, clean shutdown."""
from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

import rclpy
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.node import Node


def spin_nodes(factories: Sequence[Callable[..., Node]], argv: Sequence[str] | None = None) -> int:
    """Create the nodes and spin them in one executor until Ctrl-C / shutdown.

    A node that cannot start (missing model, bad parameter) logs why and the program exits 1.
    """
    rclpy.init(args=list(argv) if argv is not None else sys.argv)
    nodes: list[Node] = []
    code = 0
    try:
        for factory in factories:
            nodes.append(factory())
        # Single-threaded on purpose: every callback here is short (the pose node's estimator runs
        # in its own worker thread), and rclpy's MultiThreadedExecutor delayed image delivery to
        # a median of 170 ms (p90 1.3 s) where this one took 3.4 ms (benchmarks/bench_nodes.py).
        executor = SingleThreadedExecutor()
        for node in nodes:
            executor.add_node(node)
        executor.spin()
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except Exception as exc:  # start-up failures: say what and why, no traceback wall
        rclpy.logging.get_logger("act_ros").fatal(f"{type(exc).__name__}: {exc}")
        code = 1
    finally:
        for node in nodes:
            close = getattr(node, "close", None)
            if close:
                close()
            node.destroy_node()
        rclpy.try_shutdown()
    return code
