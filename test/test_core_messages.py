"""act_ros.messages, the one conversion home, on the messages bags hold (rosbags): every image
encoding against OpenCV's own conversion, padded rows, writing and reading back, compressed
images, pose arrays and stamps. No ROS needed (the arm64 check runs these); that rclpy messages
read the same is test_core_messages_rclpy.py."""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import pytest

from act_ros.bag import images as bag_images
from act_ros.messages import (
    ENCODINGS,
    WRITABLE_ENCODINGS,
    ImageConversionError,
    compressed_to_bgr,
    header_stamp_ns,
    image_fields,
    image_to_bgr,
    image_to_rgb,
    message_to_rgb,
    pose_arrays,
    set_stamp,
    split_ns,
)

from core_fixtures import random_image_pixels, rosbags_image, three_frame_pose_bag

pytestmark = pytest.mark.emulated  # arm64 check: cv2 conversions and byte layouts

RNG = np.random.default_rng(7)


@pytest.mark.parametrize("encoding", sorted(ENCODINGS))
def test_every_encoding_reads_as_opencv_converts_it(encoding):
    pixels = random_image_pixels(encoding, RNG)
    expected = (
        pixels if ENCODINGS[encoding].to_rgb is None else cv2.cvtColor(pixels, ENCODINGS[encoding].to_rgb)
    )
    for pad in (0, 3):
        msg = rosbags_image(pixels, encoding, pad)
        rgb, bgr = image_to_rgb(msg), image_to_bgr(msg)
        assert rgb.shape == bgr.shape == (4, pixels.shape[1], 3) and rgb.flags.c_contiguous
        np.testing.assert_array_equal(rgb, expected)
        np.testing.assert_array_equal(rgb, bgr[:, :, ::-1])


@pytest.mark.parametrize(
    "encoding, pixel",
    [
        ("rgb8", (255, 0, 0)),
        ("bgr8", (0, 0, 255)),
        ("8UC3", (0, 0, 255)),
        ("rgba8", (255, 0, 0, 9)),
        ("bgra8", (0, 0, 255, 9)),
        ("8UC4", (0, 0, 255, 9)),
    ],
)
def test_channel_order_of_each_colour_encoding(encoding, pixel):
    red = np.array(pixel, np.uint8).reshape(1, 1, -1).repeat(2, axis=1)
    assert image_to_rgb(rosbags_image(red, encoding))[0, 0].tolist() == [255, 0, 0]


@pytest.mark.parametrize(
    "encoding, problem", [("mono16", "not supported"), ("bayer_grbg8", "unknown image encoding")]
)
def test_unusable_encodings_say_why(encoding, problem):
    with pytest.raises(ImageConversionError, match=problem):
        image_to_rgb(rosbags_image(np.zeros((2, 2), np.uint8), encoding))


@pytest.mark.parametrize("encoding", WRITABLE_ENCODINGS)
def test_written_images_read_back(encoding):
    bgr = RNG.integers(0, 256, (6, 7, 3), np.uint8)
    expected = (
        bgr
        if encoding != "mono8"
        else cv2.cvtColor(cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
    )
    msg = bag_images.image_msg(bgr, 1_500_000_000, "cam", encoding)
    assert (msg.encoding, msg.width, msg.height) == (encoding, 7, 6)
    assert header_stamp_ns(msg) == 1_500_000_000 and msg.header.frame_id == "cam"
    np.testing.assert_array_equal(image_to_bgr(msg), expected)
    with pytest.raises(ValueError, match="cannot write encoding"):
        image_fields(bgr, "yuv422")


def test_compressed_images():
    bgr = cv2.resize(RNG.integers(0, 256, (8, 8, 3), np.uint8), (64, 48))
    msg = bag_images.compressed_msg(bgr, 0, "c", "png")
    np.testing.assert_array_equal(compressed_to_bgr(msg), bgr)  # png: lossless
    np.testing.assert_array_equal(message_to_rgb(msg), bgr[:, :, ::-1])
    broken = dataclasses.replace(
        bag_images.compressed_msg(bgr, 0, "c", "jpeg"), data=np.frombuffer(b"not a jpeg", np.uint8)
    )
    with pytest.raises(ImageConversionError, match="could not decode"):
        compressed_to_bgr(broken)


def test_pose_arrays_read_back_from_a_pose_bag(tmp_path):
    kp, messages = three_frame_pose_bag(tmp_path / "b")
    assert len(messages) == 3
    for i, (_, msg) in enumerate(messages):
        ids, arrays = pose_arrays(msg)
        assert ids.tolist() == [1] and arrays.dtype == np.float32
        np.testing.assert_allclose(arrays, kp[i], rtol=1e-6)


def test_stamps():
    assert split_ns(12_000_000_345) == (12, 345)
    header = bag_images.header(0, "")
    set_stamp(header, 12_000_000_345)
    assert (header.stamp.sec, header.stamp.nanosec) == (12, 345)
    assert (
        header_stamp_ns(bag_images.image_msg(np.zeros((2, 2, 3), np.uint8), 12_000_000_345, "c", "bgr8"))
        == 12_000_000_345
    )
