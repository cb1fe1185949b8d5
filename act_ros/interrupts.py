"""SIGINT, SIGTERM and SIGHUP stop a long command cleanly, the same way.

Python turns SIGINT into KeyboardInterrupt but lets SIGTERM (what `timeout`, systemd and docker
send) and SIGHUP (a closed terminal) kill the process at once: a video being written then
has no index (``moov atom not found``) and no summary is printed. `GracefulStop` makes all
three raise :class:`Interrupted` (a KeyboardInterrupt, so existing handlers catch it), but only
inside :meth:`GracefulStop.interruptible` blocks: a signal that arrives while outputs are being
closed is remembered, not raised, so the closing cannot be cut short. A second signal while
stopping ends the process at once (the user insists; `docker stop` sends one).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from act_ros import exit_codes

HANDLED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Interrupted(KeyboardInterrupt):
    """Raised in the main thread by a handled signal (``signum``)."""

    def __init__(self, signum: int) -> None:
        super().__init__(exit_codes.signal_name(signum))
        self.signum = signum


class GracefulStop:
    """Install with :meth:`install` (main thread only) or use as a context manager."""

    def __init__(self, prog: str, signals: tuple[int, ...] = HANDLED) -> None:
        self.prog = prog
        self.signals = signals
        self.signum: int | None = None  # the first signal received
        self._armed = False
        self._previous: dict[int, object] = {}

    # --- installing ----------------------------------------------------------------------------
    def install(self) -> GracefulStop:
        if threading.current_thread() is not threading.main_thread():
            return self  # signals reach the main thread only; nothing to do elsewhere
        for s in self.signals:
            self._previous[s] = signal.signal(s, self._handle)
        return self

    def restore(self) -> None:
        for s, handler in self._previous.items():
            signal.signal(s, handler)
        self._previous.clear()

    def __enter__(self) -> GracefulStop:
        return self.install()

    def __exit__(self, *exc) -> None:
        self.restore()

    # --- state ---------------------------------------------------------------------------------
    @property
    def stopped(self) -> bool:
        return self.signum is not None

    @property
    def exit_code(self) -> int | None:
        """128 + the signal number once stopped by a signal, else None."""
        return None if self.signum is None else exit_codes.for_signal(self.signum)

    @property
    def name(self) -> str:
        return "" if self.signum is None else exit_codes.signal_name(self.signum)

    @contextmanager
    def interruptible(self) -> Iterator[None]:
        """Inside this block a handled signal raises :class:`Interrupted` (once)."""
        if self.signum is not None:
            raise Interrupted(self.signum)
        self._armed = True
        try:
            yield
        finally:
            self._armed = False

    @contextmanager
    def shielded(self) -> Iterator[None]:
        """Inside an interruptible block, a step that must complete (a frame written to the video
        and counted): a signal during it is raised as :class:`Interrupted` when it ends."""
        armed, self._armed = self._armed, False
        try:
            yield
        except BaseException:
            self._armed = armed
            raise
        self._armed = armed
        if armed and self.signum is not None:
            self._armed = False
            raise Interrupted(self.signum)

    def _handle(self, signum: int, frame) -> None:
        if self.signum is not None:  # a second signal: stop now
            print(
                f"{self.prog}: {exit_codes.signal_name(signum)} again while stopping: "
                f"exiting now (outputs may be incomplete)",
                file=sys.stderr,
                flush=True,
            )
            os._exit(exit_codes.for_signal(signum))
        self.signum = signum
        if self._armed:
            self._armed = False
            raise Interrupted(signum)
