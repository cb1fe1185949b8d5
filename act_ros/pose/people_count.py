"""Hand-counted people on real footage, and how many of them a pose backend finds (ROS-free).

The labels (``act_ros/data/multi_person_labels.json``) list, per scene (a video or a still from a
registry package, see :mod:`act_ros.data.footage`), labelled frames with the number of people
present and a box around each of them, drawn by hand on candidate boxes (see
``benchmarks/pose_recall.py --candidates``). A backend runs over every frame of a video from
its start up to the last labelled frame (VIDEO mode, stamps at the clip's frame rate: trackers
see what a node would see) and its people on the labelled frames are matched to the boxes:

* a found person is a pose whose box overlaps a labelled box (IoU >= ``MATCH_IOU``) or whose
  centre lies inside it; each labelled box takes at most one pose (greedy, best overlap first);
* a false positive is a pose that matches no labelled box, and no ``partial`` box either
  (people mostly hidden or outside the image: finding them is neither required nor wrong).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from act_ros.pose.base import PoseDetections
from act_ros.pose.boxes import box_iou

LABELS_PATH = Path(__file__).resolve().parents[1] / "data" / "multi_person_labels.json"
MATCH_IOU = 0.3


@dataclass(frozen=True)
class LabelledFrame:
    index: int
    people: int
    boxes: np.ndarray  # (people, 4) x_min, y_min, x_max, y_max, pixels of the source frame
    partial: np.ndarray  # (P, 4) people mostly hidden or outside the image


@dataclass(frozen=True)
class Scene:
    name: str
    group: str  # the row of the recall table
    source: str  # how to fetch it: "opencv-doc:<file>", "pose2sim:<camera>", "bundled:<file>"
    still: bool
    frames: tuple[LabelledFrame, ...]

    def path(self) -> Path:
        from act_ros.data import demo_video_path, footage

        kind, _, name = self.source.partition(":")
        if kind == "opencv-doc":
            return footage.opencv_doc_file(name)
        if kind == "pose2sim":
            return footage.pose2sim_video(int(name))
        if kind == "bundled" and name == "sports2d_demo.mp4":
            return demo_video_path()
        raise ValueError(f"scene {self.name}: unknown source {self.source!r}")


def load_scenes(path: Path = LABELS_PATH) -> list[Scene]:
    data = json.loads(Path(path).read_text())
    scenes = []
    for name, s in data["scenes"].items():
        frames = []
        for index, f in sorted(s["frames"].items(), key=lambda kv: int(kv[0])):
            boxes = np.asarray(f.get("boxes", []), np.float32).reshape(-1, 4)
            if len(boxes) != int(f["people"]):
                raise ValueError(
                    f"{path}: scene {name} frame {index}: {f['people']} people but {len(boxes)} boxes"
                )
            partial = np.asarray(f.get("partial", []), np.float32).reshape(-1, 4)
            frames.append(LabelledFrame(int(index), int(f["people"]), boxes, partial))
        scenes.append(Scene(name, s["group"], s["source"], bool(s.get("still", False)), tuple(frames)))
    return scenes


def iter_frames(scene: Scene, last: int | None = None) -> Iterator[tuple[int, float, np.ndarray]]:
    """``(index, fps, rgb)`` of every frame from 0 to the last labelled one (a still: once)."""
    path = scene.path()
    if scene.still:
        bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if bgr is None:
            raise RuntimeError(f"OpenCV cannot read {path}")
        yield 0, 1.0, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        return
    last = max(f.index for f in scene.frames) if last is None else last
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise RuntimeError(f"OpenCV cannot open {path}")
    fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
    try:
        for index in range(last + 1):
            ok, bgr = cap.read()
            if not ok:
                raise RuntimeError(f"{path} ended at frame {index}, labels go to {last}")
            yield index, fps, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    finally:
        cap.release()


def run_on_scene(
    scene: Scene,
    estimate: Callable[[np.ndarray, int], PoseDetections],
    on_frame: Callable[[int, np.ndarray, PoseDetections], None] | None = None,
) -> dict[int, PoseDetections]:
    """The detections on the labelled frames; ``estimate`` sees every frame up to the last."""
    wanted = {f.index for f in scene.frames}
    out: dict[int, PoseDetections] = {}
    for index, fps, rgb in iter_frames(scene):
        det = estimate(rgb, int(round(index * 1e9 / fps)))
        if index in wanted:
            out[index] = det
            if on_frame is not None:
                on_frame(index, rgb, det)
    return out


@dataclass
class Count:
    present: int = 0
    found: int = 0
    false_positives: int = 0

    def add(self, other: Count) -> None:
        self.present += other.present
        self.found += other.found
        self.false_positives += other.false_positives

    @property
    def recall(self) -> float:
        return self.found / self.present if self.present else 1.0


def _pairs(boxes: np.ndarray, labelled: np.ndarray) -> np.ndarray:
    """(N, L) match score of predicted boxes against labelled ones; < 0 = no match."""
    n = len(boxes)
    if not n or not len(labelled):
        return np.full((n, len(labelled)), -1.0)
    iou = box_iou(np.concatenate([boxes, labelled]))[:n, n:]
    centres = (boxes[:, :2] + boxes[:, 2:]) / 2
    inside = (
        (centres[:, None, :] >= labelled[None, :, :2]) & (centres[:, None, :] <= labelled[None, :, 2:])
    ).all(axis=2)
    return np.where((iou >= MATCH_IOU) | inside, iou + inside * 1e-3, -1.0)


def match(boxes: np.ndarray, labelled: np.ndarray, partial: np.ndarray | None = None) -> tuple[int, int]:
    """(found, false positives) of predicted ``boxes`` against ``labelled`` boxes; predictions
    left over that match a ``partial`` box are neither."""
    boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
    labelled = np.asarray(labelled, np.float32).reshape(-1, 4)
    score = _pairs(boxes, labelled)
    matched = np.zeros(len(boxes), bool)
    while score.size:
        i, j = np.unravel_index(np.argmax(score), score.shape)
        if score[i, j] < 0:
            break
        matched[i] = True
        score[i, :] = -1.0
        score[:, j] = -1.0
    rest = ~matched
    if partial is not None and len(partial) and rest.any():
        rest[rest] = ~(_pairs(boxes[rest], np.asarray(partial, np.float32).reshape(-1, 4)) >= 0).any(axis=1)
    return int(matched.sum()), int(rest.sum())


def count_frame(frame: LabelledFrame, det: PoseDetections) -> Count:
    found, fp = match(det.boxes, frame.boxes, frame.partial)
    return Count(frame.people, found, fp)


def count_scene(scene: Scene, detections: dict[int, PoseDetections]) -> Count:
    total = Count()
    for frame in scene.frames:
        total.add(count_frame(frame, detections[frame.index]))
    return total
