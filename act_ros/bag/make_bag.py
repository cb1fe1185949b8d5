"""`act-ros make-bag`: a labelled ROS 2 bag from a video (images) or a pose dataset (pose arrays).

Video: ``image_raw`` (sensor_msgs/Image) or ``image_raw/compressed`` (CompressedImage) at the
video's own frame times, plus ``ground_truth/actions`` (PersonActionArray, one per frame, same
header stamp, track_id 0 = every person) built from a labels CSV (see ``labels.py``).

Pose dataset: ``human_poses`` (PersonPose2DArray) plus ground truth, to evaluate the AcT node
alone. Each contiguous segment of the dataset becomes one person with its own track ID.

The bag's receive timestamps equal the header stamps, so ``ros2 bag play`` replays at the
recorded rate. Written with rosbags (MCAP by default, sqlite3 on request).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from act_ros.bag.bag_io import BagError, open_writer
from act_ros.bag.images import compressed_msg, header, image_msg
from act_ros.bag.labels import CLASSES_HINT, Labels, LabelsError, load_labels
from act_ros.bag.pose_datasets import PoseSequence, load_sequences
from act_ros.bag.types import (
    ACTION_ARRAY_TYPE,
    COMPRESSED_IMAGE_TYPE,
    IMAGE_TYPE,
    POSE_ARRAY_TYPE,
    typestore,
)
from act_ros.layouts import NUM_KEYPOINTS
from act_ros.messages import (
    COMPRESSED_FORMATS,
    COMPRESSED_IMAGE_TOPIC,
    GROUND_TRUTH_TOPIC,
    IMAGE_TOPIC,
    KEYPOINT_LAYOUT,
    POSES_TOPIC,
    WRITABLE_ENCODINGS,
)
from act_ros.recognizer import UNKNOWN_LABEL


# --- ground truth ------------------------------------------------------------------------------
def ground_truth_msg(
    stamp_ns: int, frame_id: str, class_names: Sequence[str], actions: Sequence[tuple[int, str]]
) -> object:
    """A ground-truth PersonActionArray: confidence 1, empty scores, track 0 = everyone."""
    store = typestore()
    PersonAction = store.types["act_ros/msg/PersonAction"]
    PersonActionArray = store.types[ACTION_ARRAY_TYPE]
    index = {name: i for i, name in enumerate(class_names)}
    return PersonActionArray(
        header=header(stamp_ns, frame_id),
        class_names=list(class_names),
        actions=[
            PersonAction(
                track_id=int(track),
                label_index=index.get(label, -1),
                label=label,
                confidence=1.0,
                scores=np.zeros(0, dtype=np.float32),
                window_frames=0,
                window_length=0,
            )
            for track, label in actions
        ],
    )


# --- class names -------------------------------------------------------------------------------
def class_names_from_model(model: str | Path) -> list[str]:
    """Class names from a model's description (``model.tflite`` with its ``model.json``)."""
    from act_ros.model_spec import load_model_spec

    return list(load_model_spec(Path(model).with_suffix(".tflite")).class_names)


def default_class_names() -> list[str] | None:
    """The default model's classes (the AcT node's default ``model_size``), or None when it is
    not installed."""
    from act_ros.parameters import ACT_NODE_PARAMETERS
    from act_ros.runtime import shipped_model_path

    size = next(p.default for p in ACT_NODE_PARAMETERS if p.name == "model_size")
    try:
        return class_names_from_model(shipped_model_path(size))
    except FileNotFoundError:
        return None


def resolve_class_names(classes: str | None, model: str | None, labels: Labels | None) -> list[str]:
    if classes:
        names = [c.strip() for c in classes.split(",") if c.strip()]
        if len(set(names)) != len(names):
            raise ValueError(f"--classes has repeated names: {classes}")
        return names
    if model:
        return class_names_from_model(model)
    names = default_class_names()
    if names:
        return names
    if labels is not None:
        print(
            "make-bag: no model description found; using the labels file's names as the class list",
            file=sys.stderr,
        )
        return labels.label_names
    raise ValueError("cannot tell the class names: pass --classes or --model")


# --- video -> bag ------------------------------------------------------------------------------
@dataclass
class VideoFrame:
    index: int
    time_s: float  # from the first frame
    bgr: np.ndarray


