"""The real ROS 2 command line in tests: `ros2 launch`, `ros2 run`, `ros2 param`, `ros2 topic`.

Every command runs in the environment the README gives for it (tools/ros2_env.sh sourced into a
minimal environment: nothing of the test process's own ROS set-up leaks in, in particular not its
Fast DDS profile), in a ROS domain of its own test, in its own process group, and is stopped
like Ctrl-C in a terminal stops it: SIGINT to the whole group. A test also checks that no
`ros2` daemon was left running on its domain (the commands here all pass --no-daemon).
"""

from __future__ import annotations

import importlib.util
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
VENV = Path(sys.prefix)
ROS2 = VENV / "bin" / "ros2"
SHARE = VENV / "share" / "act_ros"
ROS2_ENV_SCRIPT = ROOT / "tools" / "ros2_env.sh"
# What a shell keeps of the machine's environment before the README's lines are sourced.
_BASE_VARIABLES = ("HOME", "PATH", "LANG", "LC_ALL", "TMPDIR", "USER")
# The slowest step a test waits for: MediaPipe and TFLite starting in two processes at once on a
# busy 2-core machine (~5 s when quiet).
START_TIMEOUT = 90.0


def _missing_tools() -> str | None:
    if importlib.util.find_spec("launch_ros") is None or not ROS2.exists():
        return (
            "the real ros2 launch / CLI tools are not installed in this environment: "
            "`make test` (tools/setup_venv.sh --test) installs them from ../shared/ros2_launch, "
            "which this checkout has no copy of (no package registry carries them)"
        )
    if importlib.util.find_spec("composition_interfaces") is None:
        return "composition_interfaces (needed by launch_ros) is missing: re-run tools/setup_venv.sh --test"
    return None


MISSING_TOOLS = _missing_tools()
requires_ros2_cli = pytest.mark.skipif(MISSING_TOOLS is not None, reason=MISSING_TOOLS or "")


def launch_domain(offset: int) -> int:
    """The ROS domain of one launch test: the run's own domain + offset (1..8), so each launch
    test has a graph of its own and none sees the suite's in-process nodes."""
    assert 1 <= offset <= 8
    return int(os.environ["ROS_DOMAIN_ID"]) + offset


