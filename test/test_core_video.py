"""Annotated videos (issue 11, item 3): H.264 in yuv420p when PyAV is installed (the `video`
extra; `make test` installs it), MPEG-4 Part 2 through OpenCV otherwise, and the writer says
which it used."""

from __future__ import annotations

import subprocess
import sys

import cv2
import numpy as np
import pytest

from act_ros.video import H264, MP4V, VideoWriter, h264_available

FRAMES = [
    cv2.resize(np.random.default_rng(i).integers(0, 255, (9, 16, 3), np.uint8), (321, 181)) for i in range(12)
]  # odd sizes: yuv420p needs even ones


def _read_back(path) -> list[np.ndarray]:
    video = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, bgr = video.read()
        if not ok:
            return frames
        frames.append(bgr)


def test_h264_in_yuv420p_when_pyav_is_there(tmp_path):
    import av

    assert h264_available(), "the video extra (requirements/video.txt) should be installed"
    path = tmp_path / "out.mp4"
    writer = VideoWriter(path, 30.0, (321, 181))
    for frame in FRAMES:
        writer.write(frame)
    writer.close()
    assert writer.codec == H264
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert stream.codec_context.pix_fmt == "yuv420p"  # what browsers decode
        assert (stream.codec_context.width, stream.codec_context.height) == (322, 182)
    frames = _read_back(path)
    assert len(frames) == len(FRAMES)
    assert np.abs(frames[3][:181, :321].astype(int) - FRAMES[3]).mean() < 12  # the same pictures


def test_mp4v_is_the_fallback_without_pyav_and_says_so(tmp_path):
    code = (
        "import sys; sys.modules['av'] = None\n"
        "import numpy as np\n"
        "from act_ros.video import MP4V, VideoWriter, h264_available\n"
        "assert not h264_available()\n"
        "w = VideoWriter(sys.argv[1], 30.0, (64, 48))\n"
        "[w.write(np.full((48, 64, 3), i * 20, np.uint8)) for i in range(5)]\n"
        "w.close(); assert w.codec == MP4V, w.codec\n"
        "try:\n"
        "    VideoWriter(sys.argv[1], 30.0, (64, 48), codec='h264')\n"
        "except ValueError as exc:\n"
        "    print(exc)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "f.mp4")], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "H.264 needs PyAV" in done.stdout and "requirements/video.txt" in done.stdout
    assert len(_read_back(tmp_path / "f.mp4")) == 5
    import av

    with av.open(str(tmp_path / "f.mp4")) as container:
        assert container.streams.video[0].codec_context.name == "mpeg4"  # MPEG-4 Part 2


def test_unknown_codecs_are_refused(tmp_path):
    with pytest.raises(ValueError, match="choose one of auto, h264, mp4v"):
        VideoWriter(tmp_path / "x.mp4", 30.0, (64, 48), codec="vp9")
    assert MP4V != H264
