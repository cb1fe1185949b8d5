"""pip packaging of act_ros, for virtual environments (`make setup`) and ROS-free use.

On a ROS 2 machine the package is built by colcon through CMakeLists.txt (ament_cmake), which
also generates the messages; this file is not used there.
"""

from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent


def requirements(name: str) -> list[str]:
    lines = (HERE / "requirements" / f"{name}.txt").read_text().splitlines()
    return [ln.split("#")[0].strip() for ln in lines if ln.split("#")[0].strip()]


setup(
    name="act_ros",
    version="0.1.0",
    description="Multi-person human action recognition from 2D poses (Action Transformer) for ROS 2",
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=find_packages(include=["act_ros", "act_ros.*"]),
    package_data={
        "act_ros": [
            "models/*",
            "models/lzq7/*",
            "data/*",
            "data/lzq_openpose_har/*",
            "*.xml",
            "pose/licenses/*",
            "datasets/mocap/*.yaml",
            "datasets/mocap/*.json",
            "datasets/mocap/README.md",
        ]
    },
    # The message definitions, where act_ros.bag.types looks in an installed prefix: without
    # them a pip-installed package (no ROS build, no source tree) cannot read or write bags.
    data_files=[("share/act_ros/msg", sorted(f"msg/{p.name}" for p in (HERE / "msg").glob("*.msg")))],
    install_requires=requirements("runtime"),
    extras_require={
        "train": requirements("train"),
        "eval": requirements("eval"),
        "test": requirements("test"),
        "video": requirements("video"),
    },
    entry_points={"console_scripts": ["act-ros = act_ros.cli:main"]},
)
