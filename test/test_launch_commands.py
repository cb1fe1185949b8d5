"""The real ROS 2 tools on the real package: `ros2 launch act_ros ...`, `ros2 run act_ros ...`,
`ros2 param get`, `ros2 topic echo`, in the environment the README gives for them.

Each test has a ROS domain of its own; launches run in their own process group and are stopped
like Ctrl-C in a terminal (SIGINT to the group); no `ros2` daemon may be left behind. Waits are
on the ROS graph and on the programs' output, never fixed sleeps. Skipped, saying why, where the
tools are not installed (a clone without ../shared/ros2_launch).
"""

from __future__ import annotations

import re
import time
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
        assert re.search(rf"\[{node}-\d+\]: process has finished cleanly", out), (
            f"{node} did not finish cleanly:\n{out[-3000:]}"
        )
    assert "escalating" not in out, out[-3000:]


def test_act_launch_turns_a_camera_in_another_process_into_actions(ros2_session, observer):
    """`ros2 launch act_ros act.launch.py` (node parameters at their defaults) and a camera in
    another process: with Fast DDS's defaults on the camera side its raw images are lost and
    the pose node says why; with what the README tells the camera side to set, /human_actions
    carries labels with the images' own stamps, which `ros2 topic echo` prints too. With
    respawn:=true an AcT node killed with SIGKILL comes back and /human_actions resumes."""
    import psutil

    session = ros2_session(1)
    launch = session.launch("act.launch.py", "respawn:=true", "respawn_delay:=1.0")
    # Started at once, they wait for the nodes: a camera with Fast DDS's defaults (640x360 bgr8 =
    # 691 KB, over the default 512 KB segment) and `ros2 topic echo`.
    plain = session.start(
        CAMERA,
        CLIP,
        "--frames",
        "60",
        "--ros-args",
        "-r",
        "image_raw:=/camera/image_raw",
        name="camera_fastdds_defaults",
    )
    echo = session.start(
        "topic",
        "echo",
        "--no-daemon",
        "--once",
        "/human_actions",
        "act_ros/msg/PersonActionArray",
        "--filter",
        "len(m.actions) > 0",
        name="topic_echo",
    )
    for pattern in NODES_UP.values():
        launch.wait_for_output(pattern)
    graph = observer(session.domain_id)
    actions = graph.collect(PersonActionArray, "/human_actions")
    wait_until(
        lambda: graph.node.count_subscribers("/human_actions") >= 2,
        60,
        "this test and ros2 topic echo subscribed to /human_actions",
    )

    # 1. Most of the default camera's images are lost, and the pose node says why.
    warning = launch.wait_for_output(
        r"\[pose_node\]: /camera/image_raw: (\d+) of (\d+) images sent .* lost before reaching.*$"
    )
    assert "FASTDDS_DEFAULT_PROFILES_FILE=" in warning.group(0)
    lost, offered = int(warning.group(1)), int(warning.group(2))
    plain.wait_for_output(r"^done 60$")

    # 2. The same camera with the README's one setting; the parameters are read meanwhile.
    camera = session.start(
        CAMERA,
        CLIP,
        "--frames",
        "90",
        "--loop",
        "--ros-args",
        "-r",
        "image_raw:=/camera/image_raw",
        env=CAMERA_README_ENV,
        name="camera_readme",
    )
    with ThreadPoolExecutor(2) as pool:
        # The code's defaults, as `ros2 param get` sees them.
        variant = pool.submit(session.param, "/pose_node", "model_variant")
        size = pool.submit(session.param, "/act_node", "model_size")
        assert (variant.result(), size.result()) == ("", "micro")  # '': the backend's own (lite)
    # Until labels came out (how soon depends on the machine's load: the pose node drops what
    # arrives while it is busy, counted) and `ros2 topic echo` printed one.
    wait_until(
        lambda: sum(len(m.actions) for m in actions.messages) >= 10,
        90,
        f"10 labelled actions ({len(actions.messages)} action messages so far)",
    )
    echo.proc.wait(30)

    # 3. SIGKILL the AcT node: launch restarts it, configures and activates it, actions resume.
    killed_pid = launched_pids(launch)["act_node"]
    psutil.Process(killed_pid).kill()
    killed_at = time.monotonic()
    launch.wait_for_output(r"\[act_node-\d+\]: process has died .*exit code -9")
    wait_until(lambda: launched_pids(launch)["act_node"] != killed_pid, 30, "the AcT node respawned")
    # Messages the killed node sent just before dying can still arrive: count only those after
    # the new node says it is active (its second activation in the launch output).
    wait_until(
        lambda: len(re.findall(r"\[act_node\]: activate: now active", launch.output())) >= 2,
        90,
        "the respawned AcT node active",
    )
    since_respawn = len(actions.messages)
    wait_until(
        lambda: any(m.actions for m in actions.messages[since_respawn:]),
        90,
        "labelled actions from the respawned AcT node",
    )
    resumed_after = time.monotonic() - killed_at
    camera.interrupt()
    sent = camera_stamps(camera)

    stamps = [stamp_of(m) for m in actions.messages]
    assert set(stamps) <= set(sent) | set(camera_stamps(plain)), (
        "an action message does not carry an image's stamp"
    )
    answered = len(set(stamps) & set(sent))
    labelled = [a for m in actions.messages for a in m.actions]
    class_names = list(actions.messages[-1].class_names)
    # The default model says 'unknown' (label_index -1) below its calibrated threshold.
    assert labelled and all(
        a.label in class_names or (a.label, a.label_index) == ("unknown", -1) for a in labelled
    )
    printed = echo.output()
    assert echo.proc.returncode == 0, printed
    label = re.search(r"^\s+label: (\w+)$", printed, re.M)
    assert label and label.group(1) in [*class_names, "unknown"], printed
    stopped_cleanly(launch)
    print(
        f"\nact.launch.py: camera with Fast DDS defaults: {lost} of {offered} images lost; "
        f"with the README's profile: {answered} of {len(sent)} camera images answered, "
        f"{len(labelled)} labelled actions; first label printed by ros2 topic echo: "
        f"{label.group(1)}; AcT node SIGKILLed: labelled actions again after "
        f"{resumed_after:.1f} s (respawn_delay 1.0 s); stopped in {launch.stop_seconds:.2f} s"
    )


