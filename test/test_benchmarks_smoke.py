"""Every benchmark script runs with a tiny setting and prints well-formed tables.

Speed is never asserted here (benchmarks measure it); these tests only check that each script in
benchmarks/ still runs against the current code, on the real estimator, model and data, and that
its tables are complete (every row with the header's columns, numbers present, no NaN).
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = ROOT / "benchmarks"


def _load_run_all():
    # benchmarks/ is a folder of scripts, not a package: load the runner from its path.
    spec = importlib.util.spec_from_file_location("benchmarks_run_all", BENCHMARKS / "run_all.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return module


run_all = _load_run_all()
SCRIPTS = run_all.benchmark_scripts(BENCHMARKS)


def _run(cmd: list[str], timeout: float = 600) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    # The node benchmark picks its own ROS domain; inside the test run it uses the run's domain
    # (conftest), so it never crosses another test run on the machine.
    env["ACT_ROS_BENCH_DOMAIN_ID"] = env["ROS_DOMAIN_ID"]
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, cwd=str(ROOT))
    assert proc.returncode == 0, (
        f"{' '.join(cmd)} exited {proc.returncode}\n--- stdout\n{proc.stdout[-3000:]}\n"
        f"--- stderr\n{proc.stderr[-3000:]}"
    )
    return proc


def _checked_tables(stdout: str) -> list:
    tables = run_all.find_tables(stdout)
    assert tables, f"no table in the output:\n{stdout[-2000:]}"
    for table in tables:
        run_all.check_table(table)
    return tables


# The node benchmarks start real nodes over DDS (slow); each has its own test below.
NODE_SCRIPTS = {"bench_transport.py", "bench_pose_node.py", "bench_act_node.py", "bench_latency.py"}


def test_the_benchmark_folder_has_the_expected_scripts():
    names = {s.name for s in SCRIPTS}
    assert {"bench_pose.py", "bench_act.py"} | NODE_SCRIPTS <= names
    # The runner and the node benchmarks' shared modules are not benchmarks of their own.
    assert not {"run_all.py", "node_harness.py", "node_servers.py"} & names


@pytest.mark.parametrize("script", [s for s in SCRIPTS if s.name not in NODE_SCRIPTS], ids=lambda s: s.name)
def test_each_benchmark_runs_quick_and_prints_a_well_formed_table(script, tmp_path):
    cmd = run_all.command(script, quick=True, json_dir=tmp_path)
    _checked_tables(_run(cmd).stdout)
    if "--json" in cmd:
        assert json.loads(Path(cmd[cmd.index("--json") + 1]).read_text())


def _node_benchmark(tmp_path, name: str, *extra: str, timeout: float = 600) -> tuple[str, list, dict]:
    """Run a node benchmark as run_all.py does (--quick --json) plus ``extra`` and a chart;
    check its header, tables, chart and the network rule; return (stdout, tables, results)."""
    cmd = run_all.command(BENCHMARKS / name, quick=True, json_dir=tmp_path)
    assert "--quick" in cmd and "--json" in cmd
    png = tmp_path / f"{name}.png"
    out = _run(cmd + ["--png", str(png), *extra], timeout=timeout).stdout
    tables = _checked_tables(out)
    # Machine, versions and load are printed with the numbers.
    for text in (
        "cores",
        "mediapipe",
        "ai-edge-litert",
        "rclpy",
        "load average",
        "ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST",
    ):
        assert text in out, text
    results = json.loads((tmp_path / f"{Path(name).stem}.json").read_text())
    assert results["machine"]["cores"] and results["multicast_groups_seen"] == []
    assert png.stat().st_size > 10_000
    return out, tables, results


@pytest.mark.slow
@pytest.mark.ros  # starts the nodes
def test_transport_benchmark_compares_both_dds_profiles(tmp_path):
    out, tables, results = _node_benchmark(tmp_path, "bench_transport.py")
    assert "### DDS transport" in out and len(tables) == 1
    profiles = results["transport"]["profiles"]
    assert set(profiles) == {"project", "default-transports"}
    # Images went between the processes for real (how many: the table's job, not the test's).
    assert sum(e["delivered"] for e in profiles["project"]) > 0


@pytest.mark.slow
@pytest.mark.ros  # starts the nodes
def test_pose_node_benchmark_times_the_node_against_the_raw_estimator(tmp_path):
    out, tables, results = _node_benchmark(
        tmp_path, "bench_pose_node.py", "--sizes", "640x360", "--compare-executors"
    )
    assert "### Pose node throughput" in out
    assert len(tables) == 3  # throughput, where the time goes, executors
    (res,) = results["pose"]
    # The run went over DDS for real: every frame was answered, and the node's own timing marks
    # came back from its process.
    assert res["node_dds"]["frames"] > 0 and res["node_dds"]["lost"] == 0
    assert set(res["executors"]) == {"single", "multi"}
    assert all(t["total_ms"]["n"] > 0 for t in res["executors"].values())
    assert res["node_in_process"]["estimated_ms"]["n"] > 0


@pytest.mark.slow
@pytest.mark.ros  # starts the nodes
def test_act_node_benchmark_times_1_5_and_20_people(tmp_path):
    out, tables, results = _node_benchmark(tmp_path, "bench_act_node.py", "--compare-executors")
    assert "### AcT node time per message" in out and len(tables) >= 3  # + cProfile if over
    res = results["act"]
    assert sorted(int(p) for p in res["in_process"]) == [1, 5, 20]
    assert len(res["dds"]) == 2
    assert all(r["lost"] == 0 for runs in res["dds"].values() for r in runs.values())
    assert all(r["inferences_per_message"] > 0 for r in res["in_process"].values())


@pytest.mark.slow
@pytest.mark.ros  # starts the nodes
def test_latency_benchmark_runs_both_nodes_in_real_time(tmp_path):
    out, tables, results = _node_benchmark(tmp_path, "bench_latency.py", "--compare-executors")
    assert "### Image stamp -> /human_actions latency" in out and len(tables) == 2
    assert len(results["latency"]) == 2 and all(r["processed"] > 0 for r in results["latency"])


def test_run_all_runs_the_selected_scripts_and_summarises(tmp_path):
    proc = _run(
        [
            sys.executable,
            str(BENCHMARKS / "run_all.py"),
            "--quick",
            "--only",
            "bench_act.py",
            "--json",
            str(tmp_path),
        ]
    )
    assert "## bench_act.py" in proc.stdout and "## Summary" in proc.stdout
    assert "## bench_pose.py" not in proc.stdout
    summary = json.loads((tmp_path / "run_all.json").read_text())
    assert [s["script"] for s in summary] == ["bench_act.py"]
    assert summary[0]["exit_code"] == 0 and summary[0]["problems"] == []


def test_run_all_refuses_an_unknown_script():
    proc = subprocess.run(
        [sys.executable, str(BENCHMARKS / "run_all.py"), "--only", "bench_nothing.py"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode != 0 and "bench_nothing.py" in proc.stderr


def test_table_checker_accepts_both_table_styles():
    text = (
        "intro\n| a | b ms |\n|---|---|\n| x | 1.5 |\n| y | n/a |\n\n"
        "model    prec  median ms\n------------------------\nmicro    fp32      0.109\n"
    )
    tables = run_all.find_tables(text)
    assert [t.kind for t in tables] == ["markdown", "fixed"]
    assert [len(t.rows) for t in tables] == [2, 1]
    with pytest.raises(ValueError, match="no number"):
        run_all.check_table(tables[0])  # the 'y | n/a' row has no number
    run_all.check_table(tables[1])


@pytest.mark.parametrize(
    "text, problem",
    [
        ("| a | b |\n|---|---|\n| 1 |\n", "1 cells, header 2"),
        ("| a | b |\n|---|---|\n| 1 | nan |\n", "nan"),
        ("| a | b |\n|---|---|\n| 1 |  |\n", "empty cell"),
        ("| a | b |\n|---|---|\n", "no rows"),
        ("name       ms\n-------------\nmicro  0.1234567890123\n", "wider than its header"),
    ],
)
def test_table_checker_names_what_is_malformed(text, problem):
    tables = run_all.find_tables(text)
    assert len(tables) == 1
    with pytest.raises(ValueError, match=problem):
        run_all.check_table(tables[0])
