"""A ROS 2 domain of its own for one run on this machine (`act-ros run`, `act-ros evaluate BAG`).

Two runs on the default domain meet: each pose node receives the other's images, results come
back that this run never caused, and a robot's camera publishing ``/image_raw`` on domain 0 is
mixed into a video file's frames. A run over a file or bag therefore takes a private domain by
default: DDS participants of different domains never discover each other (different ports),
whatever their topic names.

Chosen so that concurrent runs cannot collide, across processes and users:

* from 215..232, the ids above the 0..101 everyone uses (tests, robots, ROS_DOMAIN_ID
  defaults) whose UDP ports (7400 + 250 * id + ...) still lie above Linux's ephemeral range
  (32768..60999), so no client socket can hold them by chance;
* reserved with an exclusive `flock` on a lock file per id in the system temporary folder,
  held for the life of the process (the kernel drops it when the process ends, however it ends:
  no stale locks);
* skipped when a DDS participant of any program already uses it (its discovery or unicast port
  is bound: the port probe sees programs that take no lock).

The domain is given to the run's rclpy context (``NodeHost(domain_id=...)``), not written to
ROS_DOMAIN_ID.
"""

from __future__ import annotations

import errno
import fcntl
import os
import socket
import tempfile
from dataclasses import dataclass
from pathlib import Path

PRIVATE_DOMAINS = range(215, 233)

# The RTPS well-known ports (Fast DDS, Cyclone DDS, Connext use the same formula).
_PORT_BASE, _DOMAIN_GAIN, _PARTICIPANT_GAIN = 7400, 250, 2
_PROBED_PARTICIPANTS = 24  # participants per domain whose unicast ports are probed


class NoPrivateDomain(RuntimeError):
    """Every private domain is taken (by other runs, or other programs)."""


def lock_dir() -> Path:
    """One folder for every user of the machine (DDS domains are machine-wide)."""
    path = Path(tempfile.gettempdir()) / "act_ros_domains"
    try:
        path.mkdir(mode=0o1777, exist_ok=True)
        if path.stat().st_uid == os.getuid():
            path.chmod(0o1777)  # sticky and writable by all, like /tmp (umask may narrow mkdir)
    except OSError:
        pass
    return path


def domain_ports(domain: int) -> list[int]:
    """The UDP ports a DDS participant of ``domain`` binds: discovery and user multicast, then
    the metatraffic and user unicast ports of the first participants."""
    base = _PORT_BASE + _DOMAIN_GAIN * domain
    ports = [base, base + 1]
    for participant in range(_PROBED_PARTICIPANTS):
        ports += [base + 10 + _PARTICIPANT_GAIN * participant, base + 11 + _PARTICIPANT_GAIN * participant]
    return ports


def domain_in_use(domain: int) -> bool:
    """True when some process holds one of the domain's DDS ports on this machine."""
    for port in domain_ports(domain):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.bind(("0.0.0.0", port))  # no SO_REUSEADDR: any other binder makes this fail
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                return True
            raise
        finally:
            sock.close()
    return False


@dataclass
class DomainLease:
    """A reserved domain; the reservation lasts until :meth:`release` or the process ends."""

    domain: int
    lock_path: Path
    _fd: int | None

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the flock
            self._fd = None


def _try_lock(path: Path) -> int | None:
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    except PermissionError:  # another user's lock file: a read-only descriptor can flock too
        fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


def reserve(domains: range = PRIVATE_DOMAINS, folder: Path | None = None) -> DomainLease:
    """Lock the first free domain of ``domains`` (starting at a per-process offset, so that runs
    starting together rarely try the same one first)."""
    folder = folder or lock_dir()
    ids = list(domains)
    start = os.getpid() % len(ids)
    for domain in ids[start:] + ids[:start]:
        path = folder / f"domain_{domain}.lock"
        fd = _try_lock(path)
        if fd is None:
            continue  # another act-ros run holds it
        if domain_in_use(domain):
            os.close(fd)  # a program that takes no lock uses it
            continue
        return DomainLease(domain, path, fd)
    raise NoPrivateDomain(
        f"every private ROS domain ({domains.start}..{domains.stop - 1}) is in use by other runs "
        f"or programs on this machine; wait for one to finish, or join the ROS graph of "
        f"ROS_DOMAIN_ID on purpose (--join-graph)"
    )


_LEASES: list[DomainLease] = []  # kept for the life of the process


def private_domain() -> int:
    """Reserve a private domain for the rest of this process and return it; pass it to the rclpy
    context (``rclpy.init(domain_id=...)``: the environment is left as it is, so a caller in the
    same process, e.g. a test, keeps its own ROS_DOMAIN_ID)."""
    lease = reserve()
    _LEASES.append(lease)
    return lease.domain
