"""`act-ros evaluate` dispatch: ROS 2 bags go to the bag evaluation, the rest to model scoring."""

from __future__ import annotations

import pytest

from act_ros.evaluate_cli import is_bag, main


def test_bag_detection(tmp_path):
    folder = tmp_path / "bag"
    folder.mkdir()
    assert not is_bag(str(folder))
    (folder / "metadata.yaml").write_text("rosbag2_bagfile_information: {}\n")
    assert is_bag(str(folder))
    for name in ("x.mcap", "x.db3"):
        (tmp_path / name).write_bytes(b"\0")
        assert is_bag(str(tmp_path / name))
    (tmp_path / "m.tflite").write_bytes(b"\0")
    assert not is_bag(str(tmp_path / "m.tflite"))
    assert not is_bag(str(tmp_path / "missing.mcap"))


def test_models_go_to_model_evaluation(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["act_micro.tflite"])  # model scoring needs --dataset
    assert exc.value.code == 2
    assert "--dataset" in capsys.readouterr().err
