"""A file or bag run is hermetic (issue 11, items 1 and 14): two `act-ros run` at once and a
foreign publisher on the same topics give outputs identical to a lone run; joining the shared
graph on purpose is possible, and then the foreign traffic is reported loudly (exit code 4)."""

from __future__ import annotations

import json
import re
import socket

import pytest

import cli_runs
from act_ros import exit_codes, private_domain

FRAMES = 60  # 2 s of the clip: actions start after 1 s (10 frames at the model's 10 fps)


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return cli_runs.small_clip(tmp_path_factory.mktemp("clip") / "clip.mp4", FRAMES)


def _outputs(done) -> tuple[list[str], str]:
    """What a run produced: its action lines, and the pose node's counters."""
    assert done.returncode == 0, done.stderr[-3000:]
    actions = [line for line in done.stdout.splitlines() if "] person " in line]
    counters = re.search(r"pose node: (\{.*\})", done.stderr).group(1)
    return actions, counters


def test_private_domains_are_exclusive_and_skip_busy_ones(tmp_path):
    first = private_domain.reserve(folder=tmp_path)
    second = private_domain.reserve(folder=tmp_path)
    assert first.domain != second.domain
    assert first.domain in private_domain.PRIVATE_DOMAINS
    first.release()
    # A program that takes no lock but holds a domain's DDS port: that domain is skipped.
    # (Other programs on this machine may hold some domains too: they are skipped as well.)
    busy = next(
        d
        for d in private_domain.PRIVATE_DOMAINS
        if d != second.domain and not private_domain.domain_in_use(d)
    )
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("0.0.0.0", private_domain.domain_ports(busy)[2]))
    leases = [second]
    try:
        assert private_domain.domain_in_use(busy)
        with pytest.raises(private_domain.NoPrivateDomain, match="--join-graph"):
            for _ in private_domain.PRIVATE_DOMAINS:  # until every domain is taken
                leases.append(private_domain.reserve(folder=tmp_path))
        domains = [lease.domain for lease in leases]
        assert busy not in domains and len(set(domains)) == len(domains)
    finally:
        sock.close()
        for lease in leases:
            lease.release()


@pytest.mark.slow
def test_two_runs_at_once_beside_a_foreign_publisher_match_a_lone_run(clip, tmp_path, ros_graph):
    args = ("--source", str(clip), "--max-frames", str(FRAMES))
    lone = cli_runs.run("run", *args, "--output", str(tmp_path / "lone.mp4"))
    lone_actions, lone_counters = _outputs(lone)
    assert lone_actions, lone.stdout
    assert f"'received': {FRAMES}, 'processed': {FRAMES}" in lone_counters
    assert re.search(r"ROS graph: private \(domain (\d+)", lone.stderr)
    with cli_runs.ForeignTraffic(ros_graph) as foreign:  # on this test's domain = the runs' env
        runs = [cli_runs.start("run", *args, "--output", str(tmp_path / f"run{i}.mp4")) for i in range(2)]
        done = [(p, *p.communicate(timeout=600)) for p in runs]
    assert foreign.sent > 20
    domains = set()
    for proc, out, err in done:
        result = cli_runs.subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
        assert _outputs(result) == (lone_actions, lone_counters)
        assert "act-ros run: WARNING" not in err
        domains.add(re.search(r"ROS graph: private \(domain (\d+)", err).group(1))
    assert len(domains) == 2  # each run had a graph of its own


@pytest.mark.slow
def test_joining_the_shared_graph_reports_the_foreign_traffic(clip, ros_graph):
    # Slower than above: each foreign image can replace a frame of the run in the pose node.
    with cli_runs.ForeignTraffic(ros_graph, rate_hz=5):
        # The whole clip (60 frames, ~2 s with the top-down lite default): long enough for the
        # foreign publisher to be discovered and heard whatever the machine's speed.
        done = cli_runs.run(
            "run", "--source", str(clip), "--max-frames", str(FRAMES), "--join-graph", "--quiet"
        )
    assert done.returncode == exit_codes.FOREIGN_TRAFFIC, done.stderr[-3000:]
    assert "(--join-graph: shared with other programs)" in done.stderr
    assert re.search(r"WARNING: the nodes received \d+ input messages for \d+ sent", done.stderr)
    assert "result message(s) carried stamps this run never sent" in done.stderr


@pytest.fixture(scope="module")
def clip_bag(clip, tmp_path_factory):
    from act_ros.bag.make_bag import main

    folder = tmp_path_factory.mktemp("bag")
    labels = folder / "labels.csv"
    labels.write_text("start,end,label\n0.0,2.0,walk\n")
    bag = folder / "clip_bag"
    assert (
        main([str(clip), "--labels", str(labels), "-o", str(bag), "--quiet", "--start-time", "1700000000"])
        == 0
    )
    return bag


@pytest.mark.slow
def test_evaluate_in_process_is_hermetic_and_says_when_it_is_not(clip_bag, tmp_path, ros_graph):
    direct = cli_runs.run("evaluate", str(clip_bag), "--direct", "--quiet", "-o", str(tmp_path / "d"))
    assert direct.returncode == 0, direct.stderr[-3000:]
    with cli_runs.ForeignTraffic(ros_graph):
        private = cli_runs.run("evaluate", str(clip_bag), "--quiet", "-o", str(tmp_path / "p"))
    with cli_runs.ForeignTraffic(ros_graph, rate_hz=5):  # (see the run above)
        # At the recorded speed (2 s): as fast as possible the nodes could be done before the
        # foreign publisher is even discovered.
        shared = cli_runs.run(
            "evaluate",
            str(clip_bag),
            "--quiet",
            "--join-graph",
            "--rate",
            "1",
            "--frame-timeout",
            "3",
            "-o",
            str(tmp_path / "s"),
        )
    assert private.returncode == exit_codes.OK, private.stderr[-3000:]
    reports = {name: json.loads((tmp_path / name / "report.json").read_text()) for name in "dps"}
    assert reports["p"]["integrity"]["problems"] == [] and reports["p"]["integrity"]["received"] == FRAMES
    assert reports["p"]["run"]["ros_graph"].endswith("(private)")
    # Undisturbed: the same pairs and predictions as without ROS at all.
    assert reports["p"]["score"]["pairs"] == reports["d"]["score"]["pairs"]
    # On the shared graph the foreign images and results are seen, and said loudly.
    assert shared.returncode == exit_codes.FOREIGN_TRAFFIC, shared.stderr[-3000:]
    problems = reports["s"]["integrity"]["problems"]
    assert any("stamps this run never sent" in p for p in problems), problems
    assert any(re.search(r"received \d+ input messages for \d+ sent", p) for p in problems), problems
    assert "WARNING: results the bag did not cause" in shared.stderr
    assert "## WARNING: results the bag did not cause" in (tmp_path / "s" / "report.md").read_text()
