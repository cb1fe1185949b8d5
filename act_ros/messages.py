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
    to_rgb: int | None  # cv2 code from this encoding to RGB (None: already RGB)
    to_bgr: int | None  # ... to BGR (None: already BGR)
    from_bgr: int | None = None  # cv2 code from BGR to this encoding, for writable encodings
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


# Larger images are refused before anything is allocated for them (the message itself excepted):
# 100 megapixels is beyond every camera a robot carries (8K video is 33 MP) and, as RGB, 300 MB.
MAX_IMAGE_PIXELS = 100_000_000

# Packed 4:2:2 encodings: two pixels share one U/V pair in four bytes.
_PACKED_422 = {"yuv422", "uyvy", "yuv422_yuy2", "yuyv"}


class ImageConversionError(ValueError):
    """An image that cannot be used; the message says why and what would work."""


def supported_encodings() -> list[str]:
    return sorted(ENCODINGS)


@dataclass(frozen=True)
class DecodedImage:
    """An image message's pixels as RGB, downscaled to at most ``max_width`` when asked, and the
    message's own size (keypoints are published in its pixels)."""

    rgb: np.ndarray  # HxWx3 uint8 RGB, C-contiguous
    width: int  # of the image in the message
    height: int

    @property
    def scale(self) -> float:
        """rgb pixels per message pixel (1.0 = full size)."""
        return self.rgb.shape[1] / self.width


def _check_size(width: int, height: int, what: str) -> None:
    if width <= 0 or height <= 0:
        raise ImageConversionError(f"empty image ({width}x{height})")
    if width * height > MAX_IMAGE_PIXELS:
        raise ImageConversionError(
            f"{what} of {width}x{height} = {width * height / 1e6:.0f} megapixels exceeds the "
            f"{MAX_IMAGE_PIXELS / 1e6:.0f} MP limit (refused before decoding); publish a smaller "
            f"image"
        )


def _target_size(width: int, height: int, max_width: int) -> tuple[int, int] | None:
    """(w, h) to downscale to, keeping the aspect ratio; None when no downscaling is needed."""
    if not max_width or width <= max_width:
        return None
    return int(max_width), max(1, round(height * max_width / width))


def _view(msg: Any) -> tuple[np.ndarray, Encoding, str]:
    """The pixels of a sensor_msgs/Image as a view of the message's buffer (rows ``step`` apart,
    no copy), checked: encoding, size limit, pixel pairs, step, buffer length."""
    encoding = str(msg.encoding)
    if encoding in _SIXTEEN_BIT:
        raise ImageConversionError(
            f"encoding '{encoding}' is not supported: pose estimation needs an 8-bit colour or "
            f"grey image (depth and 16-bit images carry no usable appearance); publish one of "
            f"{', '.join(supported_encodings())}"
        )
    if encoding not in ENCODINGS:
        raise ImageConversionError(
            f"unknown image encoding '{encoding}'; supported: {', '.join(supported_encodings())}"
        )
    enc = ENCODINGS[encoding]
    height, width, step = int(msg.height), int(msg.width), int(msg.step)
    _check_size(width, height, "an image")
    if encoding in _PACKED_422 and width % 2:
        raise ImageConversionError(
            f"{encoding} packs two pixels into four bytes (shared U/V), so its width must be even; "
            f"got {width}x{height}"
        )
    row_bytes = width * enc.channels
    if step < row_bytes:
        raise ImageConversionError(
            f"step {step} is smaller than width*channels = {width}*{enc.channels} = {row_bytes} "
            f"for {encoding}"
        )
    data = np.frombuffer(msg.data, dtype=np.uint8)  # rclpy: array/bytes; rosbags: numpy
    if data.size < step * (height - 1) + row_bytes:  # the last row's padding may be missing
        raise ImageConversionError(
            f"truncated image: {data.size} bytes for {width}x{height} {encoding} with step "
            f"{step} (needs {step * height})"
        )
    shape = (height, width, enc.channels) if enc.channels > 1 else (height, width)
    strides = (step, enc.channels, 1) if enc.channels > 1 else (step, 1)
    # OpenCV takes rows with any step as they are: resizing or converting this view reads the
    # message's buffer directly, so nothing of the full size is copied.
    return np.ndarray(shape, np.uint8, data, 0, strides), enc, encoding


