"""Real multi-person footage from the package registries, fetched into a cache on first use.

Used by the tests and the pose benchmarks (never by the nodes). Nothing here is committed:

* Debian's ``opencv-doc`` package (OpenCV's sample data; the Debian copyright file lists the
  package as Apache-2.0 AND BSD-3-Clause but names no separate rights for these samples, so
  they are treated as unclear and only fetched): ``vtest.avi`` (768x576, 10 fps, 795 frames,
  street seen from a first floor, 1-12 pedestrians, many from behind), ``basketball1.png`` /
  ``basketball2.png`` (640x480, two players) and ``messi5.jpg`` (548x342, one player).
  ``apt-get download opencv-doc`` (no root needed), then only these files are extracted.
* PyPI's ``pose2sim`` 0.10.49 (BSD-3-Clause, (c) 2022 perfanalytics, the authors of the bundled
  Sports2D clip): ``Demo_MultiPerson/videos/cam01..04.mp4``, four views (1088x1920 portrait,
  60 fps, 100 frames) of a lab with two or three people. ``pip download --no-deps``; the wheel's
  sha256 is pinned.

Files go to ``$ACT_ROS_TEST_FOOTAGE_DIR`` or ``~/.cache/act_ros/test-footage``.
:class:`FootageUnavailable` means the machine has no apt (or pip) at all; a failing download is
a ``RuntimeError``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

from act_ros.cache import user_cache_dir

OPENCV_DOC_DIR = "./usr/share/doc/opencv-doc/examples/data/"
OPENCV_DOC_FILES = ("vtest.avi", "basketball1.png", "basketball2.png", "messi5.jpg")

POSE2SIM_WHEEL = "pose2sim-0.10.49-py3-none-any.whl"
POSE2SIM_SHA256 = "403e0dc4065898ba6a595e72a8970950310979253d60e24c2e00b16b36bf21e1"
POSE2SIM_VIDEOS = tuple(f"Pose2Sim/Demo_MultiPerson/videos/cam0{i}.mp4" for i in range(1, 5))
POSE2SIM_LICENSE = "pose2sim-0.10.49.dist-info/licenses/LICENSE"


class FootageUnavailable(RuntimeError):
    """The tool that fetches this footage (apt-get, pip) does not exist on this machine."""


def footage_cache_dir() -> Path:
    return user_cache_dir("test-footage", "ACT_ROS_TEST_FOOTAGE_DIR")


# --- opencv-doc ---------------------------------------------------------------------------------
def opencv_doc_file(name: str) -> Path:
    """Path of one of ``OPENCV_DOC_FILES``, fetched into the cache on first use."""
    if name not in OPENCV_DOC_FILES:
        raise ValueError(f"{name!r} is not one of {OPENCV_DOC_FILES}")
    cache = footage_cache_dir()
    if not (cache / name).is_file():
        _fetch_opencv_doc(cache)
    return cache / name


def _apt_download(apt_get: str, folder: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [apt_get, "download", "-q", "opencv-doc"], cwd=folder, capture_output=True, text=True, timeout=600
    )


def _fetch_opencv_doc(cache: Path) -> None:
    apt_get, dpkg_deb = shutil.which("apt-get"), shutil.which("dpkg-deb")
    if not apt_get or not dpkg_deb:
        raise FootageUnavailable("opencv-doc footage needs apt-get and dpkg-deb (Debian/Ubuntu)")
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache) as tmp:
        done = _apt_download(apt_get, tmp)
        if done.returncode != 0 and hasattr(os, "geteuid") and os.geteuid() == 0:
            # A fresh machine may have no package lists yet ("Unable to locate package").
            subprocess.run([apt_get, "update", "-qq"], capture_output=True, text=True, timeout=600)
            done = _apt_download(apt_get, tmp)
        debs = sorted(Path(tmp).glob("opencv-doc_*.deb"))
        if done.returncode != 0 or not debs:
            raise RuntimeError(
                f"`apt-get download opencv-doc` failed ({done.returncode}): {done.stderr.strip()} "
                "(on a machine without package lists, run `apt-get update` once)"
            )
        # Stream the data archive and keep just these files (the package is ~96 MB).
        proc = subprocess.Popen([dpkg_deb, "--fsys-tarfile", str(debs[0])], stdout=subprocess.PIPE)
        assert proc.stdout is not None
        wanted = {OPENCV_DOC_DIR + name: name for name in OPENCV_DOC_FILES}
        with tarfile.open(fileobj=proc.stdout, mode="r|") as tar:
            for member in tar:
                name = wanted.get(member.name)
                f = tar.extractfile(member) if name and member.isfile() else None
                if f is not None:
                    _write_atomic(cache / name, f.read())
        proc.wait(timeout=120)
    missing = [n for n in OPENCV_DOC_FILES if not (cache / n).is_file()]
    if missing:
        raise RuntimeError(f"opencv-doc did not contain {missing} under {OPENCV_DOC_DIR}")


def _write_atomic(path: Path, data: bytes) -> None:
    part = path.with_name(f".{path.name}.part")
    part.write_bytes(data)
    os.replace(part, path)  # a concurrent reader sees all or nothing


# --- pose2sim -----------------------------------------------------------------------------------
def pose2sim_video(camera: int) -> Path:
    """``cam0<camera>.mp4`` (1..4) of Pose2Sim's multi-person demo, fetched on first use."""
    if camera not in (1, 2, 3, 4):
        raise ValueError(f"camera must be 1..4, got {camera!r}")
    folder = footage_cache_dir() / "pose2sim_multiperson"
    path = folder / f"cam0{camera}.mp4"
    if not path.is_file():
        _fetch_pose2sim(folder)
    return path


def _fetch_pose2sim(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        cmd = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--disable-pip-version-check",
            "-q",
            "-d",
            tmp,
            "pose2sim==0.10.49",
        ]
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
        except FileNotFoundError as exc:
            raise FootageUnavailable(f"pip is not available: {exc}") from exc
        wheel = Path(tmp) / POSE2SIM_WHEEL
        if done.returncode != 0 or not wheel.is_file():
            if "No module named pip" in done.stderr:
                raise FootageUnavailable("pip is not available in this Python")
            raise RuntimeError(
                f"`pip download pose2sim==0.10.49` failed ({done.returncode}): {done.stderr.strip()[-500:]}"
            )
        digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
        if digest != POSE2SIM_SHA256:
            raise RuntimeError(f"{POSE2SIM_WHEEL}: sha256 {digest} != pinned {POSE2SIM_SHA256}")
        with zipfile.ZipFile(wheel) as zf:
            _write_atomic(folder / "LICENSE", zf.read(POSE2SIM_LICENSE))
            for member in POSE2SIM_VIDEOS:
                _write_atomic(folder / Path(member).name, zf.read(member))
