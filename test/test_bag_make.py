"""`act-ros make-bag` on real footage and real pose data: what the bags hold, read back."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from rosbags.rosbag2 import Reader

from act_ros.bag.bag_io import inspect_bag, iter_messages
from act_ros.messages import compressed_to_bgr, image_to_bgr
from act_ros.bag.make_bag import main as make_bag_main
from act_ros.bag.types import MESSAGE_NAMES, typestore

from bag_fixtures import START_TIME_S, demo_video, lzq_csv, make_video_bag, write_text

pytestmark = pytest.mark.emulated  # arm64 check: bag files (mcap, sqlite3) written and read back

CLASSES = "stand,walk,wave,run"


def _frames(n: int, width: int) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(demo_video()))
    out = []
    while len(out) < n:
        ok, bgr = cap.read()
        assert ok
        h = int(round(bgr.shape[0] * width / bgr.shape[1]))
        out.append(cv2.resize(bgr, (width, h), interpolation=cv2.INTER_AREA))
    cap.release()
    return out


@pytest.mark.parametrize("storage", ["mcap", "sqlite3"])
def test_video_bag_holds_frames_stamps_and_ground_truth(tmp_path, storage):
    labels = write_text(
        tmp_path / "labels.csv", "start,end,label,track_id\n0,0.5,stand,0\n0.5,1.0,walk,2\n0.5,0.9,wave,0\n"
    )
    bag = make_video_bag(
        tmp_path / "bag",
        labels,
        "--width",
        "320",
        "--max-frames",
        "36",
        "--storage",
        storage,
        classes=CLASSES,
    )
    meta = (bag / "metadata.yaml").read_text()
    assert f"storage_identifier: {storage}" in meta and "version: 8" in meta
    info = inspect_bag(bag)
    assert info.storage == storage
    assert info.input_topic == "/image_raw" and info.n_frames == 36
    assert info.topics == {
        "/image_raw": "sensor_msgs/msg/Image",
        "/ground_truth/actions": "act_ros/msg/PersonActionArray",
    }
    # The clip is 30 fps: stamps start at --start-time and advance by 1/30 s; bag time = stamp.
    stamps = np.array(info.frame_stamps)
    assert stamps[0] == int(START_TIME_S * 1e9)
    np.testing.assert_allclose(np.diff(stamps) / 1e9, 1 / 30, atol=1e-3)
    assert info.frame_times == info.frame_stamps
    assert [g.stamp_ns for g in info.ground_truth] == info.frame_stamps
    assert info.class_names == CLASSES.split(",")
    gt = {round((g.stamp_ns - stamps[0]) / 1e9 * 30): g.actions for g in info.ground_truth}
    assert gt[0] == {0: "stand"} and gt[14] == {0: "stand"}
    assert gt[15] == {0: "wave", 2: "walk"} and gt[26] == {0: "wave", 2: "walk"}
    assert gt[27] == {2: "walk"} and gt[29] == {2: "walk"} and gt[30] == {}
    # Ground-truth messages follow the message contract: label_index into class_names, no scores.
    _, msg = next(iter_messages(bag, "/ground_truth/actions", "act_ros/msg/PersonActionArray"))
    assert msg.actions[0].label_index == CLASSES.split(",").index("stand")
    assert msg.actions[0].scores.size == 0 and msg.actions[0].confidence == 1.0
    # Pixels are the video's, exactly (raw bgr8, step = width * 3).
    expected = _frames(3, 320)
    for i, (_, img) in enumerate(iter_messages(bag, "/image_raw", "sensor_msgs/msg/Image")):
        if i == 3:
            break
        assert (img.width, img.height, img.encoding, img.step) == (320, 180, "bgr8", 960)
        np.testing.assert_array_equal(image_to_bgr(img), expected[i])


@pytest.mark.parametrize("encoding", ["rgb8", "mono8"])
def test_other_raw_encodings_round_trip(tmp_path, encoding):
    labels = write_text(tmp_path / "labels.csv", "start,end,label\n0,1,walk\n")
    bag = make_video_bag(
        tmp_path / "bag",
        labels,
        "--width",
        "160",
        "--max-frames",
        "2",
        "--encoding",
        encoding,
        classes=CLASSES,
    )
    _, img = next(iter_messages(bag, "/image_raw", "sensor_msgs/msg/Image"))
    assert img.encoding == encoding
    bgr = image_to_bgr(img)
    expected = _frames(1, 160)[0]
    if encoding == "mono8":
        expected = cv2.cvtColor(cv2.cvtColor(expected, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
    np.testing.assert_array_equal(bgr, expected)


def test_padded_rows_are_read_with_their_step():
    store = typestore()
    Image = store.types["sensor_msgs/msg/Image"]
    from act_ros.bag.images import header

    pixels = np.arange(4 * 5 * 3, dtype=np.uint8).reshape(4, 5, 3)
    padded = np.zeros((4, 20), dtype=np.uint8)  # step 20 > 15 bytes of pixels per row
    padded[:, :15] = pixels.reshape(4, 15)
    img = Image(
        header=header(0, "c"),
        height=4,
        width=5,
        encoding="rgb8",
        is_bigendian=0,
        step=20,
        data=padded.reshape(-1),
    )
    np.testing.assert_array_equal(image_to_bgr(img), pixels[:, :, ::-1])
    img.step = 10  # shorter than a row: refused, not misread
    with pytest.raises(ValueError, match="smaller than width"):
        image_to_bgr(img)


def test_compressed_bag(tmp_path):
    labels = write_text(tmp_path / "labels.csv", "start,end,label\n0,1,walk\n")
    bag = make_video_bag(
        tmp_path / "bag",
        labels,
        "--compressed",
        "jpeg",
        "--width",
        "320",
        "--max-frames",
        "4",
        classes=CLASSES,
    )
    info = inspect_bag(bag)
    assert (info.input_topic, info.input_type) == ("/image_raw/compressed", "sensor_msgs/msg/CompressedImage")
    _, msg = next(iter_messages(bag, "/image_raw/compressed", "sensor_msgs/msg/CompressedImage"))
    assert msg.format == "bgr8; jpeg compressed bgr8"
    decoded = compressed_to_bgr(msg)
    original = _frames(1, 320)[0]
    assert decoded.shape == original.shape
    assert np.abs(decoded.astype(int) - original.astype(int)).mean() < 4  # JPEG q90


def test_type_hashes_match_the_ros_build():
    """rosbags' RIHS01 hashes for the package's messages equal those rosidl generated."""
    import act_ros.msg

    share = [Path(p).parents[2] / "share" / "act_ros" / "msg" for p in act_ros.msg.__path__]
    share += [Path(__file__).resolve().parents[1] / ".venv" / "share" / "act_ros" / "msg"]
    found = next((d for d in share if (d / "PersonActionArray.json").is_file()), None)
    if found is None:
        pytest.skip("the generated type descriptions (share/act_ros/msg/*.json) are not installed")
    for name in MESSAGE_NAMES:
        generated = json.loads((found / f"{name}.json").read_text())["type_hashes"][0]["hash_string"]
        assert typestore().hash_rihs01(f"act_ros/msg/{name}") == generated, name


def test_bags_carry_type_hashes_and_definitions_for_ros2_bag(tmp_path):
    labels = write_text(tmp_path / "labels.csv", "start,end,label\n0,1,walk\n")
    bag = make_video_bag(tmp_path / "bag", labels, "--width", "64", "--max-frames", "2", classes=CLASSES)
    with Reader(bag) as reader:
        conns = {c.topic: c for c in reader.connections}
        gt = conns["/ground_truth/actions"]
        assert gt.digest == typestore().hash_rihs01("act_ros/msg/PersonActionArray")
        # The full definition (with nested types) is embedded, so readers need no act_ros install.
        assert "MSG: act_ros/PersonAction" in gt.msgdef.data
        assert conns["/image_raw"].digest.startswith("RIHS01_")


def test_pose_dataset_bag_from_real_lzq_data(tmp_path):
    out = tmp_path / "poses"
    assert make_bag_main([str(lzq_csv()), "-o", str(out), "--quiet", "--start-time", "1700000000"]) == 0
    info = inspect_bag(out)
    assert info.is_pose_bag and info.input_topic == "/human_poses"
    # data.csv: stand 744, walk 722, squat 668, wave 692 rows, one block each -> tracks 1..4.
    assert info.n_frames == 744 + 722 + 668 + 692
    assert info.class_names == ["stand", "walk", "squat", "wave"]
    tracks = [next(iter(g.actions.items())) for g in info.ground_truth]
    assert tracks[0] == (1, "stand") and tracks[743] == (1, "stand") and tracks[744] == (2, "walk")
    assert tracks[-1] == (4, "wave")
    from act_ros.datasets.lzq import LZQ_FRAME_RATE

    np.testing.assert_allclose(np.diff(info.frame_stamps[:10]) / 1e9, 1 / LZQ_FRAME_RATE, atol=1e-6)
    _, msg = next(iter_messages(out, "/human_poses", "act_ros/msg/PersonPose2DArray"))
    assert msg.keypoint_layout == "coco17" and (msg.image_width, msg.image_height) == (640, 480)
    person = msg.people[0]
    assert person.track_id == 1 and len(person.keypoints) == 17
    kp = np.array([[k.x, k.y, k.confidence] for k in person.keypoints])
    assert np.all(np.isfinite(kp)) and set(np.unique(kp[:, 2])) <= {0.0, 1.0}
    assert np.all(kp[kp[:, 2] == 0, :2] == 0)  # missing joints: confidence 0 and x = y = 0
    assert person.box_x_min <= kp[kp[:, 2] > 0, 0].min() + 1e-3


def test_make_bag_cli_errors(tmp_path, capsys):
    video = str(demo_video())
    overlap = write_text(tmp_path / "overlap.csv", "start,end,label\n0,2,walk\n1,3,walk\n")
    unknown = write_text(tmp_path / "unknown.csv", "start,end,label\n0,2,moonwalk\n")
    cases = [
        ([video, "-o", str(tmp_path / "a")], "a video needs --labels"),
        (
            [video, "--labels", str(overlap), "-o", str(tmp_path / "b"), "--classes", CLASSES],
            "overlapping ranges",
        ),
        (
            [video, "--labels", str(unknown), "-o", str(tmp_path / "c"), "--classes", CLASSES],
            "unknown label name(s) 'moonwalk' (line 2)",
        ),
        # ... and how to fix it (issue 11, item 15): the model's classes, or --classes
        (
            [video, "--labels", str(unknown), "-o", str(tmp_path / "c2")],
            "--model MODEL.tflite (its description) or --classes name1,name2",
        ),
        (
            [str(write_text(tmp_path / "notes.txt", "hello")), "-o", str(tmp_path / "e")],
            "is neither a video OpenCV can read nor a pose dataset (.csv LZQ export, .npz)",
        ),
        ([str(tmp_path / "missing.mp4"), "-o", str(tmp_path / "d")], "no such file"),
    ]
    for argv, message in cases:
        assert make_bag_main(argv + ["--quiet"]) == 2, argv
        assert message in capsys.readouterr().err
    # Never overwrites an existing bag.
    (tmp_path / "exists").mkdir()
    ok = write_text(tmp_path / "ok.csv", "start,end,label\n0,1,walk\n")
    assert (
        make_bag_main(
            [video, "--labels", str(ok), "-o", str(tmp_path / "exists"), "--classes", CLASSES, "--quiet"]
        )
        == 2
    )
    assert "exists already" in capsys.readouterr().err


def test_every_video_opencv_reads_makes_a_bag_gif_included(tmp_path):
    """`act-ros make-bag clip.gif` said "unknown pose dataset format" while `act-ros run --source
    clip.gif` worked (issue 11, item 15)."""
    from PIL import Image as PILImage

    cap = cv2.VideoCapture(str(demo_video()))
    frames = [
        PILImage.fromarray(cv2.cvtColor(cv2.resize(cap.read()[1], (160, 90)), cv2.COLOR_BGR2RGB))
        for _ in range(8)
    ]
    gif = tmp_path / "clip.gif"
    frames[0].save(gif, save_all=True, append_images=frames[1:], duration=100, loop=0)
    labels = write_text(tmp_path / "l.csv", "start,end,label\n0,0.8,walk\n")
    assert (
        make_bag_main(
            [str(gif), "--labels", str(labels), "-o", str(tmp_path / "bag"), "--classes", CLASSES, "--quiet"]
        )
        == 0
    )
    info = inspect_bag(tmp_path / "bag")
    assert info.n_frames == 8 and info.input_type == "sensor_msgs/msg/Image"
    assert info.duration_s == pytest.approx(0.7, abs=1e-6)  # the GIF's 100 ms frames


def test_large_raw_bags_are_announced_with_the_compressed_alternative():
    from act_ros.bag.make_bag import raw_size_warning

    # The bundled clip at full size: 230 frames of 1768x994, 1.2 GB raw for a 2 MB video.
    warning = raw_size_warning(demo_video(), None, None)
    assert warning and "~1,156 MB (230 frames of 1768x994" in warning
    assert "--compressed jpeg" in warning
    assert raw_size_warning(demo_video(), 640, None) is None  # 159 MB: no warning
