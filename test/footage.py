"""Real test footage: the BSD-3 demo clip shipped with the package, opencv-doc's samples and
Pose2Sim's multi-person demo (see :mod:`act_ros.data.footage` for sources and licences).

The registry footage is never committed: the first use fetches it into
``$ACT_ROS_TEST_FOOTAGE_DIR`` or ``~/.cache/act_ros/test-footage``. Only when the machine has no
apt (or pip) at all does the caller's test skip (with the reason); a failing download is an error.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from act_ros.data import footage as _footage
from act_ros.data.footage import OPENCV_DOC_FILES, footage_cache_dir  # noqa: F401  (re-exported)


def opencv_doc_file(name: str) -> Path:
    """Path of one of ``OPENCV_DOC_FILES``, fetched into the cache on first use."""
    try:
        return _footage.opencv_doc_file(name)
    except _footage.FootageUnavailable as exc:
        pytest.skip(str(exc))


def pose2sim_video(camera: int) -> Path:
    """Pose2Sim's multi-person demo, camera 1..4 (1088x1920, 60 fps, 100 frames, 2-3 people)."""
    try:
        return _footage.pose2sim_video(camera)
    except _footage.FootageUnavailable as exc:
        pytest.skip(str(exc))


def basketball_path() -> Path:
    """opencv-doc ``basketball1.png``: 640x480 grey, two people playing with a ball."""
    return opencv_doc_file("basketball1.png")


def messi_path() -> Path:
    """opencv-doc ``messi5.jpg``: 548x342, one full-body football player."""
    return opencv_doc_file("messi5.jpg")


def vtest_path() -> Path:
    """opencv-doc ``vtest.avi``: 768x576, 10 fps, 795 frames, 1-12 pedestrians walking."""
    return opencv_doc_file("vtest.avi")


def demo_video_path() -> Path:
    """The BSD-3 ``sports2d_demo.mp4`` shipped in ``act_ros/data`` (1768x994, 30 fps, two people)."""
    from act_ros.data import demo_video_path as packaged

    return packaged()