def test_namespaced_launch_keeps_defaults_preset_and_arguments(ros2_session, observer):
    """namespace:=robot with the Raspberry Pi 5 preset and arguments: every layer reaches the
    namespaced nodes (the files' `/**/<node>` keys), in order code defaults < preset <
    arguments, and the topics move into the namespace (the camera topic given absolutely stays)."""
    from act_ros.runtime import MODELS_DIR

    session = ros2_session(2)
    preset = SHARE / "config" / "raspberry_pi5.yaml"
    # model_path (the 7-class LZQ small) wins over model_size; model_size still shows the
    # arguments winning over the preset.
    small = MODELS_DIR / "lzq7" / "act_small.tflite"
    launch = session.launch(
        "act.launch.py",
        "namespace:=robot",
        f"params_file:={preset}",
        "model_size:=small",
        f"model_path:={small}",
        "num_threads:=2",
        "debug_image:=true",
        "num_poses:=2",
        "image_topic:=/cam/image",
    )
    for pattern in NODES_UP.values():
        launch.wait_for_output(pattern.replace(r"\[", r"\[robot."))
    with ThreadPoolExecutor(3) as pool:
        act_get = pool.submit(session.param, "/robot/act_node", "model_size")
        act_all = pool.submit(session.params, "/robot/act_node")
        pose_all = pool.submit(session.params, "/robot/pose_node")
        act, pose = act_all.result(), pose_all.result()
        assert act_get.result() == "small"
    # Arguments over everything; the preset over the code defaults; the defaults kept.
    assert (act["model_size"], act["num_threads"], pose["publish_debug_image"], pose["num_poses"]) == (
        "small",
        2,
        True,
        2,
    )
    from act_ros.parameters import load_params_file

    preset_pose, preset_act = load_params_file(preset)
    overridden = {"num_poses"}  # by the num_poses argument above
    assert preset_act and preset_pose
    assert {k: act[k] for k in preset_act} == preset_act
    assert {k: pose[k] for k in preset_pose if k not in overridden} == {
        k: v for k, v in preset_pose.items() if k not in overridden
    }
    assert (
        act["min_frames"],
        act["track_timeout"],
        pose["min_detection_confidence"],
        pose["no_input_warning"],
    ) == (10, 2.0, 0.5, 5.0)
    assert act["use_sim_time"] is False and pose["use_sim_time"] is False

    graph = observer(session.domain_id)
    topics = {}
    wait_until(
        lambda: (
            topics.update(node_topics(graph, "pose_node", "/robot"))
            or {"/cam/image", "/robot/human_poses", "/robot/pose_node/debug_image"} <= set(topics)
        ),
        30,
        f"the namespaced pose node's topics (so far {sorted(topics)})",
    )
    wait_until(
        lambda: "/robot/human_actions" in node_topics(graph, "act_node", "/robot"), 30, "/robot/human_actions"
    )
    stopped_cleanly(launch)
    print(
        f"\nnamespace:=robot + raspberry_pi5.yaml + arguments: act_node model_size="
        f"{act['model_size']} num_threads={act['num_threads']} max_people={act['max_people']} "
        f"min_frames={act['min_frames']}; pose_node model_variant={pose['model_variant']} "
        f"num_poses={pose['num_poses']} max_image_width={pose['max_image_width']} "
        f"publish_debug_image={pose['publish_debug_image']}; stopped in {launch.stop_seconds:.2f} s"
    )