def read_video(
    path: str | Path, *, width: int | None = None, start_frame: int = 0, max_frames: int | None = None
) -> tuple[float, int, Iterator[VideoFrame]]:
    """(fps, frame count, frames). Frame times come from the container (falls back to i/fps)."""
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise ValueError(f"OpenCV cannot open the video {path}")
    fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
    if not np.isfinite(fps) or fps <= 0:
        cap.release()
        raise ValueError(f"{path}: the video does not state a frame rate")
    count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
    total = max(0, count - start_frame)
    if max_frames is not None:
        total = min(total, max_frames)

    def frames() -> Iterator[VideoFrame]:
        first_ms: float | None = None
        last_t = -1.0
        index = 0
        emitted = 0
        try:
            while max_frames is None or emitted < max_frames:
                ok, bgr = cap.read()
                if not ok:
                    break
                pos_ms = float(cap.get(cv2.CAP_PROP_POS_MSEC))
                if index < start_frame:
                    index += 1
                    continue
                if first_ms is None:
                    first_ms = pos_ms
                t = (pos_ms - first_ms) / 1000.0
                # Some containers report no or non-increasing times: use the nominal rate then.
                nominal = (index - start_frame) / fps
                if not np.isfinite(t) or t <= last_t or (t == 0 and index > start_frame):
                    t = nominal
                last_t = t
                if width and bgr.shape[1] != width:
                    height = int(round(bgr.shape[0] * width / bgr.shape[1]))
                    bgr = cv2.resize(bgr, (width, height), interpolation=cv2.INTER_AREA)
                yield VideoFrame(index, t, bgr)
                index += 1
                emitted += 1
        finally:
            cap.release()

    return fps, total, frames()


def write_video_bag(
    video: str | Path,
    labels: Labels,
    output: str | Path,
    class_names: Sequence[str],
    *,
    storage: str = "mcap",
    compressed: str | None = None,
    encoding: str = "bgr8",
    width: int | None = None,
    start_time_ns: int | None = None,
    frame_id: str = "camera",
    start_frame: int = 0,
    max_frames: int | None = None,
    jpeg_quality: int = 90,
    version: int = 8,
    progress: bool = True,
) -> dict:
    """Write a labelled image bag; returns a summary (frames, labelled frames, topics...)."""
    from tqdm import tqdm

    labels.check_classes(list(class_names))
    fps, total, frames = read_video(video, width=width, start_frame=start_frame, max_frames=max_frames)
    t0 = int(time.time() * 1e9) if start_time_ns is None else int(start_time_ns)
    image_topic = COMPRESSED_IMAGE_TOPIC if compressed else IMAGE_TOPIC
    image_type = COMPRESSED_IMAGE_TYPE if compressed else IMAGE_TYPE
    n = labelled = 0
    size = (0, 0)
    with open_writer(output, storage=storage, version=version) as bag:
        bag.add_topic(image_topic, image_type)
        bag.add_topic(GROUND_TRUTH_TOPIC, ACTION_ARRAY_TYPE)
        bag.set_custom_data("act_ros.source", Path(video).name)
        bag.set_custom_data("act_ros.labels", Path(labels.source).name)
        if labels.people is not None:
            bag.set_custom_data("act_ros.ground_truth_people", str(labels.people))
        for frame in tqdm(frames, total=total or None, desc="make-bag", unit="frame", disable=not progress):
            stamp = t0 + int(round(frame.time_s * 1e9))
            if compressed:
                msg = compressed_msg(frame.bgr, stamp, frame_id, compressed, jpeg_quality)
            else:
                msg = image_msg(frame.bgr, stamp, frame_id, encoding)
            actions = labels.at(frame.time_s)
            bag.write(image_topic, stamp, msg)
            bag.write(GROUND_TRUTH_TOPIC, stamp, ground_truth_msg(stamp, frame_id, class_names, actions))
            n += 1
            labelled += bool(actions)
            size = (frame.bgr.shape[1], frame.bgr.shape[0])
    if n == 0:
        raise ValueError(f"{video}: no frames could be read")
    return {
        "frames": n,
        "labelled_frames": labelled,
        "fps": fps,
        "image_topic": "/" + image_topic,
        "image_type": image_type,
        "size": size,
        "start_time_ns": t0,
        "output": str(output),
    }


