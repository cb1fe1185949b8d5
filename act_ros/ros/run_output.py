"""What `act-ros run` shows and writes: action lines, the annotated video (a camera's too), the
summary and its exit code."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from act_ros import exit_codes
from act_ros.interrupts import GracefulStop


def refuse(message: str) -> SystemExit:
    """Print why the input is refused; the SystemExit to raise (exit code BAD_INPUT)."""
    print(f"act-ros run: {message}", file=sys.stderr)
    return SystemExit(exit_codes.BAD_INPUT)


class ActionLog:
    """Prints each person's action when it changes (stdout: the command's output)."""

    def __init__(self, fps: float, write: Callable[[str], None] | None) -> None:
        self.fps = fps
        self.write = write
        self.current: dict[int, str] = {}

    def update(self, frame_index: int, msg: Any) -> None:
        for a in msg.actions:
            if self.current.get(a.track_id) != a.label and self.write is not None:
                self.write(
                    f"[{frame_index / self.fps:6.2f} s] person {a.track_id}: {a.label} ({a.confidence:.2f})"
                )
            self.current[a.track_id] = a.label


class AnnotatedVideo:
    """The frames with skeletons, IDs and labels, written as they come (opened at the first)."""

    def __init__(self, path: Path, fps: float, codec: str = "auto") -> None:
        self.path = path
        self.fps = fps
        self.codec = codec
        self.writer = None

    def write(self, bgr: np.ndarray, pose_msg: Any, action_msg: Any) -> None:
        from act_ros.drawing import draw_poses
        from act_ros.messages import pose_detections
        from act_ros.video import VideoWriter

        if self.writer is None:
            try:
                self.writer = VideoWriter(self.path, self.fps, (bgr.shape[1], bgr.shape[0]), self.codec)
            except (OSError, ValueError) as exc:
                raise refuse(str(exc)) from None
        if pose_msg is None or action_msg is None:
            self.writer.write(bgr)
            return
        labels = {a.track_id: (a.label, a.confidence) for a in action_msg.actions}
        self.writer.write(draw_poses(bgr, pose_detections(pose_msg), labels))

    def close(self) -> str | None:
        """The codec used when a video was written, else None."""
        if self.writer is None:
            return None
        self.writer.close()
        return self.writer.codec


@dataclass
class Summary:
    frames: int = 0
    seconds: float = 0.0
    people: int = 0  # tracks that got an action
    counters: dict = field(default_factory=dict)
    video: Path | None = None
    video_codec: str = ""
    stopped_by: str = ""  # the signal that stopped the run, if one did
    unanswered_frame: int | None = None  # the frame that got no result in time
    traffic: Any = None  # act_ros.integrity.TrafficCheck
    small_warning: str | None = None  # images too small for the pose model (pipeline says)

    def exit_code(self, stop: GracefulStop) -> int:
        if stop.exit_code is not None:
            return stop.exit_code
        if self.traffic is not None and self.traffic.problems():
            return exit_codes.FOREIGN_TRAFFIC
        if self.unanswered_frame is not None:
            return exit_codes.INCOMPLETE
        return exit_codes.OK


# Frames kept for a camera run until their results arrive (the pose node drops while busy, so
# most never get one): a bound on memory, ~1 s at 30 fps.
LIVE_FRAMES_KEPT = 32


class LiveWriter:
    """Camera: prints and draws results as they come back, writing every captured frame in
    capture order. A frame the pose node dropped (busy) is drawn with the latest result, so the
    video keeps the camera's rate; frames wait at most LIVE_FRAMES_KEPT for their result."""

    def __init__(self, graph: Any, log: ActionLog, video: AnnotatedVideo | None) -> None:
        self.graph, self.log, self.video = graph, log, video
        self.recent: dict[int, Any] = {}  # stamp -> run.Frame
        self.latest: tuple[Any, Any] = (None, None)

    def add(self, frame: Any) -> None:
        self.recent[frame.stamp_ns] = frame
        answered = [s for s in self.recent if s in self.graph.actions]
        if answered:
            self._write_until(max(answered))
        while len(self.recent) > LIVE_FRAMES_KEPT:
            self._write_until(min(self.recent))

    def finish(self, wait_s: float = 2.0) -> None:
        """The last frames: their results if they come within ``wait_s``, then all of them."""
        if self.recent:
            self.graph.actions.wait(max(self.recent), timeout=wait_s)
            self._write_until(max(self.recent))

    def _write_until(self, newest: int) -> None:
        for stamp in sorted(s for s in self.recent if s <= newest):
            frame = self.recent.pop(stamp)
            if stamp in self.graph.actions:
                self.latest = self.graph.collect(stamp)
                self.log.update(frame.index, self.latest[1])
            else:  # dropped while the estimator was busy: it will get no result
                self.graph.sent.discard(stamp)
            if self.video is not None:
                self.video.write(frame.bgr, *self.latest)


def print_summary(summary: Summary) -> None:
    fps = summary.frames / max(summary.seconds, 1e-9)
    print(
        f"act-ros run: {summary.frames} frames in {summary.seconds:.1f} s ({fps:.1f} fps), "
        f"{summary.people} people with actions; pose node: {summary.counters}",
        file=sys.stderr,
    )
    if summary.video is not None:
        print(
            f"act-ros run: annotated video written to {summary.video} ({summary.video_codec})",
            file=sys.stderr,
        )
    if summary.stopped_by:
        print(
            f"act-ros run: stopped by {summary.stopped_by} after {summary.frames} frames; the "
            f"outputs cover those frames",
            file=sys.stderr,
        )
    if summary.small_warning and not summary.people:
        print(f"act-ros run: WARNING: {summary.small_warning}", file=sys.stderr)
    traffic = summary.traffic
    for problem in traffic.problems() if traffic else []:
        print(
            f"act-ros run: WARNING: {problem}. Run without --join-graph for a private graph.", file=sys.stderr
        )
    for warning in traffic.warnings() if traffic else []:
        print(f"act-ros run: note: {warning}", file=sys.stderr)
