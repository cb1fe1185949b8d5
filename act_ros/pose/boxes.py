"""Geometry of person boxes (``x_min, y_min, x_max, y_max`` pixels), shared by the pose backends,
their tracking and the recall benchmark."""

from __future__ import annotations

import numpy as np


def _areas(boxes: np.ndarray) -> np.ndarray:
    return np.prod(np.clip(boxes[:, 2:] - boxes[:, :2], 0.0, None), axis=1)


def _intersections(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(N, M) intersection areas of boxes ``a`` and ``b``, and the areas of each (N,), (M,)."""
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    lo = np.maximum(a[:, None, :2], b[None, :, :2])
    hi = np.minimum(a[:, None, 2:], b[None, :, 2:])
    return np.prod(np.clip(hi - lo, 0.0, None), axis=2), _areas(a), _areas(b)


def box_iou(boxes: np.ndarray) -> np.ndarray:
    """(N, N) intersection over union of ``boxes``."""
    inter, area, _ = _intersections(boxes, boxes)
    union = area[:, None] + area[None, :] - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(union > 0, inter / union, 0.0)


def inside_fraction(boxes: np.ndarray, others: np.ndarray) -> np.ndarray:
    """(N, M): the share of each of ``boxes``' area that lies inside each of ``others``."""
    inter, area, _ = _intersections(boxes, others)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(area[:, None] > 0, inter / area[:, None], 0.0)


def duplicate_mask(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Which people to keep when boxes overlap by more than ``iou_threshold`` (best score wins).

    In VIDEO mode MediaPipe sometimes returns one person twice (the region it tracks from the
    last frame and a fresh detection of the same person): measured on the demo clip, such pairs
    have box IoU 0.6-0.95, while two real people overlap that much only when one is almost
    completely hidden behind the other.
    """
    n = len(scores)
    keep = np.ones(n, dtype=bool)
    if n < 2 or iou_threshold >= 1.0:
        return keep
    iou = box_iou(boxes)
    np.fill_diagonal(iou, 0.0)
    for i in np.argsort(-np.asarray(scores), kind="stable"):
        if keep[i]:  # a kept person suppresses the lower-scored ones overlapping it
            keep[iou[i] > iou_threshold] = False
    return keep
