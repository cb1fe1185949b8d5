"""Bags that cannot be evaluated get clear errors, before any node is started."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from rosbags.rosbag2 import StoragePlugin, Writer
from rosbags.typesys import Stores, get_types_from_msg, get_typestore

from act_ros.bag.bag_io import BagError, inspect_bag
from act_ros.ros.evaluate import main as evaluate_main

from bag_fixtures import make_video_bag, storage_file, truncate_file, write_text

pytestmark = pytest.mark.emulated  # arm64 check: damaged bag files refused

CLASSES = "stand,walk,wave"


@pytest.fixture(scope="module")
def good_bags(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("bags")
    labels = write_text(root / "labels.csv", "start,end,label\n0,1,walk\n")
    return {
        storage: make_video_bag(
            root / storage,
            labels,
            "--width",
            "320",
            "--max-frames",
            "20",
            "--storage",
            storage,
            classes=CLASSES,
        )
        for storage in ("mcap", "sqlite3")
    }


def _copy(bag: Path, dst: Path) -> Path:
    import shutil

    shutil.copytree(bag, dst)
    return dst


@pytest.mark.parametrize("storage", ["mcap", "sqlite3"])
def test_truncated_bag(good_bags, tmp_path, storage):
    bag = _copy(good_bags[storage], tmp_path / "bag")
    truncate_file(storage_file(bag), 0.5)
    with pytest.raises(BagError, match=r"corrupted, truncated or not a bag"):
        inspect_bag(bag)


def test_truncated_single_mcap_file(good_bags, tmp_path):
    single = tmp_path / "cut.mcap"
    single.write_bytes(storage_file(good_bags["mcap"]).read_bytes()[:300_000])
    with pytest.raises(BagError, match=r"cut.mcap: it is corrupted, truncated or not a bag"):
        inspect_bag(single)


def test_corrupted_sqlite_pages(good_bags, tmp_path):
    bag = _copy(good_bags["sqlite3"], tmp_path / "bag")
    db = storage_file(bag)
    with open(db, "r+b") as fh:  # overwrite a third of the database with noise
        fh.seek(db.stat().st_size // 3)
        fh.write(np.random.default_rng(0).integers(0, 256, db.stat().st_size // 3, np.uint8).tobytes())
    with pytest.raises(BagError, match=r"corrupted|truncated"):
        inspect_bag(bag)


def test_not_a_bag(tmp_path):
    garbage = tmp_path / "noise.mcap"
    garbage.write_bytes(os.urandom(4096))
    with pytest.raises(BagError, match="corrupted, truncated or not a bag"):
        inspect_bag(garbage)
    (tmp_path / "folder").mkdir()
    with pytest.raises(BagError, match="without metadata.yaml"):
        inspect_bag(tmp_path / "folder")
    with pytest.raises(BagError, match="bag not found"):
        inspect_bag(tmp_path / "nothing")


def test_missing_file_listed_in_metadata(good_bags, tmp_path):
    bag = _copy(good_bags["mcap"], tmp_path / "bag")
    storage_file(bag).unlink()
    with pytest.raises(BagError, match="database files are missing"):
        inspect_bag(bag)


def _bag_with_unknown_type(path: Path) -> Path:
    """A real bag whose image topic carries a vendor type that act_ros does not know."""
    store = get_typestore(Stores.ROS2_KILTED)
    store.register(get_types_from_msg("std_msgs/Header header\nuint8[] pixels\n", "vendor_msgs/msg/Frame"))
    Frame = store.types["vendor_msgs/msg/Frame"]
    Header = store.types["std_msgs/msg/Header"]
    Time = store.types["builtin_interfaces/msg/Time"]
    with Writer(path, version=8, storage_plugin=StoragePlugin.MCAP) as writer:
        conn = writer.add_connection("/image_raw", "vendor_msgs/msg/Frame", typestore=store)
        for i in range(3):
            msg = Frame(
                header=Header(stamp=Time(sec=i, nanosec=0), frame_id="c"), pixels=np.zeros(4, np.uint8)
            )
            writer.write(conn, i * 10**9, store.serialize_cdr(msg, "vendor_msgs/msg/Frame"))
    return path


def test_unknown_topic_type(tmp_path):
    bag = _bag_with_unknown_type(tmp_path / "vendor")
    with pytest.raises(
        BagError,
        match=r"no input topic of type .*unknown message type\(s\): "
        r"/image_raw \[vendor_msgs/msg/Frame\]",
    ):
        inspect_bag(bag)
    with pytest.raises(
        BagError,
        match=r"topic /image_raw has type vendor_msgs/msg/Frame, which "
        r"cannot be replayed",
    ):
        inspect_bag(bag, input_topic="image_raw")


def test_missing_topics(good_bags):
    with pytest.raises(BagError, match=r"no ground-truth topic /labels \(act_ros/msg/PersonActionArray\)"):
        inspect_bag(good_bags["mcap"], ground_truth_topic="labels")
    with pytest.raises(
        BagError,
        match=r"has no topic /camera/image; its topics: "
        r"/ground_truth/actions \[act_ros/msg/PersonActionArray\], "
        r"/image_raw \[sensor_msgs/msg/Image\]",
    ):
        inspect_bag(good_bags["mcap"], input_topic="/camera/image")
    with pytest.raises(BagError, match=r"ground-truth topic /image_raw has type sensor_msgs/msg/Image"):
        inspect_bag(good_bags["mcap"], ground_truth_topic="image_raw")


def test_evaluate_cli_reports_bag_errors(tmp_path, capsys):
    bag = _bag_with_unknown_type(tmp_path / "vendor")
    assert evaluate_main([str(bag), "-o", str(tmp_path / "out"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("act-ros evaluate: error: the bag has no input topic")
    assert "Traceback" not in err
    assert not (tmp_path / "out").exists()  # nothing written, nothing started


@pytest.mark.ros  # the checks run where the nodes are built (act_ros.ros)
def test_evaluate_cli_rejects_bad_node_parameters_and_models(good_bags, tmp_path, capsys):
    bag = str(good_bags["mcap"])
    assert (
        evaluate_main([bag, "--pose-param", "model_varient=lite", "-o", str(tmp_path / "a"), "--quiet"]) == 2
    )
    assert "pose node: unknown parameter(s) ['model_varient']" in capsys.readouterr().err
    assert evaluate_main([bag, "--act-param", "min_frames=0", "-o", str(tmp_path / "b"), "--quiet"]) == 2
    assert "parameter 'min_frames' must be in 1 .. 300; got 0" in capsys.readouterr().err
    missing = tmp_path / "missing.tflite"
    assert (
        evaluate_main(
            [
                bag,
                "--in-process",
                "--act-param",
                f"model_path={missing}",
                "-o",
                str(tmp_path / "c"),
                "--quiet",
            ]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert err.startswith("act-ros evaluate: error: AcT model file not found") and str(missing) in err
    assert "Traceback" not in err