def _decode_raw(msg: Any, max_width: int, to_rgb: bool) -> DecodedImage:
    view, enc, encoding = _view(msg)
    height, width = view.shape[:2]
    code = enc.to_rgb if to_rgb else enc.to_bgr
    target = _target_size(width, height, max_width)
    if target is None:
        pixels = np.ascontiguousarray(view) if code is None else cv2.cvtColor(view, code)
    elif encoding in _PACKED_422:
        # Colour first (4:2:2 cannot be resized packed), on every k-th pixel pair of every k-th
        # row: the only copy is already k*k times smaller than the image.
        k = max(1, width // target[0])
        pairs = view.reshape(height, width // 2, 4)[::k, ::k]
        packed = np.ascontiguousarray(pairs).reshape(pairs.shape[0], pairs.shape[1] * 2, 2)
        pixels = cv2.resize(cv2.cvtColor(packed, code), target, interpolation=cv2.INTER_AREA)
    else:
        small = cv2.resize(view, target, interpolation=cv2.INTER_AREA)
        pixels = small if code is None else cv2.cvtColor(small, code)
    return DecodedImage(np.ascontiguousarray(pixels), width, height)


def image_to_rgb(msg: Any) -> np.ndarray:
    """sensor_msgs/Image -> HxWx3 uint8 RGB (C-contiguous), or ImageConversionError."""
    return _decode_raw(msg, 0, to_rgb=True).rgb


def image_to_bgr(msg: Any) -> np.ndarray:
    """sensor_msgs/Image -> HxWx3 uint8 BGR (C-contiguous), or ImageConversionError."""
    return _decode_raw(msg, 0, to_rgb=False).rgb


def compressed_size(data: bytes | np.ndarray) -> tuple[int, int] | None:
    """(width, height) from a JPEG's frame header or a PNG's IHDR, without decoding; None for
    other formats or a header that cannot be read."""
    head = bytes(data[:32]) if len(data) >= 24 else b""
    if head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR":
        return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
    if head[:2] != b"\xff\xd8":
        return None
    buf = memoryview(data if isinstance(data, bytes) else np.ascontiguousarray(data).data)
    pos = 2
    while pos + 9 < len(buf):  # segments: FF marker, 2-byte length (big endian), payload
        if buf[pos] != 0xFF:
            return None
        marker = buf[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:  # no length field
            pos += 2
            continue
        length = int.from_bytes(buf[pos + 2 : pos + 4], "big")
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):  # start of frame
            return int.from_bytes(buf[pos + 7 : pos + 9], "big"), int.from_bytes(
                buf[pos + 5 : pos + 7], "big"
            )
        pos += 2 + length
    return None


def _decode_compressed(msg: Any, max_width: int, to_rgb: bool) -> DecodedImage:
    data = np.frombuffer(msg.data, dtype=np.uint8)
    if data.size == 0:
        raise ImageConversionError("empty compressed image")
    size = compressed_size(data)
    flag = cv2.IMREAD_COLOR
    if size is not None:
        _check_size(*size, f"a compressed image ('{msg.format}')")
        target = _target_size(*size, max_width)
        if target is not None and bytes(data[:2]) == b"\xff\xd8":
            # libjpeg decodes at 1/2, 1/4 or 1/8 scale directly: no full-size buffer at all.
            for factor, reduced in (
                (8, cv2.IMREAD_REDUCED_COLOR_8),
                (4, cv2.IMREAD_REDUCED_COLOR_4),
                (2, cv2.IMREAD_REDUCED_COLOR_2),
            ):
                if size[0] // factor >= target[0]:
                    flag = reduced
                    break
    bgr = cv2.imdecode(data, flag)
    if bgr is None:
        raise ImageConversionError(
            f"could not decode compressed image (format '{msg.format}', {data.size} bytes)"
        )
    if size is None:
        size = (bgr.shape[1], bgr.shape[0])
        _check_size(*size, f"a compressed image ('{msg.format}')")
    elif size[0] != size[1] and (bgr.shape[1] > bgr.shape[0]) != (size[0] > size[1]):
        size = (size[1], size[0])  # EXIF orientation turned it
    width, height = size
    target = _target_size(bgr.shape[1], bgr.shape[0], max_width)
    if target is not None:
        bgr = cv2.resize(bgr, target, interpolation=cv2.INTER_AREA)
    pixels = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB) if to_rgb else bgr
    return DecodedImage(np.ascontiguousarray(pixels), int(width), int(height))


def compressed_to_bgr(msg: Any) -> np.ndarray:
    """sensor_msgs/CompressedImage (jpeg/png) -> HxWx3 uint8 BGR, or ImageConversionError."""
    return _decode_compressed(msg, 0, to_rgb=False).rgb


def compressed_to_rgb(msg: Any) -> np.ndarray:
    """sensor_msgs/CompressedImage (jpeg/png) -> HxWx3 uint8 RGB, or ImageConversionError."""
    return _decode_compressed(msg, 0, to_rgb=True).rgb


def is_compressed(msg: Any) -> bool:
    """A sensor_msgs/CompressedImage (it has ``format`` where an Image has ``encoding``)."""
    return hasattr(msg, "format") and not hasattr(msg, "encoding")


def decode_rgb(msg: Any, max_width: int = 0) -> DecodedImage:
    """Image or CompressedImage -> RGB at most ``max_width`` wide (0 = full size), downscaled
    while decoding (the pose node's and the direct evaluation's one decoder). Refuses sizes
    over MAX_IMAGE_PIXELS before decoding (ImageConversionError)."""
    if is_compressed(msg):
        return _decode_compressed(msg, max_width, to_rgb=True)
    return _decode_raw(msg, max_width, to_rgb=True)


def message_to_rgb(msg: Any) -> np.ndarray:
    """Image or CompressedImage -> HxWx3 uint8 RGB (what the pose estimator takes)."""
    return decode_rgb(msg).rgb


def message_to_bgr(msg: Any) -> np.ndarray:
    """Image or CompressedImage -> HxWx3 uint8 BGR (what OpenCV draws and writes)."""
    if is_compressed(msg):
        return _decode_compressed(msg, 0, to_rgb=False).rgb
    return _decode_raw(msg, 0, to_rgb=False).rgb


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
    return {
        "height": int(height),
        "width": int(width),
        "encoding": encoding,
        "is_bigendian": 0,
        "step": int(width * enc.channels),
        "data": pixels.reshape(-1),
    }


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
class PoseMessageError(ValueError):
    """A serialized pose array that cannot be read (truncated, impossible lengths)."""


@dataclass(frozen=True)
class PoseArray:
    """What the AcT node reads of a PersonPose2DArray: header, layout, the first people."""

    stamp_ns: int
    frame_id: str
    keypoint_layout: str
    track_ids: np.ndarray  # (n,) int64
    keypoints: np.ndarray  # (n, 17, 3) float32
    people_in_message: int  # n plus the people left unread (over the cap)

    @property
    def people_unread(self) -> int:
        return self.people_in_message - len(self.track_ids)


def pose_arrays(msg: Any) -> tuple[np.ndarray, np.ndarray]:
    """PersonPose2DArray -> (track_ids (N,) int64, keypoints (N, 17, 3) float32).

    A person whose keypoint array does not have 17 entries cannot exist on the wire (the array is
    fixed-size), so only values need checking, which the recognizer does.
    """
    return _people_arrays(msg.people)


def _people_arrays(people: Any) -> tuple[np.ndarray, np.ndarray]:
    ids = np.fromiter((p.track_id for p in people), dtype=np.int64, count=len(people))
    kp = np.array(
        [[(k.x, k.y, k.confidence) for k in p.keypoints] for p in people], dtype=np.float32
    ).reshape(len(people), NUM_KEYPOINTS, 3)
    return ids, kp


def read_pose_array(msg: Any, max_people: int | None = None) -> PoseArray:
    """A PersonPose2DArray message object -> PoseArray of its first ``max_people`` people (the
    others are counted, never converted)."""
    people = msg.people
    total = len(people)
    ids, kp = _people_arrays(people[:max_people] if max_people is not None else people)
    return PoseArray(header_stamp_ns(msg), str(msg.header.frame_id), str(msg.keypoint_layout), ids, kp, total)


# One PersonPose2D in CDR: track_id uint32, box 4 x float32, score float32, 17 x (x, y, c)
# float32: 228 bytes, every field 4-byte aligned, so the people follow each other at a fixed stride.
_PERSON_FIELDS = [
    ("track_id", "u4"),
    ("box", "f4", (4,)),
    ("score", "f4"),
    ("keypoints", "f4", (NUM_KEYPOINTS, 3)),
]
PERSON_CDR_SIZE = 4 + 16 + 4 + NUM_KEYPOINTS * 12


def _cdr_string(raw: memoryview, pos: int, endian: str) -> tuple[str, int]:
    if pos + 4 > len(raw):
        raise PoseMessageError("truncated pose message (string length)")
    n = int(np.frombuffer(raw, endian + "u4", 1, pos)[0])
    if n > len(raw) - pos - 4:
        raise PoseMessageError(f"truncated pose message (a string of {n} bytes)")
    text = bytes(raw[pos + 4 : pos + 4 + max(n - 1, 0)]).decode("utf-8", "replace")
    return text, (pos + 4 + n + 3) // 4 * 4


def read_pose_array_cdr(raw: bytes | memoryview, max_people: int | None = None) -> PoseArray | None:
    """A serialized PersonPose2DArray (plain CDR, as ROS 2 sends it) -> PoseArray of its first
    ``max_people`` people, read straight from the bytes: a message of 50,000 people costs no more
    than one of ``max_people`` (rclpy would build 900,000 Python objects first). None for another
    encapsulation (e.g. XCDR2): deserialize those normally. PoseMessageError when truncated."""
    raw = memoryview(raw).cast("B")
    if len(raw) < 12:
        raise PoseMessageError(f"pose message too short ({len(raw)} bytes)")
    if raw[0] != 0 or raw[1] not in (0, 1):
        return None  # not CDR_BE / CDR_LE
    endian = "<" if raw[1] == 1 else ">"
    sec, nanosec = np.frombuffer(raw, endian + "i4", 1, 4)[0], np.frombuffer(raw, endian + "u4", 1, 8)[0]
    frame_id, pos = _cdr_string(raw, 12, endian)
    pos += 8  # image_width, image_height
    layout, pos = _cdr_string(raw, pos, endian)
    if pos + 4 > len(raw):
        raise PoseMessageError("truncated pose message (people count)")
    total = int(np.frombuffer(raw, endian + "u4", 1, pos)[0])
    pos += 4
    if total * PERSON_CDR_SIZE > len(raw) - pos:
        raise PoseMessageError(
            f"truncated pose message: {total} people announced, bytes for "
            f"{(len(raw) - pos) // PERSON_CDR_SIZE}"
        )
    n = total if max_people is None else min(total, max_people)
    dtype = np.dtype([(f[0], endian + f[1], *f[2:]) for f in _PERSON_FIELDS])
    people = np.frombuffer(raw, dtype, n, pos)
    return PoseArray(
        int(sec) * 1_000_000_000 + int(nanosec),
        frame_id,
        layout,
        people["track_id"].astype(np.int64),
        people["keypoints"].astype(np.float32).reshape(n, NUM_KEYPOINTS, 3),
        total,
    )


def pose_detections(msg: Any) -> PoseDetections:
    """PersonPose2DArray -> PoseDetections (boxes, scores, IDs), e.g. to draw it."""
    ids, kp = pose_arrays(msg)
    boxes = np.array(
        [[p.box_x_min, p.box_y_min, p.box_x_max, p.box_y_max] for p in msg.people], np.float32
    ).reshape(-1, 4)
    scores = np.array([p.score for p in msg.people], np.float32)
    return PoseDetections(kp, boxes, scores, ids.astype(np.uint32))


def box_centers(msg: Any) -> list[tuple[float, float]]:
    """Each person's box centre as fractions of the image width and height."""
    w, h = max(int(msg.image_width), 1), max(int(msg.image_height), 1)
    return [((p.box_x_min + p.box_x_max) / 2 / w, (p.box_y_min + p.box_y_max) / 2 / h) for p in msg.people]
