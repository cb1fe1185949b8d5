"""Memory of one pose node handling one huge image, measured in its own process (a child of the
test): ``python memory_probe.py WIDTH HEIGHT [BACKEND]`` prints JSON with resident sizes in MB.

The node runs in-process and its ``process`` is called directly, so the numbers are the node's
own work on the image (decoding, downscaling, the estimator), not DDS's buffers. Peak memory is
the kernel's high-water mark (VmHWM), reset just before the huge image (/proc/self/clear_refs).
"""

from __future__ import annotations

import gc
import json
import sys

import numpy as np


def _status_mb(key: str) -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    raise KeyError(key)


def _image(width: int, height: int, stamp_s: int, fill: np.ndarray | None = None):
    from sensor_msgs.msg import Image

    import array

    msg = Image(height=height, width=width, encoding="bgr8", step=width * 3)
    msg.header.stamp.sec = stamp_s
    pixels = np.empty((height, width, 3), np.uint8) if fill is None else fill
    if fill is None:
        pixels[:] = np.arange(width, dtype=np.uint8)[None, :, None]  # touched: really resident
    data = array.array("B")
    data.frombytes(pixels.reshape(-1))  # what rclpy holds after receiving an image
    del pixels
    msg.data = data
    return msg


def main(width: int, height: int, backend: str | None = None) -> dict:
    from act_ros import environment

    environment.apply()
    import cv2
    import rclpy

    from act_ros.ros.host import NodeHost
    from act_ros.ros.pose_node import PoseNode

    sys.path.insert(0, __file__.rsplit("/", 1)[0])
    from footage import demo_video_path

    frame = cv2.VideoCapture(str(demo_video_path())).read()[1]
    rclpy_context = rclpy.Context()
    rclpy.init(context=rclpy_context)
    with NodeHost(context=rclpy_context) as host:
        params = {"no_input_warning": 0.0, "model_variant": "lite"}
        if backend:
            params["backend"] = backend
        node = host.create(PoseNode, params)
        for i in range(3):  # warm up on the clip's own size
            node.process(_image(frame.shape[1], frame.shape[0], i + 1, frame))
        gc.collect()
        before = _status_mb("VmRSS")
        huge = _image(width, height, 10)
        with_message = _status_mb("VmRSS")
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # reset the peak (VmHWM) to the current resident size
        out = node.process(huge)
        peak = _status_mb("VmHWM")
        del huge
        gc.collect()
        node.process(_image(frame.shape[1], frame.shape[0], 11, frame))
        gc.collect()
        after = _status_mb("VmRSS")
        counters = dict(node.counters)
    rclpy_context.try_shutdown()
    return {
        "before_mb": before,
        "message_mb": with_message - before,
        "peak_mb": peak,
        "peak_over_message_mb": peak - with_message,
        "after_mb": after,
        "after_over_before_mb": after - before,
        "people": len(out.people) if out else None,
        "counters": counters,
    }


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]), int(sys.argv[2]), *sys.argv[3:4])))
