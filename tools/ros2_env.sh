# The real `ros2` command line (ros2 launch / run / param / topic) on a machine without a ROS
# install, with the tools `tools/setup_venv.sh --test` put into the virtual environment:
#   source tools/ros2_env.sh            # or: VENV=path/to/venv source tools/ros2_env.sh
#   ros2 launch act_ros act.launch.py
# The launch tests start every ros2 command in exactly this environment (test/launch_harness.py).
_act_ros_root="$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")/.." && pwd)"
_act_ros_venv="$(cd "${VENV:-$_act_ros_root/.venv}" && pwd)"
# `ros2 pkg prefix act_ros`, `ros2 launch act_ros ...` find the package (and the launch tools
# their own) through the ament index in the venv.
export AMENT_PREFIX_PATH="$_act_ros_venv"
# The node executables start with `#!/usr/bin/env python3`: the venv's python must come first.
export PATH="$_act_ros_venv/bin:$PATH"
# The project's network rule: DDS discovery stays on 127.0.0.1.
export ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST
unset _act_ros_root _act_ros_venv
