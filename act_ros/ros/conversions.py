"""Conversions between ROS messages and the numpy arrays of the ROS-free core.

Images are converted here rather than with cv_bridge: PyPI's cv-bridge is a broken ROS 1 port, and
the pose node needs exact, explicit checks (encoding, step, buffer size) that turn a malformed
image into a clear error instead of a crash or a silently wrong picture.
"""
from __future__ import annotations

import cv2
import numpy as np
from sensor_msgs.msg import CompressedImage, Image

from act_ros.msg import Keypoint2D, PersonAction, PersonActionArray, PersonPose2D, PersonPose2DArray
from act_ros.layouts import COCO17, NUM_KEYPOINTS
from act_ros.pose.base import PoseDetections
from act_ros.recognizer import TrackAction

KEYPOINT_LAYOUT = COCO17  # what msg/PersonPose2D.msg carries

# encoding -> (channels, conversion to RGB or None when already RGB)
_ENCODINGS: dict[str, tuple[int, int | None]] = {
    "rgb8": (3, None),
    "bgr8": (3, cv2.COLOR_BGR2RGB),
    "8UC3": (3, cv2.COLOR_BGR2RGB),  # OpenCV's native order
    "rgba8": (4, cv2.COLOR_RGBA2RGB),
    "bgra8": (4, cv2.COLOR_BGRA2RGB),
    "8UC4": (4, cv2.COLOR_BGRA2RGB),
    "mono8": (1, cv2.COLOR_GRAY2RGB),
    "8UC1": (1, cv2.COLOR_GRAY2RGB),
    "yuv422": (2, cv2.COLOR_YUV2RGB_UYVY),       # ROS's name for UYVY
    "uyvy": (2, cv2.COLOR_YUV2RGB_UYVY),
    "yuv422_yuy2": (2, cv2.COLOR_YUV2RGB_YUY2),
    "yuyv": (2, cv2.COLOR_YUV2RGB_YUY2),
}
_SIXTEEN_BIT = {"mono16", "16UC1", "16SC1", "rgb16", "bgr16", "rgba16", "bgra16", "16UC3", "32FC1"}


class ImageConversionError(ValueError):
    """An image the pose node cannot use; the message says why and what would work."""


def supported_encodings() -> list[str]:
    return sorted(_ENCODINGS)


def image_to_rgb(msg: Image) -> np.ndarray:
    """sensor_msgs/Image -> HxWx3 uint8 RGB (C-contiguous), or ImageConversionError."""
    encoding = msg.encoding
    if encoding in _SIXTEEN_BIT:
        raise ImageConversionError(
            f"encoding '{encoding}' is not supported: pose estimation needs an 8-bit colour or "
            f"grey image (depth and 16-bit images carry no usable appearance); publish one of "
            f"{', '.join(supported_encodings())}")
    if encoding not in _ENCODINGS:
        raise ImageConversionError(
            f"unknown image encoding '{encoding}'; supported: {', '.join(supported_encodings())}")
    channels, conversion = _ENCODINGS[encoding]
    height, width, step = int(msg.height), int(msg.width), int(msg.step)
    if height == 0 or width == 0:
        raise ImageConversionError(f"empty image ({width}x{height})")
    row_bytes = width * channels
    if step < row_bytes:
        raise ImageConversionError(
            f"step {step} is smaller than width*channels = {width}*{channels} = {row_bytes} "
            f"for {encoding}")
    data = np.frombuffer(msg.data, dtype=np.uint8)
    if data.size < step * (height - 1) + row_bytes:
        raise ImageConversionError(
            f"truncated image: {data.size} bytes for {width}x{height} {encoding} with step "
            f"{step} (needs {step * height})")
    if data.size < step * height:  # the last row's padding may legitimately be missing
        data = np.concatenate([data, np.zeros(step * height - data.size, np.uint8)])
    rows = data[: step * height].reshape(height, step)[:, :row_bytes]
    image = rows.reshape(height, width, channels) if channels > 1 else rows.reshape(height, width)
    if conversion is None:
        return np.ascontiguousarray(image)
    return cv2.cvtColor(np.ascontiguousarray(image), conversion)


