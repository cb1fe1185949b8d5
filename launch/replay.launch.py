"""The act_ros nodes on simulated time, for evaluating on a recorded bag:

    ros2 launch act_ros replay.launch.py image_topic:=/camera/image_raw
    ros2 bag play my_bag --clock          # in another terminal
    act-ros evaluate my_bag --launch      # or record /human_actions and score it later

Same nodes and arguments as act.launch.py, with use_sim_time:=true (windows follow the bag's
clock; a bag that loops resets them).
"""

from pathlib import Path

from launch import LaunchDescription
from launch.actions import IncludeLaunchDescription
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch.actions import DeclareLaunchArgument
from launch.substitutions import LaunchConfiguration

from act_ros.launch_args import GRAPH_ARGUMENTS, NODE_ARGUMENTS


def generate_launch_description() -> LaunchDescription:
    passed = [a for a in GRAPH_ARGUMENTS + NODE_ARGUMENTS if a.name != "use_sim_time"]
    arguments = [
        DeclareLaunchArgument(a.name, default_value=a.default, description=a.description) for a in passed
    ]
    include = IncludeLaunchDescription(
        PythonLaunchDescriptionSource(str(Path(__file__).with_name("act.launch.py"))),
        launch_arguments=[(a.name, LaunchConfiguration(a.name)) for a in passed] + [("use_sim_time", "true")],
    )
    return LaunchDescription(arguments + [include])
