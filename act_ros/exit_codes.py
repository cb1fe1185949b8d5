"""Exit codes of `act-ros run` and `act-ros evaluate` (BAG): what happened, for scripts,
`timeout`, systemd and CI. The README's reliability section lists the same table."""

from __future__ import annotations

import signal

OK = 0  # every frame processed (or --max-frames reached), outputs written
ERROR = 1  # an unexpected failure (a traceback says where)
BAD_INPUT = 2  # command line, parameters, model, source, bag or labels refused; nothing ran
INCOMPLETE = 3  # stopped early: the nodes never connected, or a frame got no result in time
FOREIGN_TRAFFIC = 4  # finished, but images or results arrived that the input did not cause
#                        (another program on the same ROS graph): outputs are not trustworthy
SIGNAL_BASE = 128  # 128 + N: stopped cleanly by signal N (summary printed, outputs closed):
#                        129 SIGHUP, 130 SIGINT (Ctrl-C), 143 SIGTERM (timeout, systemd, docker)

TABLE: tuple[tuple[str, str], ...] = (
    (str(OK), "done: every frame processed (or `--max-frames` reached), outputs written"),
    (str(ERROR), "unexpected failure (with a traceback)"),
    (str(BAD_INPUT), "refused: command line, parameter, model, source, bag or labels; nothing ran"),
    (
        str(INCOMPLETE),
        "stopped early: nodes never connected or a frame got no result in time; outputs cover what was done",
    ),
    (
        str(FOREIGN_TRAFFIC),
        "finished, but images or results arrived that the input did not "
        "cause (another program on the ROS graph): outputs not trustworthy",
    ),
    (
        "129 / 130 / 143",
        "stopped by SIGHUP / SIGINT (Ctrl-C) / SIGTERM: summary printed, video "
        "and report complete for the frames done",
    ),
)


def for_signal(signum: int) -> int:
    """128 + the signal number, the shell's convention for 'ended by this signal'."""
    return SIGNAL_BASE + int(signum)


def signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"