def node_topics(graph: Graph, name: str, namespace: str) -> dict[str, str]:
    """Topics a node subscribes to or publishes, as the graph sees them."""
    node = graph.node
    found = {}
    for query in (node.get_subscriber_names_and_types_by_node, node.get_publisher_names_and_types_by_node):
        try:
            found.update({topic: types[0] for topic, types in query(name, namespace)})
        except Exception:  # not discovered yet
            pass
    return found


def test_replay_launch_runs_the_nodes_on_the_bag_clock(ros2_session, observer):
    """replay.launch.py with a /clock publisher (as `ros2 bag play --clock`): both nodes on sim
    time, actions stamped with the replayed images' times, diagnostics stamped in sim time."""
    from diagnostic_msgs.msg import DiagnosticArray

    session = ros2_session(3)
    sim_start = 1000.0
    launch = session.launch("replay.launch.py", "pose_model:=lite")
    player = session.start(
        CAMERA,
        CLIP,
        "--frames",
        "90",
        "--loop",
        "--sim-start",
        str(sim_start),
        "--ros-args",
        "-r",
        "image_raw:=/camera/image_raw",
        env=CAMERA_README_ENV,
        name="bag_player",
    )
    for pattern in NODES_UP.values():
        launch.wait_for_output(pattern)
    graph = observer(session.domain_id)
    actions = graph.collect(PersonActionArray, "/human_actions")
    diagnostics = graph.collect(DiagnosticArray, "/diagnostics", 50)
    with ThreadPoolExecutor(2) as pool:
        sim = [pool.submit(session.param, f"/{n}", "use_sim_time") for n in NODES_UP]
        assert [s.result() for s in sim] == ["True", "True"]
    wait_until(lambda: sum(len(m.actions) for m in actions.messages) >= 10, 90, "10 labelled actions")
    wait_until(
        lambda: (
            {s.name.split(":")[0] for m in diagnostics.messages for s in m.status}
            >= {"pose_node", "act_node"}
        ),
        30,
        "diagnostics of both nodes",
    )
    player.interrupt()
    sent = set(camera_stamps(player))
    stamps = [stamp_of(m) for m in actions.messages]
    assert set(stamps) <= sent
    diag_stamps = [stamp_of(m) for m in diagnostics.messages]
    # Sim time starts at 1000 s: diagnostics stamped by the nodes' clocks fall in the replayed span.
    assert all(min(sent) <= s <= max(sent) for s in diag_stamps), (
        f"diagnostics stamped outside the replayed time {min(sent)}..{max(sent)}: {diag_stamps}"
    )
    stopped_cleanly(launch)
    print(
        f"\nreplay.launch.py: use_sim_time True on both nodes; {len(set(stamps) & sent)} of "
        f"{len(sent)} replayed images answered, all stamped {sim_start:.0f} s + "
        f"{(min(stamps) - sim_start * 1e9) / 1e9:.2f}..{(max(stamps) - sim_start * 1e9) / 1e9:.2f} s; "
        f"{len(diag_stamps)} diagnostics in sim time; stopped in {launch.stop_seconds:.2f} s"
    )


@pytest.mark.parametrize(
    "argument, message",
    [
        (
            "model_size:=huge",
            r'Argument "model_size" provided value "huge" is not valid\. Valid options '
            r"are: \['', 'micro', 'small', 'medium', 'large'\]",
        ),
        ("num_threads:=abc", r"launch argument num_threads:=abc must be an integer"),
        ("respawn_delay:=soon", r"launch argument respawn_delay:=soon must be a number of seconds"),
    ],
)
def test_bad_launch_arguments_are_refused_with_a_clear_message(ros2_session, argument, message):
    session = ros2_session(4)
    launch = session.launch("act.launch.py", argument)
    assert launch.proc.wait(60) != 0
    out = launch.output()
    assert re.search(message, out), out
    assert "process started" not in out, "nodes were started with a bad argument"


