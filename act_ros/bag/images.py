"""rosbags message objects for images and headers (the fields come from `act_ros.messages`,
which also reads them back)."""

from __future__ import annotations

from typing import Any

import numpy as np

from act_ros.bag.types import COMPRESSED_IMAGE_TYPE, IMAGE_TYPE, typestore
from act_ros.messages import compressed_fields, image_fields, split_ns


def header(stamp_ns: int, frame_id: str) -> Any:
    """A std_msgs/Header (rosbags object) for a stamp in nanoseconds."""
    store = typestore()
    Time = store.types["builtin_interfaces/msg/Time"]
    Header = store.types["std_msgs/msg/Header"]
    sec, nanosec = split_ns(stamp_ns)
    return Header(stamp=Time(sec=sec, nanosec=nanosec), frame_id=frame_id)


def image_msg(bgr: np.ndarray, stamp_ns: int, frame_id: str, encoding: str = "bgr8") -> Any:
    """An HxWx3 uint8 BGR array as sensor_msgs/Image in ``encoding`` (messages.WRITABLE_ENCODINGS)."""
    return typestore().types[IMAGE_TYPE](header=header(stamp_ns, frame_id), **image_fields(bgr, encoding))


def compressed_msg(
    bgr: np.ndarray, stamp_ns: int, frame_id: str, fmt: str = "jpeg", jpeg_quality: int = 90
) -> Any:
    """An HxWx3 uint8 BGR array as sensor_msgs/CompressedImage (jpeg or png)."""
    return typestore().types[COMPRESSED_IMAGE_TYPE](
        header=header(stamp_ns, frame_id), **compressed_fields(bgr, fmt, jpeg_quality)
    )
