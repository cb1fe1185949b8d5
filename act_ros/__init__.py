"""act_ros: multi-person human action recognition from 2D poses with the Action Transformer.

The package has a ROS-free core (numpy only) and thin ROS 2 nodes in ``act_ros.ros``.
"""

# The generated message module (act_ros.msg) may live in another folder of sys.path than this
# file: pip's editable install next to the interfaces built into a virtual environment. Extending
# the package path lets both halves of the package be found, as one package, on every install.
from pkgutil import extend_path

__path__ = extend_path(__path__, __name__)

__version__ = "0.1.0"