def compressed_to_rgb(msg: CompressedImage) -> np.ndarray:
    """sensor_msgs/CompressedImage (jpeg/png) -> HxWx3 uint8 RGB, or ImageConversionError."""
    data = np.frombuffer(msg.data, dtype=np.uint8)
    if data.size == 0:
        raise ImageConversionError("empty compressed image")
    bgr = cv2.imdecode(data, cv2.IMREAD_COLOR)
    if bgr is None:
        raise ImageConversionError(
            f"could not decode compressed image (format '{msg.format}', {data.size} bytes)")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def image_from_array(pixels: np.ndarray, encoding: str, header=None) -> Image:
    """HxWx3 uint8 pixels already in ``encoding`` order (rgb8 or bgr8) -> sensor_msgs/Image."""
    if encoding not in ("rgb8", "bgr8"):
        raise ValueError("encoding must be rgb8 or bgr8")
    pixels = np.ascontiguousarray(pixels, dtype=np.uint8)
    if pixels.ndim != 3 or pixels.shape[2] != 3:
        raise ValueError(f"expected HxWx3 pixels, got {pixels.shape}")
    msg = Image()
    if header is not None:
        msg.header = header
    msg.height, msg.width = int(pixels.shape[0]), int(pixels.shape[1])
    msg.encoding = encoding
    msg.is_bigendian = 0
    msg.step = int(pixels.shape[1] * 3)
    msg.data = pixels.tobytes()
    return msg


def detections_to_msg(detections: PoseDetections, header, width: int, height: int) -> PersonPose2DArray:
    msg = PersonPose2DArray()
    msg.header = header
    msg.image_width, msg.image_height = int(width), int(height)
    msg.keypoint_layout = KEYPOINT_LAYOUT
    people = []
    for kp, box, score, track_id in zip(detections.keypoints.tolist(), detections.boxes.tolist(),
                                        detections.scores.tolist(), detections.track_ids.tolist()):
        person = PersonPose2D()
        person.track_id = int(track_id)
        person.box_x_min, person.box_y_min, person.box_x_max, person.box_y_max = box
        person.score = score
        person.keypoints = [Keypoint2D(x=x, y=y, confidence=c) for x, y, c in kp]
        people.append(person)
    msg.people = people
    return msg


def msg_to_arrays(msg: PersonPose2DArray) -> tuple[np.ndarray, np.ndarray]:
    """PersonPose2DArray -> (track_ids (N,) int64, keypoints (N, 17, 3) float32).

    A person whose keypoint array does not have 17 entries cannot exist on the wire (the array is
    fixed-size), so only values need checking, which the recognizer does.
    """
    people = msg.people
    ids = np.fromiter((p.track_id for p in people), dtype=np.int64, count=len(people))
    kp = np.array([[(k.x, k.y, k.confidence) for k in p.keypoints] for p in people],
                  dtype=np.float32).reshape(len(people), NUM_KEYPOINTS, 3)
    return ids, kp


def msg_to_detections(msg: PersonPose2DArray) -> PoseDetections:
    """PersonPose2DArray -> PoseDetections (the inverse of detections_to_msg), e.g. to draw it."""
    ids, kp = msg_to_arrays(msg)
    boxes = np.array([[p.box_x_min, p.box_y_min, p.box_x_max, p.box_y_max] for p in msg.people],
                     np.float32).reshape(-1, 4)
    scores = np.array([p.score for p in msg.people], np.float32)
    return PoseDetections(kp, boxes, scores, ids.astype(np.uint32))


def actions_to_msg(actions: list[TrackAction], header, class_names: tuple[str, ...],
                   window_length: int) -> PersonActionArray:
    msg = PersonActionArray()
    msg.header = header
    msg.class_names = list(class_names)
    out = []
    for a in actions:
        action = PersonAction()
        action.track_id = int(a.track_id)
        action.label_index = int(a.label_index)
        action.label = a.label
        action.confidence = float(a.confidence)
        action.scores = a.scores.astype(np.float32).tolist()
        action.window_frames = int(a.window_frames)
        action.window_length = int(window_length)
        out.append(action)
    msg.actions = out
    return msg


def stamp_to_ns(stamp) -> int:
    return int(stamp.sec) * 1_000_000_000 + int(stamp.nanosec)
