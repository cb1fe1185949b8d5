"""numpy images <-> sensor_msgs Image / CompressedImage as rosbags message objects.

Plain numpy (no cv_bridge, whose PyPI port breaks on numpy 2): the ``step`` (row stride, which
may include padding) and ``encoding`` are honoured both ways.
"""
from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from act_ros.bag.types import COMPRESSED_IMAGE_TYPE, IMAGE_TYPE, typestore

# encoding -> (channels, dtype, conversion to BGR or None)
_ENCODINGS: dict[str, tuple[int, Any, int | None]] = {
    "bgr8": (3, np.uint8, None),
    "rgb8": (3, np.uint8, cv2.COLOR_RGB2BGR),
    "bgra8": (4, np.uint8, cv2.COLOR_BGRA2BGR),
    "rgba8": (4, np.uint8, cv2.COLOR_RGBA2BGR),
    "mono8": (1, np.uint8, cv2.COLOR_GRAY2BGR),
    "8UC1": (1, np.uint8, cv2.COLOR_GRAY2BGR),
    "8UC3": (3, np.uint8, None),
}
WRITABLE_ENCODINGS = ("bgr8", "rgb8", "mono8")
COMPRESSED_FORMATS = ("jpeg", "png")


def header(stamp_ns: int, frame_id: str) -> Any:
    """A std_msgs/Header (rosbags object) for a stamp in nanoseconds."""
    store = typestore()
    Time = store.types["builtin_interfaces/msg/Time"]
    Header = store.types["std_msgs/msg/Header"]
    sec, nanosec = divmod(int(stamp_ns), 1_000_000_000)
    return Header(stamp=Time(sec=sec, nanosec=nanosec), frame_id=frame_id)


def stamp_to_ns(stamp: Any) -> int:
    """builtin_interfaces/Time (rosbags or rclpy object) -> integer nanoseconds."""
    return int(stamp.sec) * 1_000_000_000 + int(stamp.nanosec)


def bgr_to_image_msg(bgr: np.ndarray, stamp_ns: int, frame_id: str, encoding: str = "bgr8") -> Any:
    """An HxWx3 uint8 BGR array as sensor_msgs/Image in ``encoding`` (bgr8, rgb8 or mono8)."""
    if encoding not in WRITABLE_ENCODINGS:
        raise ValueError(f"cannot write encoding {encoding!r}; choose one of {WRITABLE_ENCODINGS}")
    if bgr.dtype != np.uint8 or bgr.ndim != 3 or bgr.shape[2] != 3:
        raise ValueError(f"expected an HxWx3 uint8 BGR image, got {bgr.dtype} {bgr.shape}")
    if encoding == "rgb8":
        pixels = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    elif encoding == "mono8":
        pixels = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    else:
        pixels = bgr
    pixels = np.ascontiguousarray(pixels)
    height, width = pixels.shape[:2]
    Image = typestore().types[IMAGE_TYPE]
    return Image(
        header=header(stamp_ns, frame_id),
        height=height,
        width=width,
        encoding=encoding,
        is_bigendian=0,
        step=pixels.strides[0],
        data=pixels.reshape(-1),
    )


def bgr_to_compressed_msg(bgr: np.ndarray, stamp_ns: int, frame_id: str, fmt: str = "jpeg",
                          jpeg_quality: int = 90) -> Any:
    """An HxWx3 uint8 BGR array as sensor_msgs/CompressedImage (jpeg or png)."""
    if fmt not in COMPRESSED_FORMATS:
        raise ValueError(f"unknown compressed format {fmt!r}; choose one of {COMPRESSED_FORMATS}")
    params = [cv2.IMWRITE_JPEG_QUALITY, int(jpeg_quality)] if fmt == "jpeg" else []
    ok, buf = cv2.imencode(".jpg" if fmt == "jpeg" else ".png", bgr, params)
    if not ok:
        raise ValueError(f"OpenCV could not encode the image as {fmt}")
    CompressedImage = typestore().types[COMPRESSED_IMAGE_TYPE]
    # image_transport's convention for the format field: "<encoding>; <codec> compressed <codec>".
    return CompressedImage(header=header(stamp_ns, frame_id), format=f"bgr8; {fmt} compressed bgr8",
                           data=np.frombuffer(buf.tobytes(), dtype=np.uint8))


def image_msg_to_bgr(msg: Any) -> np.ndarray:
    """sensor_msgs/Image (rosbags or rclpy object) -> HxWx3 uint8 BGR, honouring step."""
    encoding = str(msg.encoding)
    if encoding not in _ENCODINGS:
        raise ValueError(f"unsupported image encoding {encoding!r}; supported: {sorted(_ENCODINGS)}")
    channels, dtype, conversion = _ENCODINGS[encoding]
    height, width, step = int(msg.height), int(msg.width), int(msg.step)
    row_bytes = width * channels * np.dtype(dtype).itemsize
    data = np.frombuffer(bytes(msg.data) if not isinstance(msg.data, np.ndarray) else msg.data,
                         dtype=np.uint8)
    if step < row_bytes or data.size < step * height:
        raise ValueError(
            f"image data too short: {width}x{height} {encoding} needs step >= {row_bytes} and "
            f"{step * height} bytes, got step {step} and {data.size} bytes")
    rows = data[: step * height].reshape(height, step)[:, :row_bytes]
    pixels = np.ascontiguousarray(rows).view(dtype).reshape(height, width, channels)
    if channels == 1:
        pixels = pixels[:, :, 0]
    return np.ascontiguousarray(pixels) if conversion is None else cv2.cvtColor(pixels, conversion)


def compressed_msg_to_bgr(msg: Any) -> np.ndarray:
    """sensor_msgs/CompressedImage -> HxWx3 uint8 BGR."""
    buf = np.frombuffer(bytes(msg.data) if not isinstance(msg.data, np.ndarray) else msg.data,
                        dtype=np.uint8)
    bgr = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    if bgr is None:
        raise ValueError(f"could not decode compressed image (format {msg.format!r})")
    return bgr