# --- pose dataset -> bag -----------------------------------------------------------------------
def write_pose_bag(
    sequences: Sequence[PoseSequence],
    output: str | Path,
    class_names: Sequence[str],
    *,
    fps: float,
    image_size: tuple[int, int],
    storage: str = "mcap",
    start_time_ns: int | None = None,
    frame_id: str = "camera",
    version: int = 8,
    progress: bool = True,
) -> dict:
    """Write pose arrays (sequence i -> track i+1, played one after the other) + ground truth."""
    from tqdm import tqdm

    store = typestore()
    Keypoint2D = store.types["act_ros/msg/Keypoint2D"]
    PersonPose2D = store.types["act_ros/msg/PersonPose2D"]
    PersonPose2DArray = store.types[POSE_ARRAY_TYPE]
    known = set(class_names) | {UNKNOWN_LABEL}
    for i, seq in enumerate(sequences):
        kp = np.asarray(seq.keypoints)
        if kp.ndim != 3 or kp.shape[1:] != (NUM_KEYPOINTS, 3):
            raise ValueError(f"sequence {i}: keypoints must be (F, 17, 3), got {kp.shape}")
        if len(seq.labels) != kp.shape[0]:
            raise ValueError(f"sequence {i}: {kp.shape[0]} frames but {len(seq.labels)} labels")
        if not np.all(np.isfinite(kp)):
            raise ValueError(f"sequence {i}: keypoints contain NaN or inf")
        bad = sorted(set(seq.labels) - known)
        if bad:
            raise LabelsError(
                f"sequence {i}: unknown label name(s) {bad}; classes: {list(class_names)}. {CLASSES_HINT}"
            )
    t0 = int(time.time() * 1e9) if start_time_ns is None else int(start_time_ns)
    period = 1e9 / fps
    width, height = image_size
    total = sum(len(s.labels) for s in sequences)
    n = 0
    with open_writer(output, storage=storage, version=version) as bag:
        bag.add_topic(POSES_TOPIC, POSE_ARRAY_TYPE)
        bag.add_topic(GROUND_TRUTH_TOPIC, ACTION_ARRAY_TYPE)
        bag.set_custom_data("act_ros.ground_truth_people", str(len(sequences)))
        with tqdm(total=total, desc="make-bag", unit="frame", disable=not progress) as bar:
            for track, seq in enumerate(sequences, start=1):
                for frame_kp, label in zip(np.asarray(seq.keypoints, dtype=np.float32), seq.labels):
                    stamp = t0 + int(round(n * period))
                    present = frame_kp[:, 2] > 0
                    pts = frame_kp[present, :2]
                    box = (pts.min(0).tolist() + pts.max(0).tolist()) if len(pts) else [0.0] * 4
                    person = PersonPose2D(
                        track_id=track,
                        box_x_min=box[0],
                        box_y_min=box[1],
                        box_x_max=box[2],
                        box_y_max=box[3],
                        score=float(frame_kp[present, 2].mean()) if len(pts) else 0.0,
                        keypoints=[
                            Keypoint2D(x=float(x), y=float(y), confidence=float(c)) for x, y, c in frame_kp
                        ],
                    )
                    msg = PersonPose2DArray(
                        header=header(stamp, frame_id),
                        image_width=width,
                        image_height=height,
                        keypoint_layout=KEYPOINT_LAYOUT,
                        people=[person],
                    )
                    bag.write(POSES_TOPIC, stamp, msg)
                    bag.write(
                        GROUND_TRUTH_TOPIC,
                        stamp,
                        ground_truth_msg(stamp, frame_id, class_names, [(track, label)]),
                    )
                    n += 1
                    bar.update()
    return {
        "frames": n,
        "tracks": len(sequences),
        "fps": fps,
        "pose_topic": "/" + POSES_TOPIC,
        "start_time_ns": t0,
        "output": str(output),
    }


# --- CLI ---------------------------------------------------------------------------------------
POSE_DATASET_SUFFIXES = {".csv", ".npz"}
# Raw image bags larger than this get a warning with the compressed alternative.
RAW_BAG_WARNING_BYTES = 256 * 2**20


def is_video(path: Path) -> bool:
    """Anything OpenCV can read a frame of (mp4, mkv, gif, an image sequence...), as
    `act-ros run --source` takes it; pose datasets (.csv, .npz) never."""
    if path.suffix.lower() in POSE_DATASET_SUFFIXES:
        return False
    cap = cv2.VideoCapture(str(path))
    try:
        return cap.isOpened() and cap.read()[0]
    finally:
        cap.release()


