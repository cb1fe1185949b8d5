"""Person boxes from the SSD-MobileNetV2 (Open Images v4) detector, run with the TFLite runtime.

The model (see :mod:`act_ros.pose.topdown_models`) takes a 300x300 RGB image scaled to [-1, 1]
(the whole frame stretched, as the TF Object Detection API trains it) and returns, for 1917
anchor boxes, box encodings ``(y, x, h, w)`` and 24 class logits. Decoding follows MediaPipe's
own graph for this model (SsdAnchorsCalculator and TensorsToDetectionsCalculator options): six
feature maps with strides 16..512, scales 0.2..0.95, aspect ratios 1, 2, 1/2, 3, 1/3 plus an
interpolated scale, three boxes on the lowest layer, box scales 10/10/5/5, sigmoid scores. Only
the "Person" column (found by name in the label map) is decoded, then non-maximum suppression
(OpenCV's ``cv2.dnn.NMSBoxes``).

The detector finds people from any side and far away (it boxes pedestrians seen from behind
that MediaPipe's face-keyed BlazePose detector misses), but also scores some person-like
objects (a bag, a tripod, a sign) around 0.3: the landmark model's presence flag is what
rejects those (:mod:`act_ros.pose.topdown_backend`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

INPUT_SIZE = 300


@dataclass(frozen=True)
class SsdAnchorOptions:
    """MediaPipe's SsdAnchorsCalculator options for this model (object_detection_oidv4)."""

    input_size: int = INPUT_SIZE
    min_scale: float = 0.2
    max_scale: float = 0.95
    strides: tuple[int, ...] = (16, 32, 64, 128, 256, 512)
    aspect_ratios: tuple[float, ...] = (1.0, 2.0, 0.5, 3.0, 0.3333)
    interpolated_scale_aspect_ratio: float = 1.0
    anchor_offset: float = 0.5


def ssd_anchors(options: SsdAnchorOptions = SsdAnchorOptions()) -> np.ndarray:
    """(A, 4) anchors ``x_centre, y_centre, width, height``, normalised, in the model's order.

    With ``reduce_boxes_in_lowest_layer`` (3 boxes on the first layer), as MediaPipe configures
    this model. Every stride here is distinct, so each layer is its own feature map.
    """
    n = len(options.strides)

    def scale(i: int) -> float:
        return options.min_scale + (options.max_scale - options.min_scale) * i / (n - 1)

    rows = []
    for layer, stride in enumerate(options.strides):
        if layer == 0:
            shapes = [(1.0, 0.1), (2.0, scale(0)), (0.5, scale(0))]
        else:
            shapes = [(ratio, scale(layer)) for ratio in options.aspect_ratios]
            following = 1.0 if layer == n - 1 else scale(layer + 1)
            shapes.append((options.interpolated_scale_aspect_ratio, math.sqrt(scale(layer) * following)))
        size = math.ceil(options.input_size / stride)
        wh = np.array([(s * math.sqrt(r), s / math.sqrt(r)) for r, s in shapes], np.float32)
        ys, xs = np.meshgrid(np.arange(size), np.arange(size), indexing="ij")
        centres = (np.stack([xs, ys], axis=-1).reshape(-1, 1, 2) + options.anchor_offset) / size
        grid = np.concatenate(
            [
                np.broadcast_to(centres, (size * size, len(shapes), 2)),
                np.broadcast_to(wh, (size * size, len(shapes), 2)),
            ],
            axis=-1,
        )
        rows.append(grid.reshape(-1, 4))
    return np.ascontiguousarray(np.concatenate(rows), dtype=np.float32)


def read_labelmap(path: Path) -> list[str]:
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines]


def load_tflite(path: Path, num_threads: int, what: str, *, edit: Callable[[bytes], bytes] | None = None):
    """A TFLite interpreter for ``path`` with tensors allocated; errors name the file.

    ``edit``: a change applied to the model's bytes before loading (the file stays as it is).
    """
    from act_ros.runtime import load_interpreter_class

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{what} not found: {path}")
    try:
        # The default op resolver applies XNNPACK, as for the AcT models.
        if edit is None:
            interpreter = load_interpreter_class()(model_path=str(path), num_threads=int(num_threads))
        else:
            content = edit(path.read_bytes())
            interpreter = load_interpreter_class()(model_content=content, num_threads=int(num_threads))
        interpreter.allocate_tensors()
    except (ValueError, RuntimeError) as exc:
        raise RuntimeError(f"{what} {path} cannot be loaded (corrupt or not a TFLite model): {exc}") from exc
    return interpreter


