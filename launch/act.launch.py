"""Pose node + AcT node: camera images in, per-person actions out on /human_actions.

    ros2 launch act_ros act.launch.py image_topic:=/camera/color/image_raw model_size:=small
    ros2 launch act_ros act.launch.py params_file:=<share>/config/raspberry_pi5.yaml

Parameters come from config/act_ros.yaml, then `params_file` (only the keys it sets), then the
launch arguments that are not left empty. `ros2 launch act_ros act.launch.py --show-args` lists
the arguments.

Transport: unless FASTDDS_DEFAULT_PROFILES_FILE is set (or another middleware chosen), the nodes
run with the project's Fast DDS profile (share/act_ros/config/fastdds_profile.xml), whose large
shared-memory segment carries raw images between processes. A camera driver in another process
needs it too (it is the sender's segment that counts): see the README.
"""
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, LogInfo, OpaqueFunction
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node
from launch_ros.substitutions import FindPackageShare

from act_ros.launch_args import GRAPH_ARGUMENTS, NODE_ARGUMENTS, node_environment, parameter_overrides


def _nodes(context):
    values = {a.name: LaunchConfiguration(a.name).perform(context)
              for a in NODE_ARGUMENTS + GRAPH_ARGUMENTS}
    overrides = parameter_overrides(values)
    share = FindPackageShare("act_ros").perform(context)
    files = [share + "/config/act_ros.yaml"] + ([values["params_file"]] if values["params_file"] else [])
    namespace = values["namespace"]
    env = node_environment(dict(context.environment), share + "/config/fastdds_profile.xml")
    note = [LogInfo(msg=f"act_ros nodes: Fast DDS profile {env['FASTDDS_DEFAULT_PROFILES_FILE']} "
                        "(large shared-memory segment for raw images; set "
                        "FASTDDS_DEFAULT_PROFILES_FILE to use your own)")] if env else []
    return note + [
        Node(
            package="act_ros", executable="pose_node", name="pose_node", namespace=namespace,
            parameters=files + [overrides["pose_node"]],
            remappings=[("image_raw", values["image_topic"]),
                        ("image_raw/compressed", values["image_topic"] + "/compressed")],
            additional_env=env, output="screen", emulate_tty=True,
        ),
        Node(
            package="act_ros", executable="act_node", name="act_node", namespace=namespace,
            parameters=files + [overrides["act_node"]],
            additional_env=env, output="screen", emulate_tty=True,
        ),
    ]


def generate_launch_description() -> LaunchDescription:
    arguments = [
        DeclareLaunchArgument(a.name, default_value=a.default, description=a.description,
                              **({"choices": list(a.choices)} if a.choices else {}))
        for a in GRAPH_ARGUMENTS + NODE_ARGUMENTS
    ]
    return LaunchDescription(arguments + [OpaqueFunction(function=_nodes)])
