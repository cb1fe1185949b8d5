"""Pose node + AcT node: camera images in, per-person actions out on /human_actions.

    ros2 launch act_ros act.launch.py image_topic:=/camera/color/image_raw num_threads:=2
    ros2 launch act_ros act.launch.py params_file:=<share>/config/raspberry_pi5.yaml

Parameters come from config/act_ros.yaml, then `params_file` (only the keys it sets), then the
launch arguments that are not left empty. `ros2 launch act_ros act.launch.py --show-args` lists
the arguments.

Both are managed (lifecycle) nodes. With autostart:=true (the default) each configures and
activates itself as soon as its process starts, also after a respawn; with autostart:=false
they wait unconfigured for a lifecycle manager (or `ros2 service call <node>/change_state`).

Transport: unless FASTDDS_DEFAULT_PROFILES_FILE is set (or another middleware chosen), the nodes
run with the project's Fast DDS profile (share/act_ros/config/fastdds_profile.xml), whose large
shared-memory segment carries raw images between processes. A camera driver in another process
needs it too (it is the sender's segment that counts): see the README.
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, LogInfo, OpaqueFunction
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import LifecycleNode
from launch_ros.substitutions import FindPackageShare

from act_ros.launch_args import (
    GRAPH_ARGUMENTS,
    NODE_ARGUMENTS,
    graph_settings,
    node_environment,
    parameter_overrides,
)


def _managed_node(executable: str, autostart: bool, **kwargs) -> LifecycleNode:
    """A node's process. With autostart the program configures and activates its node itself
    as soon as it starts (also after a respawn: a change_state request sent by launch to a
    respawned node can reach the dead process's server, which DDS still lists for a few
    seconds, and be lost); without, it waits unconfigured (--managed). Either way the
    lifecycle services are there, and launch files including this one can send ChangeState
    events to these actions."""
    return LifecycleNode(
        package="act_ros",
        executable=executable,
        name=executable,
        arguments=[] if autostart else ["--managed"],
        output="screen",
        emulate_tty=True,
        **kwargs,
    )


def _nodes(context):
    values = {a.name: LaunchConfiguration(a.name).perform(context) for a in NODE_ARGUMENTS + GRAPH_ARGUMENTS}
    overrides = parameter_overrides(values)
    graph = graph_settings(values)
    share = FindPackageShare("act_ros").perform(context)
    files = [share + "/config/act_ros.yaml"] + ([graph.params_file] if graph.params_file else [])
    env = node_environment(dict(context.environment), share + "/config/fastdds_profile.xml")
    note = (
        [
            LogInfo(
                msg=f"act_ros nodes: Fast DDS profile {env['FASTDDS_DEFAULT_PROFILES_FILE']} "
                "(large shared-memory segment for raw images; set "
                "FASTDDS_DEFAULT_PROFILES_FILE to use your own)"
            )
        ]
        if env
        else []
    )
    common = dict(
        namespace=graph.namespace,
        additional_env=env,
        respawn=graph.respawn,
        respawn_delay=graph.respawn_delay,
    )
    return note + [
        _managed_node(
            "pose_node",
            graph.autostart,
            parameters=files + [overrides["pose_node"]],
            remappings=[
                ("image_raw", graph.image_topic),
                ("image_raw/compressed", graph.image_topic + "/compressed"),
            ],
            **common,
        ),
        _managed_node("act_node", graph.autostart, parameters=files + [overrides["act_node"]], **common),
    ]


def generate_launch_description() -> LaunchDescription:
    arguments = [
        DeclareLaunchArgument(
            a.name,
            default_value=a.default,
            description=a.description,
            **({"choices": list(a.choices)} if a.choices else {}),
        )
        for a in GRAPH_ARGUMENTS + NODE_ARGUMENTS
    ]
    return LaunchDescription(arguments + [OpaqueFunction(function=_nodes)])
