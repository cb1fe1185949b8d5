"""The wire side of the core, without ROS: topic names, stamps, image encodings, pose arrays.

Every function here reads or fills message *objects* by their field names only, so the same code
serves rclpy's generated classes (the nodes, ``act-ros run``, the replay) and rosbags' classes
(the bag writer, the direct evaluation). Building a message of a particular class stays with the
layer that owns the class: ``act_ros.ros.conversions`` (rclpy) and ``act_ros.bag.images``
(rosbags).

Images are converted here rather than with cv_bridge: PyPI's cv-bridge is a broken ROS 1 port,
and the pose node needs exact, explicit checks (encoding, step, buffer size) that turn a
malformed image into a clear error instead of a crash or a silently wrong picture.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from act_ros.layouts import COCO17, NUM_KEYPOINTS
from act_ros.pose.base import PoseDetections

# --- topic names ----------------------------------------------------------------------------------
# As the nodes use them: relative, so a namespace applies (bags store them absolute).
IMAGE_TOPIC = "image_raw"
COMPRESSED_IMAGE_TOPIC = "image_raw/compressed"
POSES_TOPIC = "human_poses"
ACTIONS_TOPIC = "human_actions"
GROUND_TRUTH_TOPIC = "ground_truth/actions"
DEBUG_IMAGE_TOPIC = "~/debug_image"
DIAGNOSTICS_TOPIC = "/diagnostics"

# The keypoint_layout of every PersonPose2DArray the pose node publishes and the AcT node accepts.
KEYPOINT_LAYOUT = COCO17


# --- stamps ---------------------------------------------------------------------------------------
def stamp_to_ns(stamp: Any) -> int:
    """builtin_interfaces/Time -> integer nanoseconds."""
    return int(stamp.sec) * 1_000_000_000 + int(stamp.nanosec)


def header_stamp_ns(msg: Any) -> int:
    """The header stamp of a message with a std_msgs/Header, in nanoseconds."""
    return stamp_to_ns(msg.header.stamp)


def split_ns(stamp_ns: int) -> tuple[int, int]:
    """Nanoseconds -> (sec, nanosec) as builtin_interfaces/Time holds them."""
    return divmod(int(stamp_ns), 1_000_000_000)


def set_stamp(msg: Any, stamp_ns: int) -> None:
    """Set the stamp of a message with a header, or of a std_msgs/Header itself."""
    header = getattr(msg, "header", msg)
    header.stamp.sec, header.stamp.nanosec = split_ns(stamp_ns)


# --- image encodings ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Encoding:
    """One sensor_msgs/Image encoding: bytes per pixel and OpenCV conversions."""

    channels: int
    to_rgb: int | None            # cv2 code from this encoding to RGB (None: already RGB)
    to_bgr: int | None            # ... to BGR (None: already BGR)
    from_bgr: int | None = None   # cv2 code from BGR to this encoding, for writable encodings
    writable: bool = False


ENCODINGS: dict[str, Encoding] = {
    "rgb8": Encoding(3, None, cv2.COLOR_RGB2BGR, cv2.COLOR_BGR2RGB, writable=True),
    "bgr8": Encoding(3, cv2.COLOR_BGR2RGB, None, None, writable=True),
    "8UC3": Encoding(3, cv2.COLOR_BGR2RGB, None),  # OpenCV's native order
    "rgba8": Encoding(4, cv2.COLOR_RGBA2RGB, cv2.COLOR_RGBA2BGR),
    "bgra8": Encoding(4, cv2.COLOR_BGRA2RGB, cv2.COLOR_BGRA2BGR),
    "8UC4": Encoding(4, cv2.COLOR_BGRA2RGB, cv2.COLOR_BGRA2BGR),
    "mono8": Encoding(1, cv2.COLOR_GRAY2RGB, cv2.COLOR_GRAY2BGR, cv2.COLOR_BGR2GRAY, writable=True),
    "8UC1": Encoding(1, cv2.COLOR_GRAY2RGB, cv2.COLOR_GRAY2BGR),
    "yuv422": Encoding(2, cv2.COLOR_YUV2RGB_UYVY, cv2.COLOR_YUV2BGR_UYVY),  # ROS's name for UYVY
    "uyvy": Encoding(2, cv2.COLOR_YUV2RGB_UYVY, cv2.COLOR_YUV2BGR_UYVY),
    "yuv422_yuy2": Encoding(2, cv2.COLOR_YUV2RGB_YUY2, cv2.COLOR_YUV2BGR_YUY2),
    "yuyv": Encoding(2, cv2.COLOR_YUV2RGB_YUY2, cv2.COLOR_YUV2BGR_YUY2),
}
WRITABLE_ENCODINGS = tuple(name for name, e in ENCODINGS.items() if e.writable)
# Depth and 16-bit images: named so the error can say why they are refused.
_SIXTEEN_BIT = {"mono16", "16UC1", "16SC1", "rgb16", "bgr16", "rgba16", "bgra16", "16UC3", "32FC1"}
COMPRESSED_FORMATS = ("jpeg", "png")


class ImageConversionError(ValueError):
    """An image that cannot be used; the message says why and what would work."""


def supported_encodings() -> list[str]:
    return sorted(ENCODINGS)


def _pixels(msg: Any) -> tuple[np.ndarray, Encoding]:
    """The pixels of a sensor_msgs/Image in its own encoding (HxWxC or HxW), checked."""
    encoding = str(msg.encoding)
    if encoding in _SIXTEEN_BIT:
        raise ImageConversionError(
            f"encoding '{encoding}' is not supported: pose estimation needs an 8-bit colour or "
            f"grey image (depth and 16-bit images carry no usable appearance); publish one of "
            f"{', '.join(supported_encodings())}")
    if encoding not in ENCODINGS:
        raise ImageConversionError(
            f"unknown image encoding '{encoding}'; supported: {', '.join(supported_encodings())}")
    enc = ENCODINGS[encoding]
    height, width, step = int(msg.height), int(msg.width), int(msg.step)
    if height == 0 or width == 0:
        raise ImageConversionError(f"empty image ({width}x{height})")
    row_bytes = width * enc.channels
    if step < row_bytes:
        raise ImageConversionError(
            f"step {step} is smaller than width*channels = {width}*{enc.channels} = {row_bytes} "
            f"for {encoding}")
    data = np.frombuffer(msg.data, dtype=np.uint8)  # rclpy: array/bytes; rosbags: numpy
    if data.size < step * (height - 1) + row_bytes:
        raise ImageConversionError(
            f"truncated image: {data.size} bytes for {width}x{height} {encoding} with step "
            f"{step} (needs {step * height})")
    if data.size < step * height:  # the last row's padding may legitimately be missing
        data = np.concatenate([data, np.zeros(step * height - data.size, np.uint8)])
    rows = data[: step * height].reshape(height, step)[:, :row_bytes]
    shape = (height, width, enc.channels) if enc.channels > 1 else (height, width)
    return np.ascontiguousarray(rows).reshape(shape), enc


def image_to_rgb(msg: Any) -> np.ndarray:
    """sensor_msgs/Image -> HxWx3 uint8 RGB (C-contiguous), or ImageConversionError."""
    pixels, enc = _pixels(msg)
    return pixels if enc.to_rgb is None else cv2.cvtColor(pixels, enc.to_rgb)


def image_to_bgr(msg: Any) -> np.ndarray:
    """sensor_msgs/Image -> HxWx3 uint8 BGR (C-contiguous), or ImageConversionError."""
    pixels, enc = _pixels(msg)
    return pixels if enc.to_bgr is None else cv2.cvtColor(pixels, enc.to_bgr)


def compressed_to_bgr(msg: Any) -> np.ndarray:
    """sensor_msgs/CompressedImage (jpeg/png) -> HxWx3 uint8 BGR, or ImageConversionError."""
    data = np.frombuffer(msg.data, dtype=np.uint8)
    if data.size == 0:
        raise ImageConversionError("empty compressed image")
    bgr = cv2.imdecode(data, cv2.IMREAD_COLOR)
    if bgr is None:
        raise ImageConversionError(
            f"could not decode compressed image (format '{msg.format}', {data.size} bytes)")
    return bgr


def compressed_to_rgb(msg: Any) -> np.ndarray:
    """sensor_msgs/CompressedImage (jpeg/png) -> HxWx3 uint8 RGB, or ImageConversionError."""
    return cv2.cvtColor(compressed_to_bgr(msg), cv2.COLOR_BGR2RGB)


def is_compressed(msg: Any) -> bool:
    """A sensor_msgs/CompressedImage (it has ``format`` where an Image has ``encoding``)."""
    return hasattr(msg, "format") and not hasattr(msg, "encoding")


def message_to_rgb(msg: Any) -> np.ndarray:
    """Image or CompressedImage -> HxWx3 uint8 RGB (what the pose estimator takes)."""
    return compressed_to_rgb(msg) if is_compressed(msg) else image_to_rgb(msg)


def message_to_bgr(msg: Any) -> np.ndarray:
    """Image or CompressedImage -> HxWx3 uint8 BGR (what OpenCV draws and writes)."""
    return compressed_to_bgr(msg) if is_compressed(msg) else image_to_bgr(msg)


def image_fields(bgr: np.ndarray, encoding: str = "bgr8") -> dict[str, Any]:
    """The sensor_msgs/Image fields (all but the header) of an HxWx3 uint8 BGR array written in
    ``encoding`` (one of WRITABLE_ENCODINGS); ``data`` is a flat uint8 numpy array."""
    enc = ENCODINGS.get(encoding)
    if enc is None or not enc.writable:
        raise ValueError(f"cannot write encoding {encoding!r}; choose one of {WRITABLE_ENCODINGS}")
    bgr = np.asarray(bgr)
    if bgr.dtype != np.uint8 or bgr.ndim != 3 or bgr.shape[2] != 3:
        raise ValueError(f"expected an HxWx3 uint8 BGR image, got {bgr.dtype} {bgr.shape}")
    pixels = np.ascontiguousarray(bgr if enc.from_bgr is None else cv2.cvtColor(bgr, enc.from_bgr))
    height, width = pixels.shape[:2]
    return {"height": int(height), "width": int(width), "encoding": encoding, "is_bigendian": 0,
            "step": int(width * enc.channels), "data": pixels.reshape(-1)}


def compressed_fields(bgr: np.ndarray, fmt: str = "jpeg", jpeg_quality: int = 90) -> dict[str, Any]:
    """The sensor_msgs/CompressedImage fields (all but the header) of an HxWx3 uint8 BGR array."""
    if fmt not in COMPRESSED_FORMATS:
        raise ValueError(f"unknown compressed format {fmt!r}; choose one of {COMPRESSED_FORMATS}")
    params = [cv2.IMWRITE_JPEG_QUALITY, int(jpeg_quality)] if fmt == "jpeg" else []
    ok, buf = cv2.imencode(".jpg" if fmt == "jpeg" else ".png", bgr, params)
    if not ok:
        raise ValueError(f"OpenCV could not encode the image as {fmt}")
    # image_transport's convention for the format field: "<encoding>; <codec> compressed <codec>".
    return {"format": f"bgr8; {fmt} compressed bgr8", "data": np.asarray(buf, np.uint8).reshape(-1)}


# --- pose arrays ----------------------------------------------------------------------------------
def pose_arrays(msg: Any) -> tuple[np.ndarray, np.ndarray]:
    """PersonPose2DArray -> (track_ids (N,) int64, keypoints (N, 17, 3) float32).

    A person whose keypoint array does not have 17 entries cannot exist on the wire (the array is
    fixed-size), so only values need checking, which the recognizer does.
    """
    people = msg.people
    ids = np.fromiter((p.track_id for p in people), dtype=np.int64, count=len(people))
    kp = np.array([[(k.x, k.y, k.confidence) for k in p.keypoints] for p in people],
                  dtype=np.float32).reshape(len(people), NUM_KEYPOINTS, 3)
    return ids, kp


def pose_detections(msg: Any) -> PoseDetections:
    """PersonPose2DArray -> PoseDetections (boxes, scores, IDs), e.g. to draw it."""
    ids, kp = pose_arrays(msg)
    boxes = np.array([[p.box_x_min, p.box_y_min, p.box_x_max, p.box_y_max] for p in msg.people],
                     np.float32).reshape(-1, 4)
    scores = np.array([p.score for p in msg.people], np.float32)
    return PoseDetections(kp, boxes, scores, ids.astype(np.uint32))


def box_centers(msg: Any) -> list[tuple[float, float]]:
    """Each person's box centre as fractions of the image width and height."""
    w, h = max(int(msg.image_width), 1), max(int(msg.image_height), 1)
    return [((p.box_x_min + p.box_x_max) / 2 / w, (p.box_y_min + p.box_y_max) / 2 / h)
            for p in msg.people]
