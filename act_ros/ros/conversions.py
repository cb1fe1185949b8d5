"""rclpy messages built from the core's arrays (reading them is ROS-free: `act_ros.messages`)."""

from __future__ import annotations

import array

import numpy as np
from sensor_msgs.msg import Image

from act_ros.messages import KEYPOINT_LAYOUT, image_fields
from act_ros.msg import Keypoint2D, PersonAction, PersonActionArray, PersonPose2D, PersonPose2DArray
from act_ros.pose.base import PoseDetections
from act_ros.recognizer import TrackAction


def image_msg(bgr: np.ndarray, encoding: str = "bgr8", header=None) -> Image:
    """HxWx3 uint8 BGR pixels -> sensor_msgs/Image in ``encoding`` (see messages.image_fields)."""
    fields = image_fields(bgr, encoding)
    data = array.array("B")
    data.frombytes(fields.pop("data"))  # one copy; rclpy keeps an array('B') as it is
    msg = Image(**fields)
    msg.data = data
    if header is not None:
        msg.header = header
    return msg


def detections_to_msg(detections: PoseDetections, header, width: int, height: int) -> PersonPose2DArray:
    msg = PersonPose2DArray()
    msg.header = header
    msg.image_width, msg.image_height = int(width), int(height)
    msg.keypoint_layout = KEYPOINT_LAYOUT
    people = []
    for kp, box, score, track_id in zip(
        detections.keypoints.tolist(),
        detections.boxes.tolist(),
        detections.scores.tolist(),
        detections.track_ids.tolist(),
    ):
        person = PersonPose2D()
        person.track_id = int(track_id)
        person.box_x_min, person.box_y_min, person.box_x_max, person.box_y_max = box
        person.score = score
        person.keypoints = [Keypoint2D(x=x, y=y, confidence=c) for x, y, c in kp]
        people.append(person)
    msg.people = people
    return msg


def actions_to_msg(
    actions: list[TrackAction], header, class_names: tuple[str, ...], window_length: int
) -> PersonActionArray:
    msg = PersonActionArray()
    msg.header = header
    msg.class_names = list(class_names)
    out = []
    for a in actions:
        action = PersonAction()
        action.track_id = int(a.track_id)
        action.label_index = int(a.label_index)
        action.label = a.label
        action.confidence = float(a.confidence)
        action.scores = a.scores.astype(np.float32).tolist()
        action.window_frames = int(a.window_frames)
        action.window_length = int(window_length)
        out.append(action)
    msg.actions = out
    return msg
