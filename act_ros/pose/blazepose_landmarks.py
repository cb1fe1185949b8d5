"""The BlazePose GHUM landmark model on one person's crop, without MediaPipe's graph.

What MediaPipe's pose_landmark_by_roi graph does, in numpy and OpenCV:

* a region of interest (:class:`Roi`: centre, side, rotation, in image pixels) is warped into the
  model's 256x256 input with one affine transform (``cv2.warpAffine``, zero border: a crop that
  reaches past the image edge sees black, as with MediaPipe's BORDER_ZERO), RGB / 255;
* outputs: 39 landmarks x (x, y, z, visibility, presence) in input pixels (the first 33 are the
  body landmarks; 33 and 34 are the auxiliary centre and scale points used for the next ROI),
  a pose-presence probability, and 64x64 heatmaps with which the landmark positions are refined
  (RefineLandmarksFromHeatmapCalculator: 7x7 sigmoid-weighted mean, where the peak >= 0.5);
* visibility and presence logits go through a sigmoid; positions go back to full-image pixels
  through the inverse of the crop's transform, so rotated, border and downscaled crops all map
  back exactly.

:func:`roi_from_box` makes the first ROI of a person from a detector box (upright, square, side
= the box's longer side x margin); :func:`roi_from_landmarks` makes the next frame's ROI from
this frame's landmarks, as MediaPipe's tracking does (centre = auxiliary point 33, side = 2 x
its distance to point 34 x 1.25, rotated so that the body axis points up).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from act_ros.pose.person_detector import load_tflite

INPUT_SIZE = 256
NUM_OUTPUT_LANDMARKS = 39
NUM_BODY_LANDMARKS = 33
_CENTRE, _SCALE = 33, 34  # auxiliary landmarks: hip centre and a point on the body's circle
ROI_SCALE = 1.25  # MediaPipe's RectTransformation for pose ROIs
_HEATMAP_KERNEL = 7
_HEATMAP_MIN_CONFIDENCE = 0.5


@dataclass(frozen=True)
class Roi:
    """A square region of an image: centre (pixels), side (pixels), rotation (radians).

    ``rotation`` is MediaPipe's: the crop's "up" points along (sin r, -cos r) in the image (y
    down), so 0 = upright and pi/2 = a person lying with the head to the right.
    """

    cx: float
    cy: float
    size: float
    rotation: float = 0.0

    def crop_to_image(self) -> np.ndarray:
        """The 2x3 affine transform from model-input pixels to image pixels."""
        s = self.size / INPUT_SIZE
        c, n = math.cos(self.rotation), math.sin(self.rotation)
        m = np.array([[s * c, -s * n, 0.0], [s * n, s * c, 0.0]], np.float64)
        half = INPUT_SIZE / 2.0
        m[:, 2] = np.array([self.cx, self.cy]) - m[:, :2] @ np.array([half, half])
        return m

    def box(self) -> np.ndarray:
        """Axis-aligned bounds of the (possibly rotated) square, pixels."""
        corners = np.array([[0, 0], [INPUT_SIZE, 0], [0, INPUT_SIZE], [INPUT_SIZE, INPUT_SIZE]], np.float64)
        m = self.crop_to_image()
        pts = corners @ m[:, :2].T + m[:, 2]
        return np.concatenate([pts.min(axis=0), pts.max(axis=0)]).astype(np.float32)


def roi_from_box(box: np.ndarray, margin: float) -> Roi:
    """An upright square around a person box ``x_min, y_min, x_max, y_max``."""
    x0, y0, x1, y1 = (float(v) for v in box)
    return Roi((x0 + x1) / 2.0, (y0 + y1) / 2.0, max(x1 - x0, y1 - y0, 1.0) * margin, 0.0)


def roi_from_landmarks(landmarks_px: np.ndarray, scale: float = ROI_SCALE) -> Roi:
    """The next ROI from (39, >=2) image-pixel landmarks (MediaPipe's pose_landmarks_to_roi)."""
    x0, y0 = (float(v) for v in landmarks_px[_CENTRE, :2])
    x1, y1 = (float(v) for v in landmarks_px[_SCALE, :2])
    radius = math.hypot(x1 - x0, y1 - y0)
    # Rotation that brings the centre->scale vector to "up" (90 degrees, y up).
    rotation = math.pi / 2 - math.atan2(-(y1 - y0), x1 - x0)
    rotation = (rotation + math.pi) % (2 * math.pi) - math.pi
    return Roi(x0, y0, max(2.0 * radius * scale, 1.0), rotation)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))  # no overflow warnings for large logits