def raw_size_warning(video: Path, width: int | None, max_frames: int | None) -> str | None:
    """A warning when the raw-image bag of ``video`` will be large, with what to do instead."""
    cap = cv2.VideoCapture(str(video))
    try:
        w, h = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        frames = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
    finally:
        cap.release()
    if width and w:
        w, h = width, round(h * width / w)
    frames = min(frames, max_frames) if max_frames else frames
    size = w * h * 3 * frames
    if size <= RAW_BAG_WARNING_BYTES:
        return None
    return (
        f"raw images: this bag will take ~{size / 2**20:,.0f} MB ({frames} frames of {w}x{h}; "
        f"the video is {video.stat().st_size / 2**20:,.1f} MB). --compressed jpeg writes "
        f"about a tenth of that (the pose node then decodes JPEG, as with a compressed "
        f"camera topic), --width 640 a fraction of it"
    )


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="act-ros make-bag",
        description="Write a labelled ROS 2 bag (MCAP or sqlite3) from a video and a labels CSV, "
        "or from a pose dataset file (pose arrays, to evaluate the AcT node alone).",
    )
    p.add_argument(
        "source",
        help="a video (any file OpenCV reads: mp4, mkv, avi, gif, ...), or "
        "a pose dataset (.csv LZQ export or .npz)",
    )
    p.add_argument("-o", "--output", required=True, help="bag folder to create (must not exist)")
    p.add_argument("--labels", help="labels CSV (start,end,label[,track_id]); required for a video")
    p.add_argument("--storage", choices=("mcap", "sqlite3"), default="mcap")
    p.add_argument(
        "--bag-version",
        type=int,
        choices=(8, 9),
        default=8,
        help="rosbag2 metadata version (8: Jazzy and newer read it; 9: Kilted)",
    )
    p.add_argument("--classes", help="comma-separated class names of the model to evaluate")
    p.add_argument("--model", help="model (.tflite with its .json description) whose classes to use")
    p.add_argument(
        "--compressed",
        choices=COMPRESSED_FORMATS,
        help="write sensor_msgs/CompressedImage on image_raw/compressed (about a tenth "
        "of the raw size; default: raw sensor_msgs/Image, the pixels exactly as "
        "decoded, which a camera driver's image_raw carries)",
    )
    p.add_argument("--encoding", choices=WRITABLE_ENCODINGS, default="bgr8", help="raw image encoding")
    p.add_argument("--jpeg-quality", type=int, default=90)
    p.add_argument("--width", type=int, help="resize frames to this width (keeps aspect ratio)")
    p.add_argument("--start-frame", type=int, default=0)
    p.add_argument("--max-frames", type=int)
    p.add_argument(
        "--start-time", type=float, help="stamp of the first frame, seconds since the epoch (default: now)"
    )
    p.add_argument("--frame-id", default="camera")
    p.add_argument(
        "--fps", type=float, help="pose datasets: frame rate to stamp at (default: the dataset's, else 10)"
    )
    p.add_argument(
        "--split", choices=("train", "val", "test"), help=".npz pose datasets: only the samples of this split"
    )
    p.add_argument(
        "--image-size", default="640x480", help="pose datasets: WxH the [0,1] coordinates are scaled to"
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    source = Path(args.source)
    start_ns = None if args.start_time is None else int(round(args.start_time * 1e9))
    try:
        if not source.is_file():
            raise FileNotFoundError(f"no such file: {source}")
        if source.suffix.lower() not in POSE_DATASET_SUFFIXES and not is_video(source):
            raise ValueError(
                f"{source} is neither a video OpenCV can read nor a pose dataset (.csv LZQ export, .npz)"
            )
        if source.suffix.lower() not in POSE_DATASET_SUFFIXES:
            if not args.labels:
                raise LabelsError("a video needs --labels LABELS.csv")
            warning = None if args.compressed else raw_size_warning(source, args.width, args.max_frames)
            if warning:
                print(f"act-ros make-bag: warning: {warning}", file=sys.stderr)
            fps = cv2.VideoCapture(str(source)).get(cv2.CAP_PROP_FPS) or None
            labels = load_labels(args.labels, fps=fps)
            names = resolve_class_names(args.classes, args.model, labels)
            summary = write_video_bag(
                source,
                labels,
                args.output,
                names,
                storage=args.storage,
                compressed=args.compressed,
                encoding=args.encoding,
                width=args.width,
                start_time_ns=start_ns,
                frame_id=args.frame_id,
                start_frame=args.start_frame,
                max_frames=args.max_frames,
                jpeg_quality=args.jpeg_quality,
                version=args.bag_version,
                progress=not args.quiet,
            )
        else:
            w, _, h = args.image_size.partition("x")
            size = (int(w), int(h))
            sequences, dataset_classes, dataset_fps = load_sequences(
                source, image_size=size, split=args.split
            )
            names = (
                resolve_class_names(args.classes, args.model, None)
                if (args.classes or args.model)
                else dataset_classes
            )
            if args.max_frames:
                sequences = _truncate(sequences, args.max_frames)
            fps = args.fps or dataset_fps or 10.0
            summary = write_pose_bag(
                sequences,
                args.output,
                names,
                fps=fps,
                image_size=size,
                storage=args.storage,
                start_time_ns=start_ns,
                frame_id=args.frame_id,
                version=args.bag_version,
                progress=not args.quiet,
            )
    except (LabelsError, BagError, ValueError, FileNotFoundError, FileExistsError) as exc:
        print(f"act-ros make-bag: error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(summary, indent=2))
    return 0


def _truncate(sequences: list[PoseSequence], max_frames: int) -> list[PoseSequence]:
    out, left = [], max_frames
    for seq in sequences:
        if left <= 0:
            break
        k = min(left, len(seq.labels))
        out.append(PoseSequence(seq.keypoints[:k], seq.labels[:k]))
        left -= k
    return out


if __name__ == "__main__":
    sys.exit(main())
