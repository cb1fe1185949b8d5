"""Real test footage: the BSD-3 demo clip shipped with the package, and opencv-doc's samples.

Debian's ``opencv-doc`` package holds ``vtest.avi`` (768x576, 10 fps, 1-8 pedestrians),
``basketball1.png`` (two people) and ``messi5.jpg`` (one full-body person). Their rights are
unclear, so they are never committed: the first use runs ``apt-get download opencv-doc``
(no root needed) and extracts only these files into ``$ACT_ROS_TEST_FOOTAGE_DIR`` or
``~/.cache/act_ros/test-footage``. Only when apt is not available at all does the caller's test
skip (with the reason); a failing download is an error.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

import pytest

OPENCV_DOC_DIR = "./usr/share/doc/opencv-doc/examples/data/"
OPENCV_DOC_FILES = ("vtest.avi", "basketball1.png", "messi5.jpg")


def footage_cache_dir() -> Path:
    env = os.environ.get("ACT_ROS_TEST_FOOTAGE_DIR")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "act_ros" / "test-footage"


def _fetch_opencv_doc(cache: Path) -> None:
    apt_get, dpkg_deb = shutil.which("apt-get"), shutil.which("dpkg-deb")
    if not apt_get or not dpkg_deb:
        pytest.skip("opencv-doc footage needs apt-get and dpkg-deb (Debian/Ubuntu); not available here")
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
        # Stream the data archive and keep just the three files (the package is ~96 MB).
        proc = subprocess.Popen([dpkg_deb, "--fsys-tarfile", str(debs[0])], stdout=subprocess.PIPE)
        assert proc.stdout is not None
        wanted = {OPENCV_DOC_DIR + name: name for name in OPENCV_DOC_FILES}
        with tarfile.open(fileobj=proc.stdout, mode="r|") as tar:
            for member in tar:
                name = wanted.get(member.name)
                f = tar.extractfile(member) if name and member.isfile() else None
                if f is None:
                    continue
                part = cache / f".{name}.part"
                part.write_bytes(f.read())
                os.replace(part, cache / name)  # atomic: a concurrent reader sees all or nothing
        proc.wait(timeout=120)
    missing = [n for n in OPENCV_DOC_FILES if not (cache / n).is_file()]
    if missing:
        raise RuntimeError(f"opencv-doc did not contain {missing} under {OPENCV_DOC_DIR}")


def _apt_download(apt_get: str, folder: str) -> subprocess.CompletedProcess:
    return subprocess.run([apt_get, "download", "-q", "opencv-doc"], cwd=folder,
                          capture_output=True, text=True, timeout=600)


def opencv_doc_file(name: str) -> Path:
    """Path of one of ``OPENCV_DOC_FILES``, fetched into the cache on first use."""
    if name not in OPENCV_DOC_FILES:
        raise ValueError(f"{name!r} is not one of {OPENCV_DOC_FILES}")
    cache = footage_cache_dir()
    if not (cache / name).is_file():
        _fetch_opencv_doc(cache)
    return cache / name


def basketball_path() -> Path:
    """opencv-doc ``basketball1.png``: 640x480 grey, two people playing with a ball."""
    return opencv_doc_file("basketball1.png")


def messi_path() -> Path:
    """opencv-doc ``messi5.jpg``: 548x342, one full-body football player."""
    return opencv_doc_file("messi5.jpg")


def vtest_path() -> Path:
    """opencv-doc ``vtest.avi``: 768x576, 10 fps, 795 frames, 1-8 pedestrians walking."""
    return opencv_doc_file("vtest.avi")


def demo_video_path() -> Path:
    """The BSD-3 ``sports2d_demo.mp4`` shipped in ``act_ros/data`` (1768x994, 30 fps, two people)."""
    from act_ros.data import demo_video_path as packaged

    return packaged()
