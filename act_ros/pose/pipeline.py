"""One image -> tracked COCO-17 poses: the pose node's work, without ROS.

Optional downscaling (keypoints are mapped back to full-image pixels), the estimator, then the
tracker. The pose node and the non-ROS evaluation path both build it from the same parameters
(`act_ros.assembly.pose_pipeline_from_parameters`), so they compute the same thing. Both decode
their images with `act_ros.messages.decode_rgb(msg, pipeline.max_image_width)`, which downscales
while decoding, and pass the scale on.
"""

from __future__ import annotations

import cv2
import numpy as np

from act_ros.pose.base import PoseDetections, PoseEstimator
from act_ros.pose.tracking import PoseTracker


class PosePipeline:
    """``small_image_side``: below this short side (pixels reaching the estimator) people are
    rarely found (pose.variants.SMALL_IMAGE_SIDE; 0 = no warning)."""

    def __init__(
        self,
        estimator: PoseEstimator,
        tracker: PoseTracker,
        max_image_width: int = 0,
        small_image_side: int = 0,
    ) -> None:
        self.estimator = estimator
        self.tracker = tracker
        self.max_image_width = int(max_image_width)
        self.small_image_side = int(small_image_side)

    def small_image_warning(self, width: int, height: int) -> str | None:
        """Why the estimator will rarely find anyone in images of this size (as decoded), or
        None."""
        width, height = self.estimator_size(width, height)
        if min(width, height) >= self.small_image_side:
            return None
        return (
            f"images reach the pose model at {width}x{height}: below {self.small_image_side} "
            f"px on the short side this backend finds people only when they nearly fill the "
            f"frame (the bundled clip at 64x36: nobody in 60 frames); use larger images or a "
            f"larger max_image_width"
        )

    def process(self, rgb: np.ndarray, stamp_ns: int, scale: float = 1.0) -> PoseDetections:
        """Tracked poses of one HxWx3 uint8 RGB image, in the pixels of the original image:
        ``scale`` is ``rgb``'s size over the original's (below 1 when the decoder downscaled)."""
        small, own = self._downscale(rgb)
        scale *= own
        detections = self.estimator.estimate(small, stamp_ns)
        if scale != 1.0 and len(detections):
            kp = detections.keypoints.copy()
            kp[..., :2] /= scale
            detections = PoseDetections(kp, detections.boxes / scale, detections.scores, detections.track_ids)
        return self.tracker.update(detections, stamp_ns)

    def estimator_size(self, width: int, height: int) -> tuple[int, int]:
        """The size an image of ``width`` x ``height`` reaches the estimator at."""
        if not self.max_image_width or width <= self.max_image_width:
            return width, height
        return self.max_image_width, max(1, round(height * self.max_image_width / width))

    def _downscale(self, rgb: np.ndarray) -> tuple[np.ndarray, float]:
        width = rgb.shape[1]
        size = self.estimator_size(width, rgb.shape[0])
        if size[0] == width:
            return rgb, 1.0
        return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA), size[0] / width

    def close(self) -> None:
        self.estimator.close()
