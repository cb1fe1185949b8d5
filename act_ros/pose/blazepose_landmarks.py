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
  back exactly;
* the outputs it does not read (segmentation mask, world landmarks) are pruned from the model as
  it is loaded (:mod:`act_ros.pose.tflite_prune`): the same numbers in half the time.

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
from act_ros.pose.tflite_prune import keep_outputs
from act_ros.tflite_file import TfliteFileError, read_tflite

INPUT_SIZE = 256
NUM_OUTPUT_LANDMARKS = 39
NUM_BODY_LANDMARKS = 33
_CENTRE, _SCALE = 33, 34  # auxiliary landmarks: hip centre and a point on the body's circle
ROI_SCALE = 1.25  # MediaPipe's RectTransformation for pose ROIs
_HEATMAP_KERNEL = 7
_HEATMAP_MIN_CONFIDENCE = 0.5
_LANDMARKS_SHAPE = (1, NUM_OUTPUT_LANDMARKS * 5)
_FLAG_SHAPE = (1, 1)
_HEATMAP_SHAPE = (1, 64, 64, NUM_OUTPUT_LANDMARKS)


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
    """Landmark positions (input pixels) refined on the model's heatmaps (H, W, >=K channels).

    All landmarks at once: each one's 7x7 window around its heatmap cell (the part inside the
    heatmap), sigmoid, and the confidence-weighted mean cell where the window's peak >= 0.5.
    """
    hm_h, hm_w = heatmap.shape[:2]
    out = xy_input.copy()
    cols = (xy_input[:, 0] / INPUT_SIZE * hm_w).astype(np.int64)
    rows = (xy_input[:, 1] / INPUT_SIZE * hm_h).astype(np.int64)
    which = np.flatnonzero((cols >= 0) & (cols < hm_w) & (rows >= 0) & (rows < hm_h))
    if which.size == 0:
        return out
    offset = (_HEATMAP_KERNEL - 1) // 2
    steps = np.arange(-offset, offset + 1)
    rr = rows[which, None] + steps  # (n, 7)
    cc = cols[which, None] + steps
    valid = ((rr >= 0) & (rr < hm_h))[:, :, None] & ((cc >= 0) & (cc < hm_w))[:, None, :]
    window = heatmap[
        np.clip(rr, 0, hm_h - 1)[:, :, None], np.clip(cc, 0, hm_w - 1)[:, None, :], which[:, None, None]
    ]
    conf = np.where(valid, _sigmoid(window.astype(np.float64)), 0.0)  # (n, 7, 7)
    total = conf.sum(axis=(1, 2))
    ok = (conf.max(axis=(1, 2)) >= _HEATMAP_MIN_CONFIDENCE) & (total > 0)
    total = np.where(ok, total, 1.0)
    x = (conf * cc[:, None, :]).sum(axis=(1, 2)) / total / hm_w * INPUT_SIZE
    y = (conf * rr[:, :, None]).sum(axis=(1, 2)) / total / hm_h * INPUT_SIZE
    out[which[ok], 0] = x[ok]
    out[which[ok], 1] = y[ok]
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
        what = "pose landmark model"
        # The file's own tensor table says what the model computes, so the interpreter (and
        # XNNPACK's weight packing) is built once, already pruned.
        if not self.model_path.is_file():
            raise FileNotFoundError(f"{what} not found: {self.model_path}")
        try:
            info = read_tflite(self.model_path)
        except TfliteFileError as exc:
            raise RuntimeError(f"{what} {self.model_path} cannot be loaded: {exc}") from exc
        if len(info.inputs) != 1 or info.inputs[0].shape != (1, INPUT_SIZE, INPUT_SIZE, 3):
            raise ValueError(
                f"{self.model_path} is not a BlazePose landmark model: input "
                f"{[list(i.shape) for i in info.inputs]}, expected [1, 256, 256, 3]"
            )
        shapes = [o.shape for o in info.outputs]
        read = [_LANDMARKS_SHAPE, _FLAG_SHAPE] + ([_HEATMAP_SHAPE] if self.refine else [])
        if _LANDMARKS_SHAPE not in shapes or _FLAG_SHAPE not in shapes:
            raise ValueError(f"{self.model_path} is not a BlazePose landmark model: outputs {sorted(shapes)}")
        keep = [shapes.index(shape) for shape in read if shape in shapes]
        # The segmentation mask and world landmarks nobody reads cost half the model's time.
        prune = (lambda model: keep_outputs(model, keep)) if len(keep) < len(shapes) else None
        interpreter = load_tflite(self.model_path, num_threads, what, edit=prune)
        inp = interpreter.get_input_details()
        outputs = {tuple(int(d) for d in o["shape"]): o["index"] for o in interpreter.get_output_details()}
        self._interpreter = interpreter
        self._landmarks_out = outputs[_LANDMARKS_SHAPE]
        self._flag_out = outputs[_FLAG_SHAPE]
        self._heatmap_out = outputs.get(_HEATMAP_SHAPE)
        self._input = inp[0]["index"]
        self._buffer = np.empty((1, INPUT_SIZE, INPUT_SIZE, 3), np.float32)

    @property
    def output_count(self) -> int:
        """How many outputs the loaded (pruned) model computes."""
        return len(self._interpreter.get_output_details())

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
