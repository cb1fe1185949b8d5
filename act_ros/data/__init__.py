"""Small real data shipped with the package.

``sports2d_demo.mp4``: 1768x994, 30 fps, 230 frames (7.7 s), outdoors, two people (one walks
left-right-left, one jumps down from a box). From the PyPI package ``sports2d`` 0.8.34
(``Sports2D/Demo/demo.mp4``), BSD-3-Clause, copyright (c) 2022 perfanalytics: see
``LICENSE.sports2d`` next to it.

``lzq_openpose_har/``: the real labelled pose recordings the shipped models are trained on
(Apache-2.0, see the README and LICENSE in that folder).
"""

from __future__ import annotations

from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent


def demo_video_path() -> Path:
    """The BSD-3 demo clip (two people) used by the demo, tests and benchmarks."""
    path = DATA_DIR / "sports2d_demo.mp4"
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} is missing: the package was installed without its data files "
            "(package_data must include 'data/*')"
        )
    return path


def lzq_data_dir() -> Path:
    """The LZQ OpenPose HAR CSV folder (training data of the shipped models, tests, benchmarks)."""
    path = DATA_DIR / "lzq_openpose_har"
    if not (path / "data.csv").is_file():
        raise FileNotFoundError(
            f"{path} is missing: the package was installed without its data files "
            "(package_data must include 'data/lzq_openpose_har/*')"
        )
    return path