def ros2_environment(domain_id: int, log_dir: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of the README: a minimal shell environment with tools/ros2_env.sh sourced,
    plus the test's own ROS domain and log folder."""
    base = {k: os.environ[k] for k in _BASE_VARIABLES if k in os.environ}
    out = subprocess.run(
        ["bash", "-c", f'source "{ROS2_ENV_SCRIPT}" && env -0'],
        env={**base, "VENV": str(VENV)},
        capture_output=True,
        check=True,
    )
    env = dict(item.split("=", 1) for item in out.stdout.decode().split("\0") if "=" in item)
    env.pop("VENV", None)
    env.update(
        ROS_DOMAIN_ID=str(domain_id),
        ROS_LOG_DIR=str(log_dir / "ros_log"),
        PYTHONUNBUFFERED="1",
        **(extra or {}),
    )
    return env


class Ros2Process:
    """One long-running command (``ros2 launch ...``, ``ros2 run ...``, a helper script) in its
    own process group, output to a log file."""

    def __init__(self, argv: Sequence[str], env: dict[str, str], log_path: Path) -> None:
        self.argv = list(argv)
        self.log_path = log_path
        self._log = open(log_path, "w")
        self.proc = subprocess.Popen(
            self.argv, stdout=self._log, stderr=subprocess.STDOUT, env=env, cwd=ROOT, start_new_session=True
        )
        self.started = time.monotonic()
        self.returncode: int | None = None
        self.stop_seconds: float | None = None

    def output(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors="replace")

    def wait_for_output(self, pattern: str, timeout: float = START_TIMEOUT) -> re.Match:
        """Until ``pattern`` (a regex) appears in the output; fails if the process ends first."""
        deadline = time.monotonic() + timeout
        while True:
            match = re.search(pattern, self.output(), re.M)
            if match:
                return match
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"{self.argv[:4]} ended ({self.proc.returncode}) before "
                    f"printing /{pattern}/:\n{self.output()[-4000:]}"
                )
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"no /{pattern}/ within {timeout:.0f} s from {self.argv[:4]}:\n{self.output()[-4000:]}"
                )
            time.sleep(0.05)

    def interrupt(self, timeout: float = 30.0) -> int:
        """Ctrl-C: SIGINT to the process group; wait for the whole group to end. Returns the
        exit code; ``stop_seconds`` is how long the group took."""
        if self.proc.poll() is None:
            start = time.monotonic()
            os.killpg(self.proc.pid, signal.SIGINT)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                raise AssertionError(
                    f"{self.argv[:4]} did not stop within {timeout:.0f} s of SIGINT:\n{self.output()[-4000:]}"
                ) from None
            _wait_group_gone(self.proc.pid, timeout)
            self.stop_seconds = time.monotonic() - start
        self.returncode = self.proc.returncode
        self._log.close()
        return self.returncode

    def kill(self) -> None:
        """Clean-up after a failure: SIGKILL to whatever is left of the group."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()
        if not self._log.closed:
            self._log.close()


def _wait_group_gone(pgid: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        if time.monotonic() > deadline:
            os.killpg(pgid, signal.SIGKILL)
            raise AssertionError(f"processes of group {pgid} outlived their launch by {timeout:.0f} s")
        time.sleep(0.05)


class Ros2Session:
    """The commands of one test: a domain, its environment, the processes started, the check
    that no daemon was left behind. Use through the ``ros2_session`` fixture."""

    def __init__(self, domain_id: int, log_dir: Path) -> None:
        self.domain_id = domain_id
        self.log_dir = log_dir
        log_dir.mkdir(parents=True, exist_ok=True)
        self.env = ros2_environment(domain_id, log_dir)
        self.processes: list[Ros2Process] = []

    def start(self, *args: str, name: str, env: dict[str, str] | None = None) -> Ros2Process:
        """``ros2 <args>`` (or a python script when args[0] ends with .py) in the background."""
        argv = [str(VENV / "bin" / "python"), *args] if args[0].endswith(".py") else [str(ROS2), *args]
        proc = Ros2Process(argv, {**self.env, **(env or {})}, self.log_dir / f"{name}.log")
        self.processes.append(proc)
        return proc

    def launch(self, launch_file: str, *arguments: str, name: str | None = None) -> Ros2Process:
        return self.start(
            "launch", "act_ros", launch_file, *arguments, name=name or launch_file.split(".")[0]
        )

    def run(self, *args: str, timeout: float = 60.0, check: bool = True) -> subprocess.CompletedProcess:
        """A short ``ros2`` command to completion (``ros2 param get ...``)."""
        done = subprocess.run(
            [str(ROS2), *args],
            env=self.env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
            start_new_session=True,
        )
        if check and done.returncode != 0:
            raise AssertionError(
                f"ros2 {' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
            )
        return done

    def param(self, node: str, name: str) -> str:
        """``ros2 param get`` the value, as the CLI prints it ("Integer value is: 2" -> "2")."""
        out = self.run("param", "get", "--no-daemon", "--timeout", "30", node, name).stdout.strip()
        match = re.fullmatch(r"\w+ values? (?:is|are):(?: (.*))?", out, re.S)
        assert match, f"ros2 param get {node} {name}: unexpected output {out!r}"
        return match.group(1) or ""

    def params(self, node: str) -> dict:
        """Every parameter of ``node`` as ``ros2 param dump`` prints them (one command)."""
        import yaml

        out = self.run("param", "dump", "--no-daemon", "--timeout", "30", node).stdout
        ((_, section),) = yaml.safe_load(out).items()
        return section["ros__parameters"]

    def close(self) -> list[str]:
        """Stop what is still running (SIGINT, then SIGKILL) and return the daemons found left
        on this domain (killed)."""
        for proc in reversed(self.processes):
            if proc.proc.poll() is None:
                try:
                    proc.interrupt(timeout=20.0)
                except AssertionError:
                    pass
        return _kill_daemons(self.domain_id)


def _kill_daemons(domain_id: int) -> list[str]:
    """`ros2` daemons (they detach into their own session) serving ``domain_id``."""
    import psutil

    found = []
    for p in psutil.process_iter(["cmdline"]):
        cmd = p.info["cmdline"] or []
        if (
            any("ros2cli.daemon" in c for c in cmd)
            and "--ros-domain-id" in cmd
            and cmd[cmd.index("--ros-domain-id") + 1 :][:1] == [str(domain_id)]
        ):
            found.append(" ".join(cmd))
            p.kill()
    return found
