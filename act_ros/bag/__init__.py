"""Labelled ROS 2 bags: writing, reading and scoring them (rosbags; no rclpy, no act_ros.ros).

One job per module:

* ``types``        rosbags type store with the package's messages; message type names
* ``labels``       ground-truth labels files (time or frame ranges -> action, per track)
* ``images``       rosbags Image / CompressedImage / Header objects (fields: act_ros.messages)
* ``bag_io``       writing bags; reading them once up front with clear errors (``inspect_bag``)
* ``make_bag``     ``act-ros make-bag``: video + labels, or a pose dataset, -> bag
* ``pose_datasets`` pose dataset files -> per-person sequences for pose bags
* ``direct``       the evaluation pipeline without ROS (the reference for the replay)
* ``scoring``      matching by stamp and track; metrics (plain records)
* ``report``       JSON, Markdown and confusion-matrix PNG

Replaying a bag into live nodes and the ``act-ros evaluate BAG`` command are ROS programs:
``act_ros.ros.replay`` and ``act_ros.ros.evaluate``.
"""