class SsdPersonDetector:
    """Person boxes (full-image pixels) and scores from one RGB image."""

    def __init__(
        self,
        model_path: str | Path,
        labelmap_path: str | Path,
        *,
        num_threads: int = 1,
        score_threshold: float = 0.3,
        nms_iou: float = 0.45,
        max_detections: int = 100,
        box_scale: tuple[float, float, float, float] = (10.0, 10.0, 5.0, 5.0),
    ) -> None:
        if not 0.0 < score_threshold < 1.0:
            raise ValueError(f"score_threshold must be in (0, 1), got {score_threshold!r}")
        if not 0.0 < nms_iou <= 1.0:
            raise ValueError(f"nms_iou must be in (0, 1], got {nms_iou!r}")
        self.model_path = Path(model_path)
        labelmap_path = Path(labelmap_path)
        if not labelmap_path.is_file():
            raise FileNotFoundError(f"person detector label map not found: {labelmap_path}")
        labels = read_labelmap(labelmap_path)
        if "Person" not in labels:
            raise ValueError(f"{labelmap_path} has no 'Person' class (labels: {labels})")
        self.person_column = labels.index("Person")
        self.score_threshold = float(score_threshold)
        self.nms_iou = float(nms_iou)
        self.max_detections = int(max_detections)
        self._box_scale = np.array(box_scale, np.float32)
        self.anchors = ssd_anchors()

        self._interpreter = load_tflite(self.model_path, num_threads, "person detector model")
        inp = self._interpreter.get_input_details()
        out = self._interpreter.get_output_details()
        expected_in = [1, INPUT_SIZE, INPUT_SIZE, 3]
        shapes = sorted((list(o["shape"]) for o in out), key=lambda s: s[-1])
        a = len(self.anchors)
        if (
            len(inp) != 1
            or list(inp[0]["shape"]) != expected_in
            or len(out) != 2
            or shapes != [[1, a, 4], [1, a, len(labels)]]
        ):
            raise ValueError(
                f"{self.model_path} is not the expected SSD person detector: input "
                f"{[list(i['shape']) for i in inp]} (expected {expected_in}), outputs {shapes} "
                f"(expected [1, {a}, 4] and [1, {a}, {len(labels)}])"
            )
        self._input = inp[0]["index"]
        by_width = {int(o["shape"][-1]): o["index"] for o in out}
        self._boxes_out, self._classes_out = by_width[4], by_width[len(labels)]

    def detect(self, image_rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(boxes (N, 4) x_min, y_min, x_max, y_max in pixels, scores (N,))``, best first.

        Boxes may reach past the image border (a person partly out of view).
        """
        height, width = image_rgb.shape[:2]
        # LINEAR_EXACT: bit-identical on every CPU. OpenCV's INTER_LINEAR rounds differently on
        # ARM and x86 (1 LSB in ~23 % of values), which moves this detector's boxes by pixels.
        x = cv2.resize(image_rgb, (INPUT_SIZE, INPUT_SIZE), interpolation=cv2.INTER_LINEAR_EXACT)
        x = x.astype(np.float32)
        x *= 2.0 / 255.0
        x -= 1.0
        self._interpreter.set_tensor(self._input, x[None])
        self._interpreter.invoke()
        logits = self._interpreter.get_tensor(self._classes_out)[0, :, self.person_column]
        # Threshold the logits: no sigmoid over every anchor.
        keep = np.flatnonzero(logits > math.log(self.score_threshold / (1.0 - self.score_threshold)))
        if keep.size == 0:
            return np.zeros((0, 4), np.float32), np.zeros((0,), np.float32)
        raw = self._interpreter.get_tensor(self._boxes_out)[0, keep] / self._box_scale
        anchors = self.anchors[keep]
        scores = (1.0 / (1.0 + np.exp(-logits[keep]))).astype(np.float32)
        xc = raw[:, 1] * anchors[:, 2] + anchors[:, 0]
        yc = raw[:, 0] * anchors[:, 3] + anchors[:, 1]
        w = np.exp(raw[:, 3]) * anchors[:, 2]
        h = np.exp(raw[:, 2]) * anchors[:, 3]
        boxes = np.stack(
            [(xc - w / 2) * width, (yc - h / 2) * height, (xc + w / 2) * width, (yc + h / 2) * height], axis=1
        ).astype(np.float32)
        xywh = np.concatenate([boxes[:, :2], boxes[:, 2:] - boxes[:, :2]], axis=1)
        picked = cv2.dnn.NMSBoxes(
            xywh.tolist(), scores.tolist(), self.score_threshold, self.nms_iou, top_k=self.max_detections
        )
        picked = np.asarray(picked, dtype=np.int64).reshape(-1)
        return boxes[picked], scores[picked]  # NMSBoxes returns indices by descending score

    def close(self) -> None:
        self._interpreter = None