def refine_from_heatmap(xy_input: np.ndarray, heatmap: np.ndarray) -> np.ndarray:
    """Landmark positions (input pixels) refined on the model's heatmaps (H, W, >=K channels)."""
    hm_h, hm_w = heatmap.shape[:2]
    out = xy_input.copy()
    cols = (xy_input[:, 0] / INPUT_SIZE * hm_w).astype(np.int64)
    rows = (xy_input[:, 1] / INPUT_SIZE * hm_h).astype(np.int64)
    offset = (_HEATMAP_KERNEL - 1) // 2
    inside = (cols >= 0) & (cols < hm_w) & (rows >= 0) & (rows < hm_h)
    for i in np.flatnonzero(inside):
        r0, r1 = max(0, rows[i] - offset), min(hm_h, rows[i] + offset + 1)
        c0, c1 = max(0, cols[i] - offset), min(hm_w, cols[i] + offset + 1)
        conf = _sigmoid(heatmap[r0:r1, c0:c1, i].astype(np.float64))
        total = conf.sum()
        if conf.max() >= _HEATMAP_MIN_CONFIDENCE and total > 0:
            rr, cc = np.mgrid[r0:r1, c0:c1]
            out[i, 0] = (cc * conf).sum() / total / hm_w * INPUT_SIZE
            out[i, 1] = (rr * conf).sum() / total / hm_h * INPUT_SIZE
    return out


@dataclass
class LandmarkResult:
    """One crop's output: (39, 4) image-pixel ``x, y, visibility, presence``, and the pose flag."""

    landmarks: np.ndarray
    presence: float


class BlazePoseLandmarker:
    """``pose_landmark_{lite,full,heavy}.tflite`` on ROIs of full images."""

    def __init__(self, model_path: str | Path, *, num_threads: int = 1, refine: bool = True) -> None:
        self.model_path = Path(model_path)
        self.refine = bool(refine)
        self._interpreter = load_tflite(self.model_path, num_threads, "pose landmark model")
        inp = self._interpreter.get_input_details()
        if len(inp) != 1 or list(inp[0]["shape"]) != [1, INPUT_SIZE, INPUT_SIZE, 3]:
            raise ValueError(
                f"{self.model_path} is not a BlazePose landmark model: input "
                f"{[list(i['shape']) for i in inp]}, expected [1, 256, 256, 3]"
            )
        outputs = {
            tuple(int(d) for d in o["shape"]): o["index"] for o in self._interpreter.get_output_details()
        }
        try:
            self._landmarks_out = outputs[(1, NUM_OUTPUT_LANDMARKS * 5)]
            self._flag_out = outputs[(1, 1)]
            self._heatmap_out = outputs.get((1, 64, 64, NUM_OUTPUT_LANDMARKS))
        except KeyError:
            raise ValueError(
                f"{self.model_path} is not a BlazePose landmark model: outputs {sorted(outputs)}"
            ) from None
        self._input = inp[0]["index"]
        self._buffer = np.empty((1, INPUT_SIZE, INPUT_SIZE, 3), np.float32)

    def run(self, image_rgb: np.ndarray, roi: Roi) -> LandmarkResult:
        m = roi.crop_to_image()
        crop = cv2.warpAffine(
            image_rgb,
            m,
            (INPUT_SIZE, INPUT_SIZE),
            flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=(0, 0, 0),
        )
        np.multiply(crop, np.float32(1.0 / 255.0), out=self._buffer[0], casting="unsafe")
        it = self._interpreter
        it.set_tensor(self._input, self._buffer)
        it.invoke()
        raw = it.get_tensor(self._landmarks_out).reshape(NUM_OUTPUT_LANDMARKS, 5)
        presence = float(it.get_tensor(self._flag_out).reshape(-1)[0])
        xy = raw[:, :2].astype(np.float64)
        if self.refine and self._heatmap_out is not None:
            # A view of the output buffer (no 640 kB copy), read before the next invoke.
            heatmap = it.tensor(self._heatmap_out)()[0]
            xy[:NUM_BODY_LANDMARKS] = refine_from_heatmap(xy[:NUM_BODY_LANDMARKS], heatmap)
            del heatmap
        xy_image = xy @ m[:, :2].T + m[:, 2]
        out = np.empty((NUM_OUTPUT_LANDMARKS, 4), np.float32)
        out[:, :2] = xy_image
        out[:, 2] = _sigmoid(raw[:, 3])
        out[:, 3] = _sigmoid(raw[:, 4])
        return LandmarkResult(out, presence)

    def close(self) -> None:
        self._interpreter = None
