"""Running nodes as programs (``ros2 run``, ``python -m``): init, spin, clean shutdown."""
from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

import rclpy
from rclpy.executors import ExternalShutdownException, MultiThreadedExecutor
from rclpy.node import Node


def spin_nodes(factories: Sequence[Callable[..., Node]], argv: Sequence[str] | None = None) -> int:
    """Create the nodes and spin them in one multi-threaded executor until Ctrl-C / shutdown.

    A node that cannot start (missing model, bad parameter) logs why and the program exits 1.
    """
    rclpy.init(args=list(argv) if argv is not None else sys.argv)
    nodes: list[Node] = []
    code = 0
    try:
        for factory in factories:
            nodes.append(factory())
        executor = MultiThreadedExecutor()
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
