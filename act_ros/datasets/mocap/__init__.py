"""Motion capture -> 2-D pose training data (ROS-free).

BVH (:mod:`.bvh`, per-rig joint maps in :mod:`.rigs`) and ASF/AMC (:mod:`.asf_amc`) importers
give a :class:`~.motion.Motion` (metres, z up, head frame); :mod:`.coco17` maps it to 3-D
COCO-17; :mod:`.camera` projects it through random real cameras; :mod:`.noise` makes it look
like the project's pose backend (statistics measured by :mod:`.measure`); :mod:`.taxonomy`
labels it; :mod:`.mix` builds the training mix (``act-ros dataset build-mix``). Licences of the
data: README.md in this folder.
"""
