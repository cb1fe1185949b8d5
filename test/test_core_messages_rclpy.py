"""act_ros.messages reads rclpy messages (the nodes, act-ros run) exactly as it reads rosbags
messages (bags, the direct evaluation): the same bytes give the same arrays, with one encoding
table. What each conversion gives is test_core_messages.py (ROS-free)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from sensor_msgs.msg import CompressedImage as RclpyCompressedImage
from sensor_msgs.msg import Image as RclpyImage
from std_msgs.msg import Header as RclpyHeader

from act_ros.bag import images as bag_images
from act_ros.messages import (
    ENCODINGS,
    WRITABLE_ENCODINGS,
    ImageConversionError,
    compressed_fields,
    compressed_to_bgr,
    header_stamp_ns,
    image_to_bgr,
    image_to_rgb,
    message_to_rgb,
    pose_arrays,
    pose_detections,
    set_stamp,
)
from act_ros.pose.base import PoseDetections, boxes_from_keypoints
from act_ros.ros import conversions

from core_fixtures import (
    image_fields_with_padding,
    lzq_sequences,
    random_image_pixels,
    rosbags_image,
    three_frame_pose_bag,
)

RNG = np.random.default_rng(7)


def rclpy_image(pixels: np.ndarray, encoding: str, pad: int = 0) -> RclpyImage:
    fields, padded = image_fields_with_padding(pixels, encoding, pad)
    return RclpyImage(**fields, data=padded.tobytes())


@pytest.mark.parametrize("encoding", sorted(ENCODINGS))
def test_every_encoding_reads_the_same_from_rclpy_and_rosbags_messages(encoding):
    pixels = random_image_pixels(encoding, RNG)
    for pad in (0, 3):
        rclpy_msg, rosbags_msg = rclpy_image(pixels, encoding, pad), rosbags_image(pixels, encoding, pad)
        np.testing.assert_array_equal(image_to_rgb(rclpy_msg), image_to_rgb(rosbags_msg))
        np.testing.assert_array_equal(image_to_bgr(rclpy_msg), image_to_bgr(rosbags_msg))


@pytest.mark.parametrize("encoding", WRITABLE_ENCODINGS)
def test_writing_gives_the_same_image_in_both_message_kinds(encoding):
    bgr = RNG.integers(0, 256, (6, 7, 3), np.uint8)
    header = RclpyHeader(frame_id="cam")
    set_stamp(header, 1_500_000_000)
    rclpy_msg = conversions.image_msg(bgr, encoding, header)
    rosbags_msg = bag_images.image_msg(bgr, 1_500_000_000, "cam", encoding)
    for field in ("encoding", "width", "height", "step"):
        assert getattr(rclpy_msg, field) == getattr(rosbags_msg, field)
    assert header_stamp_ns(rclpy_msg) == header_stamp_ns(rosbags_msg) == 1_500_000_000
    assert rclpy_msg.header.frame_id == rosbags_msg.header.frame_id == "cam"
    np.testing.assert_array_equal(image_to_bgr(rclpy_msg), image_to_bgr(rosbags_msg))


def test_compressed_images_from_both_message_kinds():
    bgr = cv2.resize(RNG.integers(0, 256, (8, 8, 3), np.uint8), (64, 48))
    fields = compressed_fields(bgr, "png")
    rclpy_msg = RclpyCompressedImage(format=fields["format"], data=fields["data"].tobytes())
    rosbags_msg = bag_images.compressed_msg(bgr, 0, "c", "png")
    np.testing.assert_array_equal(compressed_to_bgr(rclpy_msg), compressed_to_bgr(rosbags_msg))
    np.testing.assert_array_equal(message_to_rgb(rclpy_msg), message_to_rgb(rosbags_msg))


def test_pose_arrays_read_the_same_from_both_message_kinds(tmp_path):
    kp, messages = three_frame_pose_bag(tmp_path / "b")
    for i, (_, bag_msg) in enumerate(messages):
        det = PoseDetections(
            kp[i], boxes_from_keypoints(kp[i]), np.ones(1, np.float32), np.array([1], np.uint32)
        )
        rclpy_msg = conversions.detections_to_msg(det, RclpyHeader(), 640, 480)
        (rclpy_ids, rclpy_arrays), (bag_ids, bag_arrays) = pose_arrays(rclpy_msg), pose_arrays(bag_msg)
        assert rclpy_ids.tolist() == bag_ids.tolist() == [1] and rclpy_arrays.dtype == np.float32
        np.testing.assert_allclose(rclpy_arrays, bag_arrays, rtol=1e-6)
        np.testing.assert_allclose(pose_detections(rclpy_msg).boxes, det.boxes, rtol=1e-6)


def test_stamps_are_set_the_same_on_both_header_kinds():
    for header in (RclpyHeader(), bag_images.header(0, "")):
        set_stamp(header, 12_000_000_345)
        assert (header.stamp.sec, header.stamp.nanosec) == (12, 345)


# --- bounded cost under hostile input (issue 11, items 4-6) ----------------------------------------
def _huge_bgr8(width: int, height: int, pad: int = 0) -> RclpyImage:
    rows = np.empty((height, width * 3 + pad), np.uint8)
    rows[:, : width * 3] = np.tile(np.arange(width * 3, dtype=np.uint8) % 251, (height, 1))
    return RclpyImage(
        height=height, width=width, encoding="bgr8", step=width * 3 + pad, data=rows.reshape(-1)
    )


def test_a_huge_image_is_downscaled_while_decoding_without_a_full_size_copy():
    import tracemalloc

    from act_ros.messages import decode_rgb

    msg = _huge_bgr8(8000, 6000, pad=16)  # 144 MB of pixels, rows padded
    tracemalloc.start()
    try:
        image = decode_rgb(msg, 1920)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert image.rgb.shape == (1440, 1920, 3) and (image.width, image.height) == (8000, 6000)
    assert image.scale == pytest.approx(1920 / 8000)
    # The output (8 MB) and small change: never a full-size (144 MB) copy.
    assert peak < 16 * 2**20, f"{peak / 2**20:.0f} MB"
    # The same pixels as converting the full image and then resizing it.
    full = image_to_rgb(msg)
    np.testing.assert_array_equal(image.rgb, cv2.resize(full, (1920, 1440), interpolation=cv2.INTER_AREA))


@pytest.mark.parametrize("encoding", ["yuv422", "yuv422_yuy2", "mono8", "rgba8"])
def test_every_encoding_downscales_while_decoding_like_decoding_then_resizing(encoding):
    from act_ros.messages import decode_rgb

    channels = ENCODINGS[encoding].channels
    base = cv2.resize(RNG.integers(0, 256, (12, 16, 4), np.uint8), (800, 600))
    pixels = base[..., :channels] if channels > 1 else base[..., 0]
    msg = rclpy_image(np.ascontiguousarray(pixels), encoding, pad=8)
    small = decode_rgb(msg, 200)
    assert small.rgb.shape == (150, 200, 3) and (small.width, small.height) == (800, 600)
    expected = cv2.resize(image_to_rgb(msg), (200, 150), interpolation=cv2.INTER_AREA)
    # 4:2:2 is converted on every k-th pixel pair first: close, not equal.
    tolerance = 12 if channels == 2 else 0
    assert np.abs(small.rgb.astype(int) - expected).mean() <= tolerance


def test_absurd_sizes_are_refused_before_decoding():
    from act_ros.messages import MAX_IMAGE_PIXELS, decode_rgb

    claim = RclpyImage(height=20000, width=20000, encoding="bgr8", step=60000, data=b"\0" * 12)
    with pytest.raises(ImageConversionError, match="400 megapixels exceeds the 100 MP limit"):
        decode_rgb(claim)
    # A decompression bomb: a PNG header announcing 30000x30000 (900 MP) in a few bytes.
    ihdr = (30000).to_bytes(4, "big") * 2 + bytes([8, 2, 0, 0, 0])
    bomb = b"\x89PNG\r\n\x1a\n" + (13).to_bytes(4, "big") + b"IHDR" + ihdr + b"\0" * 64
    with pytest.raises(ImageConversionError, match="900 megapixels exceeds"):
        decode_rgb(RclpyCompressedImage(format="png", data=bomb))
    assert MAX_IMAGE_PIXELS == 100_000_000


def test_compressed_sizes_are_read_from_the_header_and_jpeg_decodes_reduced():
    from act_ros.messages import compressed_size, decode_rgb

    bgr = cv2.resize(RNG.integers(0, 256, (9, 16, 3), np.uint8), (1600, 900))
    for fmt in ("jpeg", "png"):
        fields = compressed_fields(bgr, fmt)
        assert compressed_size(fields["data"]) == (1600, 900)
        msg = RclpyCompressedImage(format=fields["format"], data=fields["data"].tobytes())
        small = decode_rgb(msg, 400)
        assert small.rgb.shape == (225, 400, 3) and (small.width, small.height) == (1600, 900)
        full = cv2.resize(message_to_rgb(msg), (400, 225), interpolation=cv2.INTER_AREA)
        assert np.abs(small.rgb.astype(int) - full).mean() < 4  # jpeg: decoded at 1/4 scale
    assert compressed_size(b"not an image at all, really not") is None


def test_packed_422_with_an_odd_width_is_refused_with_the_reason():
    for encoding in ("yuv422", "yuyv"):
        msg = rclpy_image(np.zeros((4, 5, 2), np.uint8), encoding)
        with pytest.raises(ImageConversionError, match="width must be even"):
            image_to_rgb(msg)


def test_pose_arrays_are_read_from_the_bytes_with_a_cap():
    from rclpy.serialization import serialize_message

    from act_ros.messages import read_pose_array, read_pose_array_cdr
    from act_ros.msg import PersonPose2DArray
    from node_fixtures import pose_array_msg

    seq = lzq_sequences()["walk"]
    msg = pose_array_msg(12_000_000_345, [7, 3, 9], seq[:3], frame_id="cam_é")
    msg.keypoint_layout = "coco17"
    raw = serialize_message(msg)
    for cap in (None, 2):
        from_bytes, from_object = read_pose_array_cdr(raw, cap), read_pose_array(msg, cap)
        for got in (from_bytes, from_object):
            assert (got.stamp_ns, got.frame_id, got.keypoint_layout) == (12_000_000_345, "cam_é", "coco17")
            assert got.people_in_message == 3 and got.people_unread == (3 - (cap or 3))
            assert got.track_ids.tolist() == [7, 3, 9][:cap]
        np.testing.assert_array_equal(from_bytes.keypoints, from_object.keypoints)
    from act_ros.messages import PoseMessageError

    with pytest.raises(PoseMessageError, match="truncated pose message: 3 people announced"):
        read_pose_array_cdr(raw[:-10])
    assert read_pose_array_cdr(b"\x00\x07\x00\x00" + raw[4:]) is None  # XCDR2: not read here
    assert isinstance(msg, PersonPose2DArray)
