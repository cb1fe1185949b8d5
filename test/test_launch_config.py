"""Launch files and configuration without running them: every config key and every launch
argument reaches a parameter the nodes really declare, with a valid value. The launch files
themselves are run for real, with the real `ros2 launch`, in test_launch_commands.py."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from act_ros.launch_args import (
    GRAPH_ARGUMENTS,
    NODE_ARGUMENTS,
    graph_settings,
    node_environment,
    parameter_overrides,
)

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = sorted((ROOT / "config").glob("*.yaml"))


def node_parameters() -> dict:
    from act_ros.parameters import ACT_NODE_PARAMETERS, POSE_NODE_PARAMETERS

    return {
        "pose_node": {p.name: p for p in POSE_NODE_PARAMETERS},
        "act_node": {p.name: p for p in ACT_NODE_PARAMETERS},
    }


def test_the_nodes_declare_exactly_the_shared_tables():
    from act_ros.parameters import ACT_NODE_PARAMETERS, POSE_NODE_PARAMETERS
    from act_ros.ros import act_node, pose_node

    assert act_node.PARAMETERS is ACT_NODE_PARAMETERS
    assert pose_node.PARAMETERS is POSE_NODE_PARAMETERS


def check_value(spec, value) -> None:
    if isinstance(spec.default, bool):
        assert isinstance(value, bool), f"{spec.name}: {value!r} is not a bool"
    elif isinstance(spec.default, int):
        assert isinstance(value, int) and not isinstance(value, bool), f"{spec.name}: {value!r}"
    elif isinstance(spec.default, float):
        assert isinstance(value, (int, float)) and not isinstance(value, bool), f"{spec.name}: {value!r}"
    else:
        assert isinstance(value, type(spec.default)), f"{spec.name}: {value!r}"
    if spec.range is not None:
        assert spec.range[0] <= value <= spec.range[1], f"{spec.name}={value} outside {spec.range}"
    if spec.choices is not None:
        assert value in spec.choices, f"{spec.name}={value!r} not in {spec.choices}"


def sections(path: Path) -> dict[str, dict]:
    """node name -> its ros__parameters; every section is keyed `/**/<node>` so that it also
    applies to the nodes in a namespace (`namespace:=robot`)."""
    data = yaml.safe_load(path.read_text())
    out = {}
    for key, section in data.items():
        assert key.startswith("/**/"), f"{path.name}: section '{key}' only matches one namespace"
        out[key[len("/**/") :]] = section["ros__parameters"]
    return out


@pytest.mark.parametrize("path", CONFIGS, ids=[p.name for p in CONFIGS])
def test_every_config_key_is_a_declared_parameter_with_a_valid_value(path):
    declared = node_parameters()
    data = sections(path)
    assert set(data) <= set(declared), f"unknown node sections in {path.name}: {set(data) - set(declared)}"
    for node, params in data.items():
        for key, value in params.items():
            assert key in declared[node], f"{path.name}: {node} declares no parameter '{key}'"
            check_value(declared[node][key], value)


@pytest.mark.parametrize("path", CONFIGS, ids=[p.name for p in CONFIGS])
def test_config_files_hold_only_deviations_from_the_code_defaults(path):
    """One place per parameter: a file repeating a default would silently disagree with the
    code the day the default changes (ros2 run and ros2 launch would start differently)."""
    declared = node_parameters()
    for node, params in sections(path).items():
        for key, value in params.items():
            assert value != declared[node][key].default, (
                f"{path.name}: {node}.{key} = {value!r} repeats the default"
            )


def test_presets_explain_every_value():
    for path in CONFIGS:
        if path.name == "act_ros.yaml":
            continue
        for line in path.read_text().splitlines():
            if ":" in line and not line.strip().startswith("#") and line.startswith("    "):
                assert "#" in line, f"{path.name}: value without a reason: {line.strip()}"


def test_every_launch_argument_lands_on_a_declared_parameter():
    declared = node_parameters()
    for arg in NODE_ARGUMENTS:
        spec = declared[arg.node][arg.parameter]
        sample = {bool: "true", int: str(spec.range[0] if spec.range else 1), str: ""}[arg.type]
        if arg.choices:
            sample = next(c for c in arg.choices if c)
        if arg.type is str and not arg.choices:
            sample = "x"
        overrides = parameter_overrides({arg.name: sample})
        value = overrides[arg.node][arg.parameter]
        if arg.parameter != "model_path":
            check_value(spec, value)
    # Empty arguments leave the params file alone; use_sim_time reaches both nodes.
    assert parameter_overrides({}) == {
        "pose_node": {"use_sim_time": False},
        "act_node": {"use_sim_time": False},
    }
    assert parameter_overrides({"use_sim_time": "true"})["act_node"]["use_sim_time"] is True
    with pytest.raises(ValueError, match="model_size"):
        parameter_overrides({"model_size": "huge"})
    with pytest.raises(ValueError, match="num_threads"):
        parameter_overrides({"num_threads": "four"})


def test_launch_files_declare_the_arguments_from_the_shared_table():
    text = (ROOT / "launch" / "act.launch.py").read_text()
    assert "GRAPH_ARGUMENTS + NODE_ARGUMENTS" in text
    names = {a.name for a in GRAPH_ARGUMENTS + NODE_ARGUMENTS}
    assert {
        "model_size",
        "num_threads",
        "image_topic",
        "params_file",
        "use_sim_time",
        "pose_model",
        "num_poses",
        "namespace",
        "debug_image",
    } <= names
    replay = (ROOT / "launch" / "replay.launch.py").read_text()
    assert '("use_sim_time", "true")' in replay


def test_graph_arguments_are_typed_and_bad_values_named():
    settings = graph_settings({"namespace": "robot", "respawn": "true", "respawn_delay": "0.5"})
    assert (settings.namespace, settings.respawn, settings.respawn_delay, settings.autostart) == (
        "robot",
        True,
        0.5,
        True,
    )
    assert settings.image_topic == "/camera/image_raw"
    defaults = graph_settings({})
    assert (defaults.autostart, defaults.respawn, defaults.respawn_delay) == (True, False, 2.0)
    with pytest.raises(ValueError, match="respawn_delay:=soon must be a number of seconds"):
        graph_settings({"respawn_delay": "soon"})
    with pytest.raises(ValueError, match="respawn_delay:=-1 must be 0..3600 s"):
        graph_settings({"respawn_delay": "-1"})
    with pytest.raises(ValueError, match="autostart:=yes must be true or false"):
        graph_settings({"autostart": "yes"})


def test_launched_nodes_get_the_project_profile_unless_the_user_chose_one():
    profile = "/share/act_ros/config/fastdds_profile.xml"
    assert node_environment({}, profile) == {"FASTDDS_DEFAULT_PROFILES_FILE": profile}
    assert node_environment({"RMW_IMPLEMENTATION": "rmw_fastrtps_cpp"}, profile) != {}
    assert node_environment({"FASTDDS_DEFAULT_PROFILES_FILE": "/mine.xml"}, profile) == {}
    assert node_environment({"FASTRTPS_DEFAULT_PROFILES_FILE": "/mine.xml"}, profile) == {}
    assert node_environment({"RMW_IMPLEMENTATION": "rmw_cyclonedds_cpp"}, profile) == {}


def test_readme_tables_match_the_code():
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "readme_tables.py"), "--check"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


def test_every_default_survives_the_command_line_as_ros_reads_it():
    # `--ros-args -p name:=TEXT` is read as YAML by rcl: the harnesses and tools that start the
    # nodes this way must give every declared parameter back with its own type and value.
    from act_ros.parameters import ros_arg_value

    for table in node_parameters().values():
        for spec in table.values():
            back = yaml.safe_load(ros_arg_value(spec.default))
            assert back == spec.default and type(back) is type(spec.default), spec.name
    assert yaml.safe_load(ros_arg_value([1.5, True, "a"])) == [1.5, True, "a"]
