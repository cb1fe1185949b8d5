"""Ground-truth labels files: time ranges -> action, optionally per person (track).

Format (CSV, ``#`` starts a comment line, a header row is required)::

    start,end,label,track_id
    0.0,2.5,stand,1
    1.3,6.0,walk,2
    6.0,7.7,walk,0

* ``start``/``end`` are seconds from the first frame of the video (half-open ``[start, end)``);
  alternatively ``start_frame``/``end_frame`` are frame indices (both inclusive).
* ``label`` is a class name of the model being evaluated, or ``unknown``: an action the model
  does not know, which it should flag (the AcT node's ``unknown`` label, label_index -1).
* ``track_id`` (optional column; empty or 0 = every person in the frame) is the ID the pose
  node's tracker gives the person. A per-track label takes precedence over a track-0 label for
  that person.
* ``person`` (optional column) names the real person a track belongs to. A tracker can give one
  person several IDs (after an occlusion); naming the person lets the report compare the
  number of tracks with the number of real people.
* Ranges of the same track must not overlap; frames that no range covers are not scored.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from act_ros.recognizer import UNKNOWN_LABEL


# What to do when labels name classes the model lacks (make-bag takes the default model's).
CLASSES_HINT = (
    "Fix the labels, or give the classes of the model you will evaluate: "
    "--model MODEL.tflite (its description) or --classes name1,name2,..."
)


class LabelsError(ValueError):
    """A labels file that cannot be used (bad CSV, unknown label, overlapping ranges...)."""


@dataclass(frozen=True)
class LabelRange:
    """One labelled interval, in seconds from the first frame: ``[start, end)``."""

    start: float
    end: float
    label: str
    track_id: int = 0
    line: int = 0  # line number in the file, for error messages
    person: str = ""

    def contains(self, t: float) -> bool:
        return self.start <= t < self.end


@dataclass(frozen=True)
class Labels:
    """All ranges of a labels file, validated."""

    ranges: tuple[LabelRange, ...]
    source: str = "<labels>"

    @property
    def has_tracks(self) -> bool:
        return any(r.track_id != 0 for r in self.ranges)

    @property
    def people(self) -> int | None:
        """Distinct real people labelled (the ``person`` column, else the distinct track IDs);
        None when the labels apply to everyone (track 0 only)."""
        named = {r.person for r in self.ranges if r.person}
        if named:
            return len(named)
        tracks = {r.track_id for r in self.ranges if r.track_id != 0}
        return len(tracks) or None

    @property
    def label_names(self) -> list[str]:
        return sorted({r.label for r in self.ranges})

    def at(self, t: float) -> list[tuple[int, str]]:
        """``(track_id, label)`` of every range active at time ``t`` (s), sorted by track."""
        return sorted((r.track_id, r.label) for r in self.ranges if r.contains(t))

    def check_classes(self, class_names: list[str]) -> None:
        """Raise :class:`LabelsError` naming labels that are not in ``class_names``."""
        known = set(class_names) | {UNKNOWN_LABEL}
        unknown = sorted({(r.label, r.line) for r in self.ranges if r.label not in known})
        if unknown:
            where = ", ".join(f"'{label}' (line {line})" for label, line in unknown)
            raise LabelsError(
                f"{self.source}: unknown label name(s) {where}; the model's classes are: "
                + ", ".join(class_names)
                + f". {CLASSES_HINT}"
            )


_TIME_COLUMNS = ("start", "end")
_FRAME_COLUMNS = ("start_frame", "end_frame")


def parse_labels(text: str, *, fps: float | None = None, source: str = "<labels>") -> Labels:
    """Parse labels CSV text. ``fps`` is needed when the file uses frame columns."""
    lines = [
        (i + 1, ln)
        for i, ln in enumerate(text.splitlines())
        if ln.strip() and not ln.lstrip().startswith("#")
    ]
    if not lines:
        raise LabelsError(f"{source}: no header and no rows (expected 'start,end,label[,track_id]')")
    reader = csv.reader(io.StringIO("\n".join(ln for _, ln in lines)), strict=True)
    try:
        rows = list(reader)
    except csv.Error as exc:
        raise LabelsError(f"{source}: not valid CSV: {exc}") from None
    header = [h.strip().lower() for h in rows[0]]
    if all(c in header for c in _TIME_COLUMNS):
        start_col, end_col, in_frames = header.index("start"), header.index("end"), False
    elif all(c in header for c in _FRAME_COLUMNS):
        start_col, end_col, in_frames = header.index("start_frame"), header.index("end_frame"), True
        if not fps or fps <= 0:
            raise LabelsError(f"{source}: frame columns need the video's frame rate")
    else:
        raise LabelsError(
            f"{source}: header must name 'start,end,label' (seconds) or "
            f"'start_frame,end_frame,label' (frames), optionally 'track_id'; got {rows[0]}"
        )
    if "label" not in header:
        raise LabelsError(f"{source}: header has no 'label' column: {rows[0]}")
    label_col = header.index("label")
    track_col = header.index("track_id") if "track_id" in header else None
    person_col = header.index("person") if "person" in header else None

    ranges: list[LabelRange] = []
    for (line_no, _), row in zip(lines[1:], rows[1:]):
        if len(row) != len(header):
            raise LabelsError(
                f"{source}, line {line_no}: {len(row)} fields, the header has {len(header)}: {row}"
            )
        cells = [c.strip() for c in row]
        try:
            start, end = float(cells[start_col]), float(cells[end_col])
        except ValueError:
            raise LabelsError(
                f"{source}, line {line_no}: start/end must be numbers, got "
                f"{cells[start_col]!r}, {cells[end_col]!r}"
            ) from None
        if not (np.isfinite(start) and np.isfinite(end)):
            raise LabelsError(f"{source}, line {line_no}: start/end must be finite")
        if in_frames:
            if start != int(start) or end != int(end):
                raise LabelsError(f"{source}, line {line_no}: frame indices must be integers")
            # Inclusive frame range -> half-open time range centred on the frame stamps.
            start, end = start / fps, (end + 1) / fps
        if start < 0 or end <= start:
            raise LabelsError(
                f"{source}, line {line_no}: need 0 <= start < end, got start={start}, end={end}"
            )
        label = cells[label_col]
        if not label:
            raise LabelsError(f"{source}, line {line_no}: empty label")
        track = 0
        if track_col is not None and cells[track_col]:
            try:
                track = int(cells[track_col])
            except ValueError:
                raise LabelsError(
                    f"{source}, line {line_no}: track_id must be an integer, got {cells[track_col]!r}"
                ) from None
            if not 0 <= track < 2**32:
                raise LabelsError(f"{source}, line {line_no}: track_id out of range: {track}")
        person = cells[person_col] if person_col is not None else ""
        ranges.append(LabelRange(start, end, label, track, line_no, person))
    if not ranges:
        raise LabelsError(f"{source}: the file has a header but no label rows")
    _check_overlaps(ranges, source)
    return Labels(tuple(ranges), source)


def _check_overlaps(ranges: list[LabelRange], source: str) -> None:
    by_track: dict[int, list[LabelRange]] = {}
    for r in ranges:
        by_track.setdefault(r.track_id, []).append(r)
    for track, items in by_track.items():
        items.sort(key=lambda r: r.start)
        for a, b in zip(items, items[1:]):
            if b.start < a.end:
                who = "every person (track 0)" if track == 0 else f"track {track}"
                raise LabelsError(
                    f"{source}: overlapping ranges for {who}: line {a.line} "
                    f"[{a.start:g}, {a.end:g}) '{a.label}' and line {b.line} "
                    f"[{b.start:g}, {b.end:g}) '{b.label}'"
                )


def load_labels(path: str | Path, *, fps: float | None = None) -> Labels:
    """Read and validate a labels file (see the module docstring for the format)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise LabelsError(f"labels file not found: {path}") from None
    except UnicodeDecodeError:
        raise LabelsError(f"{path}: not a UTF-8 text (CSV) file") from None
    return parse_labels(text, fps=fps, source=str(path))
