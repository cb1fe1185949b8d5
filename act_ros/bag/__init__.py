"""Labelled ROS 2 bags and their evaluation through the running nodes (issue 6).

One job per module:

* ``types``        rosbags type store with the package's messages; topic names
* ``labels``       ground-truth labels files (time or frame ranges -> action, per track)
* ``images``       numpy <-> sensor_msgs Image / CompressedImage (rosbags objects)
* ``bag_io``       writing bags; reading them once up front with clear errors (``inspect_bag``)
* ``make_bag``     ``act-ros make-bag``: video + labels, or a pose dataset, -> bag
* ``pose_datasets`` pose dataset files -> per-person sequences for pose bags
* ``replay``       replay into live nodes over DDS with flow control; collect results
* ``direct``       the same pipeline without ROS (the reference for the replay)
* ``scoring``      matching by stamp and track; metrics (ROS-free, plain records)
* ``report``       JSON, Markdown and confusion-matrix PNG
* ``evaluate``     ``act-ros evaluate BAG``
"""
