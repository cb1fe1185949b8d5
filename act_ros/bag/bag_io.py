"""Reading and writing act_ros bags with rosbags, with errors a user can act on.

A bag to evaluate holds one *input* topic (camera images, or pose arrays to evaluate the AcT node
alone) and a ground-truth topic (``ground_truth/actions``, PersonActionArray, one message per
input frame with the same header stamp). :func:`inspect_bag` reads the whole bag once, before
any node starts, so a corrupted or truncated bag fails early with a clear message.
"""

from __future__ import annotations

import sqlite3
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rosbags.rosbag2 import Reader, ReaderError, StoragePlugin, Writer, WriterError

from act_ros.bag.types import (
    ACTION_ARRAY_TYPE,
    COMPRESSED_IMAGE_TYPE,
    IMAGE_TYPE,
    POSE_ARRAY_TYPE,
    is_known_type,
    typestore,
)
from act_ros.messages import GROUND_TRUTH_TOPIC, split_ns, stamp_to_ns

INPUT_TYPES = (IMAGE_TYPE, COMPRESSED_IMAGE_TYPE, POSE_ARRAY_TYPE)
STORAGES = {"mcap": StoragePlugin.MCAP, "sqlite3": StoragePlugin.SQLITE3}


class BagError(RuntimeError):
    """A bag that cannot be evaluated: unreadable, corrupted, truncated, or missing topics."""


def is_bag_path(path: str | Path) -> bool:
    """A rosbag2 folder (with metadata.yaml) or a single .mcap / .db3 file."""
    p = Path(path)
    return (p.is_dir() and (p / "metadata.yaml").is_file()) or (p.is_file() and p.suffix in (".mcap", ".db3"))


def normalize_topic(topic: str) -> str:
    """Bags store absolute names; relative names the nodes use map to the root namespace."""
    return topic if topic.startswith("/") else "/" + topic


# --- writing -----------------------------------------------------------------------------------
class BagWriter:
    """Writes rosbags message objects to named topics (CDR, with their type definitions)."""

    def __init__(self, writer: Writer) -> None:
        self._writer = writer
        self._connections: dict[str, Any] = {}
        self._types: dict[str, str] = {}

    def add_topic(self, topic: str, msgtype: str) -> None:
        topic = normalize_topic(topic)
        self._connections[topic] = self._writer.add_connection(topic, msgtype, typestore=typestore())
        self._types[topic] = msgtype

    def write(self, topic: str, timestamp_ns: int, msg: Any) -> None:
        topic = normalize_topic(topic)
        data = typestore().serialize_cdr(msg, self._types[topic])
        self._writer.write(self._connections[topic], int(timestamp_ns), data)

    def set_custom_data(self, key: str, value: str) -> None:
        self._writer.set_custom_data(key, value)


@contextmanager
def open_writer(path: str | Path, storage: str = "mcap", version: int = 8) -> Iterator[BagWriter]:
    """A new bag folder at ``path`` (must not exist). Version 8 is read by Jazzy and newer."""
    if storage not in STORAGES:
        raise ValueError(f"unknown storage {storage!r}; choose one of {sorted(STORAGES)}")
    path = Path(path)
    if path.exists():
        raise FileExistsError(f"{path} exists already; choose another output path or remove it")
    try:
        writer = Writer(path, version=version, storage_plugin=STORAGES[storage])
    except WriterError as exc:
        raise BagError(str(exc)) from None
    writer.open()
    try:
        yield BagWriter(writer)
    except BaseException:
        writer.close()
        raise
    writer.close()


# --- reading -----------------------------------------------------------------------------------
def cdr_stamp_ns(raw: bytes | memoryview) -> int:
    """The header stamp of a serialized message whose first field is a std_msgs/Header.

    CDR: 4-byte encapsulation header, then int32 sec and uint32 nanosec (little or big endian
    as the encapsulation says). Reading it from the bytes avoids deserializing whole images.
    """
    if len(raw) < 12:
        raise BagError(f"message too short ({len(raw)} bytes) to hold a header")
    endian = "<" if raw[1] & 1 else ">"
    sec, nanosec = struct.unpack_from(endian + "iI", raw, 4)
    return sec * 1_000_000_000 + nanosec


