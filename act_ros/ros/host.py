"""Nodes hosted in this process, and waiting for a frame's result by its stamp.

`NodeHost` is the one way this project runs nodes in-process: ``ros2 run`` (`spin.spin_nodes`),
``act-ros run``, the replay of ``act-ros evaluate``, the benchmarks and the tests' harness. It owns
an rclpy context (or borrows one), one executor and the nodes added to it, and tears them down
in order: executor stopped, spinning thread joined, nodes closed (worker threads, estimators)
and destroyed newest first, its own context shut down. As a context manager it does so however
the block ends.

The executor is single-threaded on purpose: every callback here is short (the pose node's
estimator runs in its own worker thread), and rclpy's MultiThreadedExecutor delayed image
delivery to a median of 170 ms (p90 1.3 s) where this one took 3.4 ms (benchmarks/
bench_pose_node.py --compare-executors).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import rclpy
from rclpy.context import Context
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.signals import SignalHandlerOptions

from act_ros.messages import header_stamp_ns

# The executor of every program here (see the module docstring for why single-threaded).
EXECUTOR = SingleThreadedExecutor


def wait_until(predicate: Callable[[], bool], timeout: float, poll: float = 0.01) -> bool:
    """Poll ``predicate`` (a ROS graph query, say) until it holds; False after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(poll)
    return True


