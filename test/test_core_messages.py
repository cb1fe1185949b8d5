"""act_ros.messages, the one conversion home: the same functions read rclpy messages (the nodes,
act-ros run) and rosbags messages (bags, the direct evaluation) alike, with one encoding table."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
from sensor_msgs.msg import CompressedImage as RclpyCompressedImage
from sensor_msgs.msg import Image as RclpyImage
from std_msgs.msg import Header as RclpyHeader

from act_ros.bag import images as bag_images
from act_ros.bag.types import typestore
from act_ros.messages import (
    ENCODINGS,
    WRITABLE_ENCODINGS,
    ImageConversionError,
    compressed_fields,
    compressed_to_bgr,
    header_stamp_ns,
    image_fields,
    image_to_bgr,
    image_to_rgb,
    message_to_rgb,
    pose_arrays,
    pose_detections,
    set_stamp,
    split_ns,
)
from act_ros.pose.base import PoseDetections, boxes_from_keypoints
from act_ros.ros import conversions

from node_fixtures import lzq_sequences

RosbagsImage = typestore().types["sensor_msgs/msg/Image"]
RNG = np.random.default_rng(7)


def both_images(pixels: np.ndarray, encoding: str, pad: int = 0) -> tuple[object, object]:
    """The same bytes as an rclpy and a rosbags sensor_msgs/Image, rows padded by ``pad``."""
    h, w = pixels.shape[:2]
    rows = np.ascontiguousarray(pixels).reshape(h, -1)
    padded = np.zeros((h, rows.shape[1] + pad), np.uint8)
    padded[:, : rows.shape[1]] = rows
    fields = dict(height=h, width=w, encoding=encoding, is_bigendian=0, step=padded.shape[1])
    rclpy_msg = RclpyImage(**fields, data=padded.tobytes())
    rosbags_msg = RosbagsImage(header=bag_images.header(0, "c"), **fields, data=padded.reshape(-1))
    return rclpy_msg, rosbags_msg


@pytest.mark.parametrize("encoding", sorted(ENCODINGS))
def test_every_encoding_reads_the_same_from_rclpy_and_rosbags_messages(encoding):
    channels = ENCODINGS[encoding].channels
    width = 6 if channels == 2 else 5  # packed 4:2:2 holds pixel pairs
    pixels = RNG.integers(0, 256, (4, width, channels) if channels > 1 else (4, width), np.uint8)
    for pad in (0, 3):
        rclpy_msg, rosbags_msg = both_images(pixels, encoding, pad)
        rgb, bgr = image_to_rgb(rclpy_msg), image_to_bgr(rclpy_msg)
        assert rgb.shape == bgr.shape == (4, width, 3) and rgb.flags.c_contiguous
        np.testing.assert_array_equal(rgb, image_to_rgb(rosbags_msg))
        np.testing.assert_array_equal(bgr, image_to_bgr(rosbags_msg))
        np.testing.assert_array_equal(rgb, bgr[:, :, ::-1])
        expected = pixels if ENCODINGS[encoding].to_rgb is None else cv2.cvtColor(
            pixels, ENCODINGS[encoding].to_rgb)
        np.testing.assert_array_equal(rgb, expected)


@pytest.mark.parametrize("encoding, pixel", [
    ("rgb8", (255, 0, 0)), ("bgr8", (0, 0, 255)), ("8UC3", (0, 0, 255)),
    ("rgba8", (255, 0, 0, 9)), ("bgra8", (0, 0, 255, 9)), ("8UC4", (0, 0, 255, 9))])
def test_channel_order_of_each_colour_encoding(encoding, pixel):
    red = np.array(pixel, np.uint8).reshape(1, 1, -1).repeat(2, axis=1)
    for msg in both_images(red, encoding):
        assert image_to_rgb(msg)[0, 0].tolist() == [255, 0, 0]


@pytest.mark.parametrize("encoding, problem", [
    ("mono16", "not supported"), ("bayer_grbg8", "unknown image encoding")])
def test_unusable_encodings_say_why(encoding, problem):
    for msg in both_images(np.zeros((2, 2), np.uint8), encoding):
        with pytest.raises(ImageConversionError, match=problem):
            image_to_rgb(msg)


@pytest.mark.parametrize("encoding", WRITABLE_ENCODINGS)
def test_writing_round_trips_through_both_message_kinds(encoding):
    bgr = RNG.integers(0, 256, (6, 7, 3), np.uint8)
    expected = bgr if encoding != "mono8" else cv2.cvtColor(
        cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
    header = RclpyHeader(frame_id="cam")
    set_stamp(header, 1_500_000_000)
    rclpy_msg = conversions.image_msg(bgr, encoding, header)
    rosbags_msg = bag_images.image_msg(bgr, 1_500_000_000, "cam", encoding)
    for msg in (rclpy_msg, rosbags_msg):
        assert (msg.encoding, msg.width, msg.height) == (encoding, 7, 6)
        assert header_stamp_ns(msg) == 1_500_000_000 and msg.header.frame_id == "cam"
        np.testing.assert_array_equal(image_to_bgr(msg), expected)
    with pytest.raises(ValueError, match="cannot write encoding"):
        image_fields(bgr, "yuv422")


def test_compressed_images_from_both_message_kinds():
    bgr = cv2.resize(RNG.integers(0, 256, (8, 8, 3), np.uint8), (64, 48))
    fields = compressed_fields(bgr, "png")
    rosbags_msg = bag_images.compressed_msg(bgr, 0, "c", "png")
    rclpy_msg = RclpyCompressedImage(format=fields["format"], data=fields["data"].tobytes())
    for msg in (rclpy_msg, rosbags_msg):
        np.testing.assert_array_equal(compressed_to_bgr(msg), bgr)  # png: lossless
        np.testing.assert_array_equal(message_to_rgb(msg), bgr[:, :, ::-1])
    with pytest.raises(ImageConversionError, match="could not decode"):
        compressed_to_bgr(RclpyCompressedImage(format="jpeg", data=b"not a jpeg"))


def test_pose_arrays_read_the_same_from_both_message_kinds(tmp_path):
    from act_ros.bag.bag_io import inspect_bag, iter_messages
    from act_ros.bag.make_bag import write_pose_bag
    from act_ros.bag.pose_datasets import PoseSequence

    kp = next(iter(lzq_sequences().values()))[:3, None].astype(np.float32)  # 3 frames, 1 person
    write_pose_bag([PoseSequence(kp[:, 0], ["walk"] * 3)], tmp_path / "b", ["walk"], fps=10,
                   image_size=(640, 480), start_time_ns=10**9, progress=False)
    info = inspect_bag(tmp_path / "b")
    for i, (_, bag_msg) in enumerate(iter_messages(info.path, info.input_topic, info.input_type)):
        det = PoseDetections(kp[i], boxes_from_keypoints(kp[i]), np.ones(1, np.float32),
                             np.array([1], np.uint32))
        rclpy_msg = conversions.detections_to_msg(det, RclpyHeader(), 640, 480)
        for msg in (rclpy_msg, bag_msg):
            ids, arrays = pose_arrays(msg)
            assert ids.tolist() == [1] and arrays.dtype == np.float32
            np.testing.assert_allclose(arrays, kp[i], rtol=1e-6)
        np.testing.assert_allclose(pose_detections(rclpy_msg).boxes, det.boxes, rtol=1e-6)


def test_stamps():
    assert split_ns(12_000_000_345) == (12, 345)
    for header in (RclpyHeader(), bag_images.header(0, "")):
        set_stamp(header, 12_000_000_345)
        assert (header.stamp.sec, header.stamp.nanosec) == (12, 345)