def with_cdr_stamp(raw: bytes, stamp_ns: int) -> bytes:
    """The serialized message with its header stamp replaced (the inverse of cdr_stamp_ns)."""
    endian = "<" if raw[1] & 1 else ">"
    buf = bytearray(raw)
    struct.pack_into(endian + "iI", buf, 4, *split_ns(stamp_ns))
    return bytes(buf)


@dataclass
class GroundTruthFrame:
    """Ground truth for one frame: ``actions`` maps track_id (0 = everyone) -> label."""

    stamp_ns: int
    actions: dict[int, str]
    class_names: list[str]


@dataclass
class BagInfo:
    """What :func:`inspect_bag` found in a bag."""

    path: Path
    storage: str
    input_topic: str
    input_type: str
    frame_stamps: list[int]  # header stamps of the input messages, in bag order
    frame_times: list[int]  # bag (receive) timestamps of the input messages
    ground_truth: list[GroundTruthFrame]
    topics: dict[str, str]  # every topic -> type
    message_count: int
    custom_data: dict[str, str] = field(default_factory=dict)

    @property
    def n_frames(self) -> int:
        return len(self.frame_stamps)

    @property
    def duration_s(self) -> float:
        return (self.frame_times[-1] - self.frame_times[0]) / 1e9 if len(self.frame_times) > 1 else 0.0

    @property
    def is_pose_bag(self) -> bool:
        return self.input_type == POSE_ARRAY_TYPE

    @property
    def class_names(self) -> list[str]:
        for frame in self.ground_truth:
            if frame.class_names:
                return list(frame.class_names)
        return []


def _open_reader(path: Path) -> Reader:
    if not path.exists():
        raise BagError(f"bag not found: {path}")
    if path.is_dir() and not (path / "metadata.yaml").is_file():
        raise BagError(f"{path} is a folder without metadata.yaml: not a ROS 2 bag")
    try:
        reader = Reader(path)
        reader.open()
    except (
        ReaderError,
        FileNotFoundError,
        OSError,
        sqlite3.DatabaseError,
        struct.error,
        ValueError,
        KeyError,
    ) as exc:
        raise BagError(f"cannot open bag {path}: it is corrupted, truncated or not a bag ({exc})") from None
    return reader


def _storage_of(path: Path) -> str:
    files = [path] if path.is_file() else list(path.iterdir())
    return "sqlite3" if any(f.suffix == ".db3" for f in files) else "mcap"


def _pick_input_topic(topics: dict[str, str], requested: str | None) -> tuple[str, str]:
    listing = ", ".join(f"{t} [{ty}]" for t, ty in sorted(topics.items())) or "none"
    if requested:
        topic = normalize_topic(requested)
        if topic not in topics:
            raise BagError(f"the bag has no topic {topic}; its topics: {listing}")
        if topics[topic] not in INPUT_TYPES:
            raise BagError(
                f"topic {topic} has type {topics[topic]}, which cannot be replayed into the nodes; "
                f"expected one of {', '.join(INPUT_TYPES)}"
            )
        return topic, topics[topic]
    for msgtype in INPUT_TYPES:  # images first: the whole pipeline; pose arrays: AcT node only
        found = sorted(t for t, ty in topics.items() if ty == msgtype)
        if len(found) > 1:
            raise BagError(f"several {msgtype} topics ({', '.join(found)}): choose one with --input-topic")
        if found:
            return found[0], msgtype
    unknown = sorted(f"{t} [{ty}]" for t, ty in topics.items() if not is_known_type(ty))
    hint = f"; unknown message type(s): {', '.join(unknown)}" if unknown else ""
    raise BagError(
        f"the bag has no input topic of type {', '.join(INPUT_TYPES)} (its topics: {listing}){hint}"
    )