def test_show_args_lists_the_shared_table(ros2_session):
    """`ros2 launch act_ros act.launch.py --show-args`: every argument of act_ros/launch_args.py
    with its description, default and choices (the public face of the launch file)."""
    from act_ros.launch_args import GRAPH_ARGUMENTS, NODE_ARGUMENTS

    session = ros2_session(4)
    out = session.run("launch", "act_ros", "act.launch.py", "--show-args").stdout
    for arg in GRAPH_ARGUMENTS + NODE_ARGUMENTS:
        block = re.search(rf"^    '{arg.name}':\n(.*?)\n        \(default: '(.*?)'\)$", out, re.M | re.S)
        assert block, f"{arg.name} missing from --show-args:\n{out}"
        assert arg.description in " ".join(block.group(1).split())
        assert block.group(2) == arg.default
        if arg.choices:
            assert f"Valid choices are: {list(arg.choices)}" in " ".join(block.group(1).split())


def test_ros2_run_starts_and_stops_both_nodes(ros2_session, observer):
    """`ros2 run act_ros pose_node` / `act_node`: up in the graph with their topics, and a Ctrl-C
    ends each cleanly (exit 0)."""
    session = ros2_session(5)
    runs = {name: session.start("run", "act_ros", name, name=f"run_{name}") for name in NODES_UP}
    for name, proc in runs.items():
        proc.wait_for_output(NODES_UP[name])
    graph = observer(session.domain_id)
    wait_until(
        lambda: {"/image_raw", "/human_poses"} <= set(node_topics(graph, "pose_node", "/")),
        30,
        "pose_node's topics",
    )
    wait_until(
        lambda: {"/human_poses", "/human_actions"} <= set(node_topics(graph, "act_node", "/")),
        30,
        "act_node's topics",
    )
    seconds = {}
    for name, proc in runs.items():
        assert proc.interrupt() == 0, proc.output()[-3000:]
        assert "Traceback" not in proc.output(), proc.output()[-3000:]
        seconds[name] = proc.stop_seconds
    print("\nros2 run: " + ", ".join(f"{n} stopped in {s:.2f} s" for n, s in seconds.items()))


class Lifecycle:
    """The lifecycle services of one node, called from this (another) process."""

    def __init__(self, graph: Graph, node: str) -> None:
        from lifecycle_msgs.srv import ChangeState, GetState

        self.node = node
        self._change = graph.node.create_client(ChangeState, f"{node}/change_state")
        self._get = graph.node.create_client(GetState, f"{node}/get_state")
        for client in (self._change, self._get):
            assert client.wait_for_service(timeout_sec=60), f"{client.srv_name} not offered"

    def _call(self, client, request, timeout: float = 60.0):
        future = client.call_async(request)
        wait_until(future.done, timeout, f"{client.srv_name} to answer")
        return future.result()

    def state(self) -> str:
        from lifecycle_msgs.srv import GetState

        return self._call(self._get, GetState.Request()).current_state.label

    def change(self, transition: str) -> None:
        from lifecycle_msgs.srv import ChangeState

        request = ChangeState.Request()
        request.transition.label = transition
        assert self._call(self._change, request).success, f"{self.node}: {transition} refused"


def latest_status(diagnostics, node: str) -> dict[str, str]:
    """The newest /diagnostics values of ``node`` (plus its message as 'message')."""
    for msg in reversed(diagnostics.messages):
        for status in msg.status:
            if status.name == node:
                return {"message": status.message, **{v.key: v.value for v in status.values}}
    return {}


def launched_pids(launch) -> dict[str, int]:
    """The newest pid of each node process, from launch's 'process started' lines."""
    return {
        name: int(pid)
        for name, pid in re.findall(
            r"\[INFO\] \[(\w+)-\d+\]: process started with pid \[(\d+)\]", launch.output()
        )
    }


