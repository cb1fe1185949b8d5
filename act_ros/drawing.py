"""Annotated images: COCO-17 skeletons, boxes, track IDs and action labels (numpy + OpenCV).

Used by the pose node's debug image and by the demo/benchmark pictures. Sizes scale with the
image so the result stays readable from 640 to 1920 pixels wide; each track ID keeps its colour
from frame to frame (people not tracked, ID 0, are grey).
"""

from __future__ import annotations

import colorsys
import math
from collections.abc import Mapping

import cv2
import numpy as np

from act_ros.layouts import COCO17_LIMBS, NUM_KEYPOINTS
from act_ros.pose.base import PoseDetections

UNTRACKED_BGR = (160, 160, 160)
_FONT = cv2.FONT_HERSHEY_SIMPLEX


def track_color(track_id: int) -> tuple[int, int, int]:
    """A saturated BGR colour per track ID, well spread over the hue circle (golden ratio)."""
    if track_id == 0:
        return UNTRACKED_BGR
    hue = (track_id * 0.618033988749895) % 1.0
    r, g, b = colorsys.hsv_to_rgb(hue, 0.85, 1.0)
    return int(b * 255), int(g * 255), int(r * 255)


def _style(height: int, width: int) -> dict[str, float | int]:
    base = max(height, width) / 640.0  # 1 at 640 px, 3 at 1920 px
    return {
        "line": max(1, round(1.6 * base)),
        "radius": max(2, round(2.6 * base)),
        "font_scale": 0.5 * base,
        "font_thickness": max(1, round(1.2 * base)),
        "pad": max(2, round(3 * base)),
    }


def _text_block(
    image: np.ndarray,
    lines: list[str],
    x: int,
    y_top: int,
    color: tuple[int, int, int],
    style: dict[str, float | int],
) -> None:
    """Lines of text on a filled box of ``color`` whose top-left corner is near (x, y_top)."""
    scale, thick, pad = float(style["font_scale"]), int(style["font_thickness"]), int(style["pad"])
    sizes = [cv2.getTextSize(t, _FONT, scale, thick) for t in lines]
    width = max(s[0][0] for s in sizes) + 2 * pad
    line_h = max(s[0][1] + s[1] for s in sizes) + pad
    height = line_h * len(lines) + pad
    h, w = image.shape[:2]
    x = int(min(max(0, x), max(0, w - width)))
    y = int(y_top - height if y_top - height >= 0 else y_top)  # above the box when there is room
    y = int(min(max(0, y), max(0, h - height)))
    cv2.rectangle(image, (x, y), (x + width, y + height), color, thickness=-1)
    # Dark text on light colours, light text on dark ones.
    luma = 0.114 * color[0] + 0.587 * color[1] + 0.299 * color[2]
    ink = (0, 0, 0) if luma > 140 else (255, 255, 255)
    for i, text in enumerate(lines):
        baseline_y = y + pad + (i + 1) * line_h - sizes[i][1] - pad // 2
        cv2.putText(image, text, (x + pad, baseline_y), _FONT, scale, ink, thick, cv2.LINE_AA)


def draw_poses(
    image_bgr: np.ndarray,
    detections: PoseDetections,
    labels: Mapping[int, tuple[str, float]] | None = None,
    *,
    min_confidence: float = 0.0,
    inplace: bool = False,
) -> np.ndarray:
    """The image with every person's skeleton, joints, box, ``ID n`` and ``label 0.87``.

    ``labels`` maps a track ID to (action label, confidence) — e.g. the latest AcT output.
    Keypoints with confidence <= ``min_confidence`` (and non-finite ones) are not drawn.
    Returns a new image unless ``inplace`` is true.
    """
    if not isinstance(image_bgr, np.ndarray) or image_bgr.ndim != 3 or image_bgr.shape[2] != 3:
        shape = getattr(image_bgr, "shape", None)
        raise ValueError(f"draw_poses needs an HxWx3 BGR image, got shape {shape}")
    if image_bgr.dtype != np.uint8:
        raise ValueError(f"draw_poses needs a uint8 image, got {image_bgr.dtype}")
    out = image_bgr if inplace else image_bgr.copy()
    if not out.flags.c_contiguous:  # OpenCV draws into contiguous buffers only
        out = np.ascontiguousarray(out)
    h, w = out.shape[:2]
    style = _style(h, w)
    line, radius = int(style["line"]), int(style["radius"])
    limit = 4 * max(h, w)  # keeps wild coordinates inside OpenCV's int range

    for i in range(len(detections)):
        track_id = int(detections.track_ids[i])
        color = track_color(track_id)
        kp = detections.keypoints[i]
        ok = (kp[:, 2] > min_confidence) & np.isfinite(kp).all(axis=1)
        pts = np.clip(np.nan_to_num(kp[:, :2]), -limit, limit).round().astype(np.int32)
        for a, b in COCO17_LIMBS:
            if ok[a] and ok[b]:
                cv2.line(out, tuple(map(int, pts[a])), tuple(map(int, pts[b])), color, line, cv2.LINE_AA)
        for j in range(NUM_KEYPOINTS):
            if ok[j]:
                center = tuple(map(int, pts[j]))
                cv2.circle(out, center, radius + 1, (0, 0, 0), -1, cv2.LINE_AA)
                cv2.circle(out, center, radius, color, -1, cv2.LINE_AA)

        box = detections.boxes[i]
        if np.isfinite(box).all() and box[2] > box[0] and box[3] > box[1]:
            x0, y0, x1, y1 = np.clip(box, -limit, limit).round().astype(int)
            cv2.rectangle(out, (int(x0), int(y0)), (int(x1), int(y1)), color, max(1, line // 2 + 1))
        elif ok.any():
            x0, y0 = pts[ok].min(axis=0)
        else:
            continue
        texts = [f"ID {track_id}" if track_id else "ID -"]
        if labels is not None and track_id and track_id in labels:  # ID 0 is nobody in particular
            name, conf = labels[track_id]
            texts.append(f"{name} {conf:.2f}" if math.isfinite(conf) else str(name))
        _text_block(out, texts, int(x0), int(y0), color, style)
    return out
