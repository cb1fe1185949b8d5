"""Dataset files: the .npz format, the LZQ importer CLI, clear errors for bad files."""

from __future__ import annotations

import numpy as np
import pytest

from act_ros.datasets import cli
from act_ros.datasets.lzq import read_recordings
from act_ros.datasets.npz import PoseDataset, load_npz_dataset
from core_fixtures import LZQ_DIR

pytestmark = pytest.mark.emulated  # arm64 check: dataset files written and read back


def test_lzq_recordings_are_deduplicated():
    recs = read_recordings(LZQ_DIR)
    assert [r.class_name for r in recs] == ["stand", "walk", "squat", "wave", "operate", "fall_down", "run"]
    assert sum(len(r.frames) for r in recs) == 5460  # 2,826 + 4,100 - 1,466 duplicates
    assert all(r.frames.shape[1:] == (18, 3) for r in recs)
    assert np.all(recs[0].frames[..., :2].max(axis=(0, 1)) <= [640, 480])


def test_import_lzq_and_info(tmp_path, capsys):
    out = tmp_path / "lzq.npz"
    assert (
        cli.main(
            [
                "import-lzq",
                str(LZQ_DIR),
                "-o",
                str(out),
                "--stride",
                "4",
                "--window-length",
                "20",
                "--train-speeds",
                "1.0",
                "1.5",
            ]
        )
        == 0
    )
    ds = load_npz_dataset(out)
    assert ds.poses.shape[1:] == (20, 17, 3) and ds.keypoint_layout == "coco17"
    assert ds.frame_rate == 10.0 and len(ds.class_names) == 7
    assert set(ds.split) == {"train", "val", "test"}
    text = capsys.readouterr().out
    assert "fall_down" in text and "train" in text and "groups: 70" in text
    assert cli.main(["info", str(out)]) == 0


def test_npz_round_trip_and_errors(tmp_path):
    poses = np.zeros((4, 30, 17, 3), np.float32)
    ds = PoseDataset(
        poses,
        [0, 1, 1, 0],
        ("a", "b"),
        "coco17",
        groups=np.array([0, 0, 1, 1]),
        split=np.array(["train", "train", "test", "val"]),
        frame_rate=25.0,
    )
    back = load_npz_dataset(ds.save(tmp_path / "d.npz"))
    assert back.class_names == ("a", "b") and back.frame_rate == 25.0
    assert np.array_equal(back.groups, [0, 0, 1, 1]) and list(back.split) == list(ds.split)
    assert len(back.part("test")) == 1
    with pytest.raises(ValueError, match=r"\(N, T, 25, 3\)"):
        PoseDataset(poses, [0, 1, 1, 0], ("a", "b"), "body25")
    with pytest.raises(ValueError, match="labels must lie in 0..1"):
        PoseDataset(poses, [0, 1, 2, 0], ("a", "b"), "coco17")
    with pytest.raises(ValueError, match="split values"):
        PoseDataset(poses, [0, 1, 1, 0], ("a", "b"), "coco17", split=np.array(["x"] * 4))
    np.savez(tmp_path / "bad.npz", poses=poses)
    with pytest.raises(ValueError, match=r"missing arrays \['labels'"):
        load_npz_dataset(tmp_path / "bad.npz")
    with pytest.raises(FileNotFoundError):
        load_npz_dataset(tmp_path / "none.npz")