def test_managed_nodes_follow_their_lifecycle_from_another_process(ros2_session, observer):
    """autostart:=false: the nodes wait unconfigured; the lifecycle services, called from this
    process, configure (models loaded), activate (work), deactivate (no messages out, no
    inference, next to no CPU), re-activate (fresh windows), clean up and shut down (the
    programs end cleanly)."""
    import psutil
    from diagnostic_msgs.msg import DiagnosticArray

    session = ros2_session(6)
    launch = session.launch("act.launch.py", "autostart:=false", "pose_model:=lite")
    graph = observer(session.domain_id)
    actions = graph.collect(PersonActionArray, "/human_actions")
    diagnostics = graph.collect(DiagnosticArray, "/diagnostics", 50)
    nodes = {name: Lifecycle(graph, f"/{name}") for name in NODES_UP}
    pids = launched_pids(launch)
    procs = {name: psutil.Process(pids[name]) for name in NODES_UP}

    def each(transition: str) -> None:
        for node in nodes.values():
            node.change(transition)

    def states() -> list[str]:
        return [node.state() for node in nodes.values()]

    def diag_states() -> list[str]:
        return [latest_status(diagnostics, n).get("lifecycle_state") for n in NODES_UP]

    assert states() == ["unconfigured"] * 2
    wait_until(lambda: diag_states() == ["unconfigured"] * 2, 30, "diagnostics: unconfigured")
    each("configure")
    assert states() == ["inactive"] * 2
    assert graph.node.count_subscribers("/camera/image_raw") == 0  # configured, not listening

    camera = session.start(
        CAMERA,
        CLIP,
        "--frames",
        "90",
        "--loop",
        "--ros-args",
        "-r",
        "image_raw:=/camera/image_raw",
        env=CAMERA_README_ENV,
        name="camera",
    )
    each("activate")
    assert states() == ["active"] * 2
    wait_until(
        lambda: any(a.window_frames > 12 for m in actions.messages for a in m.actions),
        90,
        "windows filling up",
    )
    active_cpu = cpu_seconds_over(procs, camera, frames=30)

    each("deactivate")
    assert states() == ["inactive"] * 2
    wait_until(
        lambda: graph.node.count_subscribers("/camera/image_raw") == 0, 30, "the pose node to stop listening"
    )
    wait_until(lambda: diag_states() == ["inactive"] * 2, 30, "diagnostics: inactive")
    before = {n: dict(latest_status(diagnostics, n)) for n in NODES_UP}
    answered = len(actions.messages)
    inactive_cpu = cpu_seconds_over(procs, camera, frames=30)  # the camera keeps sending
    after = {n: dict(latest_status(diagnostics, n)) for n in NODES_UP}
    assert len(actions.messages) == answered, "actions published while inactive"
    assert after["pose_node"]["processed"] == before["pose_node"]["processed"]
    assert after["act_node"]["inferences"] == before["act_node"]["inferences"]
    assert "no inference" in after["act_node"]["message"]
    for name in NODES_UP:  # 1 Hz diagnostics only, against estimation / inference at 30 Hz
        assert inactive_cpu[name] <= max(0.25 * active_cpu[name], 0.02), (name, inactive_cpu, active_cpu)

    each("activate")
    wait_until(
        lambda: len(actions.messages) > answered and any(m.actions for m in actions.messages[answered:]),
        90,
        "actions after re-activation",
    )
    resumed = [a for m in actions.messages[answered:] for a in m.actions]
    min_frames = 10  # the code default: the first prediction comes when a window holds 10
    assert resumed[0].window_frames == min_frames, "re-activation kept the old windows"
    camera.interrupt()

    each("deactivate")
    each("cleanup")
    assert states() == ["unconfigured"] * 2
    wait_until(lambda: diag_states() == ["unconfigured"] * 2, 30, "diagnostics: unconfigured")
    for node in nodes.values():
        node.change("shutdown")
    launch.proc.wait(60)  # the programs end once their nodes are finalized; launch after them
    out = launch.output()
    assert launch.proc.returncode == 0, out[-3000:]
    for name in NODES_UP:
        assert re.search(rf"\[{name}-\d+\]: process has finished cleanly", out), out[-3000:]
    print(
        "\nlifecycle: CPU s per 30 camera frames active/inactive: "
        + ", ".join(f"{n} {active_cpu[n]:.2f}/{inactive_cpu[n]:.3f}" for n in NODES_UP)
        + f"; first window after re-activation: {resumed[0].window_frames} frames"
    )


def cpu_seconds_over(procs: dict, camera, frames: int) -> dict[str, float]:
    """CPU seconds each process used while the camera published ``frames`` more images."""
    start = {n: sum(p.cpu_times()[:2]) for n, p in procs.items()}
    sent = len(camera_stamps(camera))
    wait_until(lambda: len(camera_stamps(camera)) >= sent + frames, 60, f"{frames} camera frames")
    return {n: sum(p.cpu_times()[:2]) - start[n] for n, p in procs.items()}