def inspect_bag(
    path: str | Path,
    *,
    input_topic: str | None = None,
    ground_truth_topic: str = GROUND_TRUTH_TOPIC,
    require_ground_truth: bool = True,
) -> BagInfo:
    """Read a whole bag once: input frames' stamps and every ground-truth message.

    Raises :class:`BagError` for unreadable, corrupted or truncated bags, a missing input or
    ground-truth topic, a topic of an unexpected or unknown type, and ground truth whose stamps
    match no input frame.
    """
    path = Path(path)
    reader = _open_reader(path)
    try:
        topics = {c.topic: c.msgtype for c in reader.connections}
        in_topic, in_type = _pick_input_topic(topics, input_topic)
        gt_topic = normalize_topic(ground_truth_topic)
        if gt_topic in topics and topics[gt_topic] != ACTION_ARRAY_TYPE:
            raise BagError(
                f"ground-truth topic {gt_topic} has type {topics[gt_topic]}; expected {ACTION_ARRAY_TYPE}"
            )
        if require_ground_truth and gt_topic not in topics:
            raise BagError(
                f"the bag has no ground-truth topic {gt_topic} ({ACTION_ARRAY_TYPE}); make one with "
                f"`act-ros make-bag VIDEO --labels LABELS.csv`"
            )
        wanted = [c for c in reader.connections if c.topic in (in_topic, gt_topic)]
        stamps: list[int] = []
        times: list[int] = []
        ground_truth: list[GroundTruthFrame] = []
        count = 0
        try:
            for conn, timestamp, raw in reader.messages(connections=wanted):
                count += 1
                if conn.topic == in_topic:
                    stamps.append(cdr_stamp_ns(raw))
                    times.append(timestamp)
                else:
                    msg = typestore().deserialize_cdr(raw, ACTION_ARRAY_TYPE)
                    ground_truth.append(
                        GroundTruthFrame(
                            stamp_to_ns(msg.header.stamp),
                            {int(a.track_id): str(a.label) for a in msg.actions},
                            [str(c) for c in msg.class_names],
                        )
                    )
        except BagError:
            raise
        except Exception as exc:  # rosbags, sqlite, zstd and struct errors all mean a damaged bag
            raise BagError(
                f"bag {path} is corrupted or truncated: reading failed after {count} messages "
                f"({type(exc).__name__}: {exc})"
            ) from None
        expected = sum(c.msgcount for c in wanted)
        if expected and count < expected:
            raise BagError(
                f"bag {path} is truncated: its index lists {expected} messages on "
                f"{in_topic} and {gt_topic}, only {count} could be read"
            )
        if not stamps:
            raise BagError(f"the bag has no messages on its input topic {in_topic}")
        if len(set(stamps)) != len(stamps):
            raise BagError(
                f"input topic {in_topic} has repeated header stamps: frames cannot be "
                f"matched to results by stamp"
            )
        if ground_truth:
            frame_set = set(stamps)
            orphans = [g.stamp_ns for g in ground_truth if g.stamp_ns not in frame_set]
            if len(orphans) == len(ground_truth):
                raise BagError(
                    f"no ground-truth stamp on {gt_topic} matches an input frame stamp on {in_topic}"
                )
        custom = getattr(getattr(reader.storage, "metadata", None), "custom", None) or {}
        return BagInfo(
            path,
            _storage_of(path),
            in_topic,
            in_type,
            stamps,
            times,
            ground_truth,
            topics,
            reader.message_count,
            {k: str(v) for k, v in custom.items()},
        )
    finally:
        reader.close()


def iter_raw(path: str | Path, topic: str) -> Iterator[tuple[int, bytes]]:
    """``(bag timestamp ns, serialized bytes)`` of one topic's messages, in bag order."""
    reader = _open_reader(Path(path))
    try:
        conns = [c for c in reader.connections if c.topic == normalize_topic(topic)]
        if not conns:
            raise BagError(f"the bag has no topic {topic}")
        try:
            for _, timestamp, raw in reader.messages(connections=conns):
                yield timestamp, bytes(raw)
        except BagError:
            raise
        except Exception as exc:
            raise BagError(f"bag {path} is corrupted or truncated ({type(exc).__name__}: {exc})") from None
    finally:
        reader.close()


def iter_messages(path: str | Path, topic: str, msgtype: str) -> Iterator[tuple[int, Any]]:
    """``(bag timestamp ns, deserialized rosbags message)`` of one topic."""
    for timestamp, raw in iter_raw(path, topic):
        yield timestamp, typestore().deserialize_cdr(raw, msgtype)
