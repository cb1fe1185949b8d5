"""/diagnostics for the nodes (diagnostic_updater is not available as a wheel, and publishing a
DiagnosticArray directly is all it would do here)."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Mapping

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rclpy.node import Node

OK, WARN, ERROR = DiagnosticStatus.OK, DiagnosticStatus.WARN, DiagnosticStatus.ERROR


class RateMeter:
    """Events per second over a sliding wall-clock window (thread-safe)."""

    def __init__(self, window_s: float = 5.0) -> None:
        self.window_s = window_s
        self._times: deque[float] = deque()
        self._lock = threading.Lock()

    def tick(self, now: float | None = None) -> None:
        with self._lock:
            self._times.append(time.monotonic() if now is None else now)

    def rate(self, now: float | None = None) -> float:
        now = time.monotonic() if now is None else now
        with self._lock:
            while self._times and now - self._times[0] > self.window_s:
                self._times.popleft()
            if len(self._times) < 2:
                return 0.0
            span = max(now - self._times[0], 1e-6)
            return len(self._times) / span


class DurationStats:
    """Mean and max of processing durations since the last report (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sum = 0.0
        self._max = 0.0
        self._n = 0

    def add(self, seconds: float) -> None:
        with self._lock:
            self._sum += seconds
            self._max = max(self._max, seconds)
            self._n += 1

    def take(self) -> tuple[float, float, int]:
        """(mean_ms, max_ms, count) since the previous call."""
        with self._lock:
            mean = self._sum / self._n * 1e3 if self._n else 0.0
            out = (mean, self._max * 1e3, self._n)
            self._sum, self._max, self._n = 0.0, 0.0, 0
            return out


class LastError:
    """The most recent error of a node with when it happened, for /diagnostics: ``last_error``
    (the text, '' once it is older than ``forget_s``) and ``last_error_age_s`` (seconds since,
    -1 = none yet), so a problem that is over does not look current (thread-safe)."""

    def __init__(self, forget_s: float = 300.0) -> None:
        self.forget_s = forget_s
        self._text = ""
        self._at: float | None = None
        self._lock = threading.Lock()

    def set(self, text: str, now: float | None = None) -> None:
        with self._lock:
            self._text, self._at = text, time.monotonic() if now is None else now

    def age_s(self, now: float | None = None) -> float | None:
        with self._lock:
            return None if self._at is None else (time.monotonic() if now is None else now) - self._at

    def values(self, now: float | None = None) -> dict[str, object]:
        age = self.age_s(now)
        with self._lock:
            text = self._text if age is not None and age <= self.forget_s else ""
        return {"last_error": text, "last_error_age_s": -1.0 if age is None else round(age, 1)}


StatusFn = Callable[[], tuple[int, str, Mapping[str, object]]]


class DiagnosticsPublisher:
    """Publishes one DiagnosticStatus for ``node`` on /diagnostics every ``period_s``.

    ``status_fn`` returns (level, message, values); values are stringified.
    """

    def __init__(self, node: Node, status_fn: StatusFn, period_s: float = 1.0, hardware_id: str = "") -> None:
        self._node = node
        self._status_fn = status_fn
        self._name = f"{node.get_fully_qualified_name().lstrip('/')}"
        self._hardware_id = hardware_id
        self._pub = node.create_publisher(DiagnosticArray, "/diagnostics", 10)
        self._timer = node.create_timer(period_s, self.publish)

    def publish(self) -> None:
        level, message, values = self._status_fn()
        status = DiagnosticStatus()
        status.level = bytes([level]) if isinstance(level, int) else level
        status.name = self._name
        status.message = message
        status.hardware_id = self._hardware_id
        status.values = [KeyValue(key=str(k), value=_fmt(v)) for k, v in values.items()]
        msg = DiagnosticArray()
        msg.header.stamp = self._node.get_clock().now().to_msg()
        msg.status = [status]
        self._pub.publish(msg)


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)