class NodeHost:
    """One rclpy context, one SingleThreadedExecutor, the nodes on it, ordered teardown.

    context: borrow an initialised context (not shut down here); default: a new one, initialised
    with ``args`` (``--ros-args ...`` are honoured) and shut down by :meth:`close`;
    ``signal_handlers`` installs rclpy's SIGINT/SIGTERM handlers (programs, not libraries);
    ``domain_id``: the new context's ROS domain (default: ROS_DOMAIN_ID);
    ``executor_class`` only for the benchmarks' executor comparison.
    Spin it with :meth:`start` (a background thread), :meth:`spin` (this thread, until Ctrl-C or
    shutdown) or :meth:`spin_until` (this thread, until a condition: nothing else competes for
    the GIL while a benchmark times something).
    """

    def __init__(
        self,
        *,
        context: Context | None = None,
        args: Sequence[str] | None = None,
        signal_handlers: bool = False,
        executor_class: type = EXECUTOR,
        domain_id: int | None = None,
    ) -> None:
        self._own_context = context is None
        if context is None:
            context = Context()
            # A program (ros2 run) lets rclpy handle SIGINT/SIGTERM: a clean teardown on both.
            rclpy.init(
                args=list(args) if args is not None else None,
                context=context,
                domain_id=domain_id,
                signal_handler_options=SignalHandlerOptions.ALL
                if signal_handlers
                else SignalHandlerOptions.NO,
            )
        self.context = context
        self.executor = executor_class(context=context)
        self.nodes: list[Node] = []
        self.error: BaseException | None = None  # what ended a background spin early, if anything
        self._thread: threading.Thread | None = None
        self._closed = False

    # --- nodes ------------------------------------------------------------------------------------
    def add(self, node: Node) -> Node:
        """Spin ``node`` here and tear it down with the host."""
        self.nodes.append(node)
        self.executor.add_node(node)
        return node

    def create(
        self, factory: Callable[..., Node], parameters: Mapping[str, Any] | None = None, **kwargs: Any
    ) -> Node:
        """``factory(context=..., parameter_overrides=[...], **kwargs)``, added to the host."""
        overrides = [Parameter(k, value=v) for k, v in (parameters or {}).items()]
        overrides += kwargs.pop("parameter_overrides", [])
        if overrides:
            kwargs["parameter_overrides"] = overrides
        return self.add(factory(context=self.context, **kwargs))

    def node(self, name: str, namespace: str | None = None) -> Node:
        """A plain node of the host's own (publishers and subscriptions of a program or test)."""
        return self.add(Node(name, context=self.context, namespace=namespace or None))

    # --- spinning ---------------------------------------------------------------------------------
    def start(self) -> NodeHost:
        """Spin in a background thread until :meth:`close`."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._spin_background, name="act_ros_host", daemon=True)
            self._thread.start()
        return self

    def _spin_background(self) -> None:
        try:
            self.executor.spin()
        except ExternalShutdownException:
            pass
        except Exception as exc:  # a callback raised: keep it for the owner, end the spin
            if not self._closed:
                self.error = exc
                rclpy.logging.get_logger("act_ros.host").error(
                    f"executor stopped: {type(exc).__name__}: {exc}"
                )

    def spin(self) -> None:
        """Spin in this thread until Ctrl-C or the context shuts down."""
        try:
            self.executor.spin()
        except (KeyboardInterrupt, ExternalShutdownException):
            pass

    def spin_until(
        self, predicate: Callable[[], bool], timeout: float, check: Callable[[], None] | None = None
    ) -> bool:
        """Spin in this thread until ``predicate()``; False after ``timeout`` s. ``check`` runs
        between spins (e.g. raise when a child process died)."""
        deadline = time.monotonic() + timeout
        while not predicate():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            if check is not None:
                check()
            self.executor.spin_once(timeout_sec=min(remaining, 0.05))
        return True

    # --- teardown ---------------------------------------------------------------------------------
    def close(self) -> None:
        """Stop spinning, close and destroy the nodes newest first, shut an own context down.
        Every node is torn down even if one fails; the first failure is raised at the end."""
        if self._closed:
            return
        self._closed = True
        errors: list[BaseException] = []
        try:
            self.executor.shutdown(timeout_sec=5.0)
        except Exception as exc:  # a context shut down by Ctrl-C already
            errors.append(exc)
        if self._thread is not None:
            self._thread.join(timeout=10.0)
        for node in reversed(self.nodes):
            try:
                close = getattr(node, "close", None)  # nodes with worker threads stop them first
                if callable(close):
                    close()
                node.destroy_node()
            except Exception as exc:
                errors.append(exc)
        self.nodes.clear()
        if self._own_context:
            self.context.try_shutdown()
        if errors and not isinstance(
            errors[0], (ExternalShutdownException, rclpy.executors.ShutdownException)
        ):
            raise errors[0]

    def __enter__(self) -> NodeHost:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc is None:
            self.close()
            return
        try:  # the block's own exception is the one to see
            self.close()
        except Exception:
            pass


class StampedMessages:
    """The messages of one subscription keyed by header stamp (ns), with arrival times: publish
    a frame, then wait for *its* result. Use it as the subscription callback. Thread-safe.

    clock: the arrival clock (perf_counter: durations; time.time_ns: against stamps);
    stamp_of: the key of a message (default: its header stamp);
    keep: what to keep of a message (default: the message; a long replay keeps less);
    accept: which stamps are ours (default: all); others are counted in ``foreign``, not kept,
    and further messages for a stamp already kept in ``repeats``.
    """

    def __init__(
        self,
        clock: Callable[[], float] = time.perf_counter,
        stamp_of: Callable[[Any], int] = header_stamp_ns,
        keep: Callable[[Any], Any] | None = None,
        accept: Callable[[int], bool] | None = None,
    ) -> None:
        self._clock = clock
        self._stamp_of = stamp_of
        self._keep = keep
        self._accept = accept
        self.foreign = 0  # messages for stamps ``accept`` refused
        self.repeats = 0  # messages for a stamp already kept
        self._cond = threading.Condition()  # reentrant: predicates may use the methods below
        self._messages: dict[int, Any] = {}
        self._arrivals: dict[int, float] = {}

    def __call__(self, msg: Any) -> None:
        now = self._clock()
        stamp = self._stamp_of(msg)
        if self._accept is not None and not self._accept(stamp):
            with self._cond:
                self.foreign += 1
            return
        kept = msg if self._keep is None else self._keep(msg)
        with self._cond:
            if stamp not in self._messages:  # the first answer counts
                self._messages[stamp] = kept
                self._arrivals[stamp] = now
            else:
                self.repeats += 1
            self._cond.notify_all()

    def __contains__(self, stamp: int) -> bool:
        with self._cond:
            return stamp in self._messages

    def __len__(self) -> int:
        with self._cond:
            return len(self._messages)

    def get(self, stamp: int) -> Any | None:
        with self._cond:
            return self._messages.get(stamp)

    def arrival(self, stamp: int) -> float | None:
        """When the message of ``stamp`` arrived (the clock given at construction)."""
        with self._cond:
            return self._arrivals.get(stamp)

    def stamps(self) -> list[int]:
        with self._cond:
            return list(self._messages)

    def wait_for(self, predicate: Callable[[], bool], timeout: float) -> bool:
        """Until ``predicate()`` holds, re-checked at every arrival; False after ``timeout``."""
        with self._cond:
            return self._cond.wait_for(predicate, timeout)

    def wait(self, stamp: int, timeout: float) -> Any | None:
        """The message of ``stamp`` once it arrived (the executor spins elsewhere); None after
        ``timeout`` s."""
        with self._cond:
            self._cond.wait_for(lambda: stamp in self._messages, timeout)
            return self._messages.get(stamp)

    def pop(self, stamp: int) -> Any | None:
        """Remove and return the message of ``stamp`` (None if it never came)."""
        with self._cond:
            self._arrivals.pop(stamp, None)
            return self._messages.pop(stamp, None)
