"""The real ROS 2 tools on the real package: `ros2 launch act_ros ...`, `ros2 run act_ros ...`,
`ros2 param get`, `ros2 topic echo`, in the environment the README gives for them.

Each test has a ROS domain of its own; launches run in their own process group and are stopped
like Ctrl-C in a terminal (SIGINT to the group); no `ros2` daemon may be left behind. Waits are
on the ROS graph and on the programs' output, never fixed sleeps. Skipped, saying why, where the
tools are not installed (a clone without ../shared/ros2_launch).
"""
from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

import pytest

from act_ros.msg import PersonActionArray
from launch_harness import SHARE, Ros2Session, launch_domain, requires_ros2_cli
from ros_harness import Graph, wait_until

pytestmark = requires_ros2_cli

CLIP = "act_ros/data/sports2d_demo.mp4"
CAMERA = "test/camera_process.py"
# What the README tells a camera driver in another process to set (and nothing else).
CAMERA_README_ENV = {"FASTDDS_DEFAULT_PROFILES_FILE": str(SHARE / "config" / "fastdds_profile.xml")}
NODES_UP = {"pose_node": r"\[pose_node\]: pose backend", "act_node": r"\[act_node\]: AcT model"}


@pytest.fixture
def ros2_session(run_dir, request):
    """``ros2_session(offset)``: a Ros2Session on domain run + offset; at the end every process
    still running is stopped and no ros2 daemon may be found on that domain."""
    sessions: list[Ros2Session] = []

    def make(offset: int) -> Ros2Session:
        session = Ros2Session(launch_domain(offset), run_dir / f"{request.node.name}_{offset}")
        sessions.append(session)
        return session

    yield make
    daemons = [d for s in sessions for d in s.close()]
    assert not daemons, f"ros2 daemon(s) left running: {daemons}"


@pytest.fixture
def observer(request):
    """``observer(domain_id)``: an in-process node on that domain (a Graph of ros_harness)."""
    import rclpy

    graphs = []

    def make(domain_id: int) -> Graph:
        context = rclpy.Context()
        rclpy.init(context=context, domain_id=domain_id)
        graphs.append(Graph(context, name="launch_test_observer"))
        return graphs[-1]

    yield make
    for graph in graphs:
        graph.close()
        graph.context.try_shutdown()


def camera_stamps(camera) -> list[int]:
    return [int(s) for s in re.findall(r"^frame \d+ (\d+)$", camera.output(), re.M)]


def stamp_of(msg) -> int:
    return msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec


def stopped_cleanly(launch) -> None:
    """SIGINT to the launch's group: both nodes end cleanly, launch exits 0."""
    code = launch.interrupt()
    out = launch.output()
    assert code == 0, f"ros2 launch exited {code}:\n{out[-3000:]}"
    for node in ("pose_node", "act_node"):
        assert re.search(rf"\[{node}-\d+\]: process has finished cleanly", out), \
            f"{node} did not finish cleanly:\n{out[-3000:]}"
    assert "escalating" not in out, out[-3000:]


def test_act_launch_turns_a_camera_in_another_process_into_actions(ros2_session, observer):
    """`ros2 launch act_ros act.launch.py` with its defaults and a camera in another process:
    with Fast DDS's defaults on the camera side its raw images are lost and the pose node says
    why; with what the README tells the camera side to set, /human_actions carries labels with
    the images' own stamps, which `ros2 topic echo` prints too."""
    session = ros2_session(1)
    launch = session.launch("act.launch.py")
    # Started at once, they wait for the nodes: a camera with Fast DDS's defaults (640x360 bgr8 =
    # 691 KB, over the default 512 KB segment) and `ros2 topic echo`.
    plain = session.start(CAMERA, CLIP, "--frames", "60", "--ros-args", "-r",
                          "image_raw:=/camera/image_raw", name="camera_fastdds_defaults")
    echo = session.start("topic", "echo", "--no-daemon", "--once", "/human_actions",
                         "act_ros/msg/PersonActionArray", "--filter", "len(m.actions) > 0",
                         name="topic_echo")
    for pattern in NODES_UP.values():
        launch.wait_for_output(pattern)
    graph = observer(session.domain_id)
    actions = graph.collect(PersonActionArray, "/human_actions")
    wait_until(lambda: graph.node.count_subscribers("/human_actions") >= 2, 60,
               "this test and ros2 topic echo subscribed to /human_actions")

    # 1. Most of the default camera's images are lost, and the pose node says why.
    warning = launch.wait_for_output(
        r"\[pose_node\]: /camera/image_raw: (\d+) of (\d+) images sent .* lost before reaching.*$")
    assert "FASTDDS_DEFAULT_PROFILES_FILE=" in warning.group(0)
    lost, offered = int(warning.group(1)), int(warning.group(2))
    plain.wait_for_output(r"^done 60$")

    # 2. The same camera with the README's one setting; the parameters are read meanwhile.
    camera = session.start(CAMERA, CLIP, "--frames", "90", "--loop", "--ros-args", "-r",
                           "image_raw:=/camera/image_raw", env=CAMERA_README_ENV, name="camera_readme")
    with ThreadPoolExecutor(2) as pool:
        # The code's defaults, as `ros2 param get` sees them.
        variant = pool.submit(session.param, "/pose_node", "model_variant")
        size = pool.submit(session.param, "/act_node", "model_size")
        assert (variant.result(), size.result()) == ("full", "micro")
    # Until labels came out (how soon depends on the machine's load: the pose node drops what
    # arrives while it is busy, counted) and `ros2 topic echo` printed one.
    wait_until(lambda: sum(len(m.actions) for m in actions.messages) >= 10, 90,
               f"10 labelled actions ({len(actions.messages)} action messages so far)")
    echo.proc.wait(30)
    camera.interrupt()
    sent = camera_stamps(camera)

    stamps = [stamp_of(m) for m in actions.messages]
    assert set(stamps) <= set(sent) | set(camera_stamps(plain)), \
        "an action message does not carry an image's stamp"
    answered = len(set(stamps) & set(sent))
    labelled = [a for m in actions.messages for a in m.actions]
    class_names = list(actions.messages[-1].class_names)
    assert labelled and all(a.label in class_names for a in labelled)
    printed = echo.output()
    assert echo.proc.returncode == 0, printed
    label = re.search(r"^\s+label: (\w+)$", printed, re.M)
    assert label and label.group(1) in class_names, printed
    stopped_cleanly(launch)
    print(f"\nact.launch.py: camera with Fast DDS defaults: {lost} of {offered} images lost; "
          f"with the README's profile: {answered} of {len(sent)} camera images answered, "
          f"{len(labelled)} labelled actions; first label printed by ros2 topic echo: "
          f"{label.group(1)}; stopped in {launch.stop_seconds:.2f} s")
