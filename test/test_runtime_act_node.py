"""The AcT node, for real: the shipped model (TFLite), real pose sequences, DDS on loopback.

Each bad-input case checks three things: the node says so (a counter on /diagnostics), it does
not publish garbage, and it keeps working on the next good message.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from diagnostic_msgs.msg import DiagnosticArray
from rclpy.parameter import Parameter
from rclpy.qos import QoSProfile, ReliabilityPolicy

from act_ros.msg import PersonActionArray, PersonPose2DArray
from node_fixtures import lzq_sequences, pose_array_msg, stamp_ns_of
from ros_harness import wait_until

QOS = QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE)


def _shipped_period_ns() -> int:
    from act_ros.model_spec import load_model_spec
    from act_ros.runtime import shipped_model_path

    return round(1e9 / load_model_spec(shipped_model_path("micro")).frame_rate)


PERIOD_NS = _shipped_period_ns()  # the shipped model's frame rate: every frame enters the window
T0 = 1_700_000_000 * 1_000_000_000


class ActHarness:
    """An in-process ActNode wired to a publisher of poses and collectors of its outputs."""

    def __init__(self, graph, **params) -> None:
        from act_ros.ros.act_node import ActNode

        params.setdefault("no_input_warning", 0.0)
        self.node = graph.add(
            ActNode(
                context=graph.context, parameter_overrides=[Parameter(k, value=v) for k, v in params.items()]
            )
        )
        self.graph = graph
        self.pub = graph.publisher(PersonPose2DArray, "human_poses", QOS)
        self.actions = graph.collect(PersonActionArray, "human_actions", QOS)
        self.diagnostics = graph.collect(DiagnosticArray, "/diagnostics", 50)
        graph.wait_for_subscribers(self.pub)
        wait_until(lambda: graph.node.count_publishers("/human_actions") >= 1, 10, "act_node output")
        wait_until(lambda: self.node.count_subscribers("/human_actions") >= 1, 10, "output matched")

    def send(self, msg: PersonPose2DArray, timeout: float = 15.0) -> PersonActionArray:
        """Publish one pose message and return the action message computed from it."""
        n = len(self.actions.messages)
        self.pub.publish(msg)
        return self.actions.wait_for(n + 1, timeout, "an action message")[n]

    def send_silently_dropped(self, msg: PersonPose2DArray, then: PersonPose2DArray) -> list:
        """Publish a message the node must drop, then a good one; return what came out."""
        n = len(self.actions.messages)
        self.pub.publish(msg)
        self.pub.publish(then)
        got = self.actions.wait_for(n + 1, 15, "the good message's actions")[n:]
        return got

    def diagnostic_value(self, key: str) -> str:
        """The node's value of ``key`` in a /diagnostics report published after this call."""
        n = len(self.diagnostics.messages)
        reports = self.diagnostics.wait_for(n + 2, 10, "two diagnostics reports")[n + 1 :]
        mine = [s for m in reports for s in m.status if s.name.endswith("act_node")]
        assert mine, "no act_node status on /diagnostics"
        return {kv.key: kv.value for kv in mine[-1].values}[key]

    def diagnostic_status(self) -> tuple[int, str]:
        """(level, message) of the node's next /diagnostics report."""
        n = len(self.diagnostics.messages)
        reports = self.diagnostics.wait_for(n + 2, 10, "two diagnostics reports")[n + 1 :]
        mine = [s for m in reports for s in m.status if s.name.endswith("act_node")][-1]
        return mine.level[0] if isinstance(mine.level, bytes) else mine.level, mine.message


def walk_through(
    harness: ActHarness, sequences: dict[int, np.ndarray], frames: int, start_ns: int = T0, offset: int = 0
) -> list[PersonActionArray]:
    out = []
    ids = list(sequences)
    for i in range(frames):
        kp = np.stack([sequences[t][offset + i] for t in ids])
        out.append(harness.send(pose_array_msg(start_ns + i * PERIOD_NS, ids, kp)))
    return out


@pytest.fixture
def act(ros_graph):
    # These tests are about the node's mechanics: every window gets a class (no reject).
    return ActHarness(ros_graph, min_frames=10, smoothing=0.0, unknown_threshold=0.0)


def test_unknown_by_default_at_the_model_threshold_and_the_parameter_overrides_it(ros_graph):
    """Real poses of an action the shipped model never learnt (LZQ "operate"): by default the
    node flags exactly the windows whose score under the model's reject rule (max_logit) is
    below the threshold in its description; a probability threshold given at run time switches
    to that rule, 0 turns the reject off, -1 brings the model's back."""
    from act_ros.preprocessing import pose_features
    from act_ros.reject import reject_scores

    act = ActHarness(ros_graph, min_frames=30)
    clf = act.node.classifier
    config = act.node.recognizer.config
    assert clf.reject_rule == config.unknown_rule == "max_logit"
    assert config.unknown_threshold == pytest.approx(clf.unknown_threshold)
    seq = lzq_sequences()["operate"]
    out = walk_through(act, {7: seq}, 60)
    got = [m.actions[0] for m in out[29:]]
    windows = np.stack([seq[i - 29 : i + 1] for i in range(29, 60)])
    features = pose_features(windows)
    probs = clf.predict_proba(features)
    expect_unknown = reject_scores("max_logit", clf.predict_logits(features) / clf.temperature) < (
        clf.unknown_threshold
    )
    flagged = np.array([a.label_index == -1 for a in got])
    np.testing.assert_array_equal(flagged, expect_unknown)
    assert flagged.any(), "no window of the never-learnt action was flagged"
    for a in got:
        assert (a.label == "unknown") == (a.label_index == -1)
        assert abs(sum(a.scores) - 1) < 1e-4 and a.confidence == pytest.approx(max(a.scores))
    np.testing.assert_allclose([a.scores for a in got], probs, atol=1e-5)

    act.node.set_parameters([Parameter("unknown_threshold", value=0.6)])
    config = act.node.recognizer.config
    assert (config.unknown_rule, config.unknown_threshold) == ("max_probability", 0.6)
    act.node.set_parameters([Parameter("unknown_threshold", value=0.0)])
    later = walk_through(act, {7: seq}, 5, start_ns=T0 + 60 * PERIOD_NS, offset=30)
    assert all(a.label_index >= 0 for m in later for a in m.actions)
    act.node.set_parameters([Parameter("unknown_threshold", value=-1.0)])
    config = act.node.recognizer.config
    assert config.unknown_rule == "max_logit"
    assert config.unknown_threshold == pytest.approx(clf.unknown_threshold)


def test_two_people_get_their_own_labels_with_one_inference_per_frame(act):
    seqs = lzq_sequences()
    people = {1: seqs["stand"], 2: seqs["fall_down"]}
    out = walk_through(act, people, 40, offset=20)
    spec = act.node.classifier
    assert len(out) == 40
    for i, msg in enumerate(out):
        assert stamp_ns_of(msg) == T0 + i * PERIOD_NS  # the pose message's stamp, not wall time
        assert msg.header.frame_id == "camera"
        assert list(msg.class_names) == list(spec.class_names)
        expected_people = 0 if i + 1 < 10 else 2
        assert len(msg.actions) == expected_people, i
        for a in msg.actions:
            assert a.label in spec.class_names and a.label == spec.class_names[a.label_index]
            scores = np.asarray(a.scores)
            assert scores.shape == (len(spec.class_names),) and np.isfinite(scores).all()
            assert abs(scores.sum() - 1) < 1e-4 and a.confidence == pytest.approx(scores.max())
            assert a.window_frames == min(i + 1, spec.window_length)
            assert a.window_length == spec.window_length
    votes = {tid: Counter(a.label for m in out for a in m.actions if a.track_id == tid) for tid in people}
    assert votes[1].most_common(1)[0][0] == "stand", votes
    assert votes[2].most_common(1)[0][0] == "lie_down", votes  # LZQ's fall_down
    # Both people went through ONE TFLite call per frame once their windows were ready.
    assert act.node.recognizer.stats.inferences == 40 - 9


def test_corrupt_keypoints_become_missing_points_and_are_counted(act):
    seq = lzq_sequences()["stand"]
    out = walk_through(act, {3: seq}, 12)
    bad = seq[12].copy()
    bad[0, 0] = np.nan
    bad[5, 1] = np.inf
    bad[9, :2] = 1e12
    bad[10, 2] = 7.0  # confidence outside [0, 1]
    msg = act.send(pose_array_msg(T0 + 12 * PERIOD_NS, [3], bad[None]))
    assert len(msg.actions) == 1 and np.isfinite(msg.actions[0].scores).all()
    assert out[-1].actions[0].label_index >= 0
    assert int(act.diagnostic_value("people_with_invalid_keypoints")) == 1
    nxt = act.send(pose_array_msg(T0 + 13 * PERIOD_NS, [3], seq[13][None]))
    assert len(nxt.actions) == 1


def test_wrong_keypoint_layout_is_rejected_and_the_node_keeps_going(act):
    seq = lzq_sequences()["walk"]
    walk_through(act, {1: seq}, 10)
    wrong = pose_array_msg(T0 + 10 * PERIOD_NS, [1], seq[10][None], layout="body25")
    good = pose_array_msg(T0 + 11 * PERIOD_NS, [1], seq[11][None])
    got = act.send_silently_dropped(wrong, good)
    assert [stamp_ns_of(m) for m in got] == [T0 + 11 * PERIOD_NS]
    assert int(act.diagnostic_value("rejected_messages")) == 1
    # The reason, and when it happened (issue 11, item 6).
    assert "keypoint_layout 'body25'" in act.diagnostic_value("last_error")
    assert 0.0 <= float(act.diagnostic_value("last_error_age_s")) < 60.0


def test_duplicate_ids_in_one_frame_keep_the_first(act):
    seqs = lzq_sequences()
    for i in range(12):
        kp = np.stack([seqs["walk"][i], seqs["squat"][i]])
        msg = act.send(pose_array_msg(T0 + i * PERIOD_NS, [5, 5], kp))
    assert [a.track_id for a in msg.actions] == [5]
    assert int(act.diagnostic_value("duplicate_track_ids")) == 12


def test_five_hundred_people_are_bounded_by_max_people(ros_graph):
    act = ActHarness(ros_graph, min_frames=2, max_people=32)
    seq = lzq_sequences()["stand"]
    rng = np.random.default_rng(0)
    for i in range(3):
        kp = seq[i][None] + rng.normal(0, 2, (500, 17, 3)).astype(np.float32) * [1, 1, 0]
        msg = act.send(pose_array_msg(T0 + i * PERIOD_NS, range(1, 501), kp), timeout=60)
    assert len(msg.actions) == 32
    assert {a.track_id for a in msg.actions} == set(range(1, 33))
    assert act.node.recognizer.num_tracks == 32
    assert int(act.diagnostic_value("over_capacity_people")) == 3 * 468
    # Still responsive, and people beyond the cap get a window once slots free up.
    later = act.send(pose_array_msg(T0 + 100 * PERIOD_NS, [600], seq[3][None]))
    assert later.actions == [] and act.node.recognizer.num_tracks == 1


def _serialized_crowd(stamp_ns: int, people: int) -> bytes:
    """A serialized PersonPose2DArray of ``people`` distinct people, built from the bytes of a
    one-person message (rclpy would take seconds to build 50,000 people as objects)."""
    from rclpy.serialization import serialize_message

    from act_ros.messages import PERSON_CDR_SIZE

    one = serialize_message(pose_array_msg(stamp_ns, [1], lzq_sequences()["stand"][:1]))
    head, person = one[: len(one) - 4 - PERSON_CDR_SIZE], one[len(one) - PERSON_CDR_SIZE :]
    crowd = np.frombuffer(person * people, np.uint8).reshape(people, PERSON_CDR_SIZE).copy()
    crowd[:, :4] = np.arange(1, people + 1, dtype="<u4").view(np.uint8).reshape(people, 4)
    return head + people.to_bytes(4, "little") + crowd.tobytes()


def test_fifty_thousand_people_are_dropped_before_they_are_read(act):
    """Issue 11, item 5: 50,000 people in one message blocked the node for 3.8 s and took it to
    437 MB: every person was converted before max_people applied. Now only the first
    4 x max_people are read from the message's bytes; the rest is counted and dropped."""
    import tracemalloc

    raw = _serialized_crowd(T0, 50_000)  # 11 MB on the wire
    n = len(act.actions.messages)
    tracemalloc.start()
    try:
        act.pub.publish(raw)
        msg = act.actions.wait_for(n + 1, 60, "the crowd's action message")[n]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Python objects for every person (the old path) took ~230 MB; the bytes themselves 11 MB.
    assert peak < 40 * 2**20, f"{peak / 2**20:.0f} MB traced while handling the message"
    assert stamp_ns_of(msg) == T0 and msg.actions == []  # no window is ready after one frame
    assert act.node.recognizer.num_tracks == 64  # max_people
    assert int(act.diagnostic_value("over_capacity_people")) == 50_000 - 64
    nxt = act.send(pose_array_msg(T0 + PERIOD_NS, [1], lzq_sequences()["stand"][1:2]))
    assert stamp_ns_of(nxt) == T0 + PERIOD_NS


def test_out_of_order_repeated_stamps_and_time_jumps(act):
    seq = lzq_sequences()["wave"]
    walk_through(act, {1: seq}, 15)
    last = T0 + 14 * PERIOD_NS
    # A repeat of the newest stamp: answered (held result) but the window does not grow.
    rep = act.send(pose_array_msg(last, [1], seq[14][None]))
    assert rep.actions[0].window_frames == 15
    # Slightly older than the newest: dropped as out of order (no action list change).
    old = act.send(pose_array_msg(last - 3 * PERIOD_NS, [1], seq[11][None]))
    assert old.actions == []
    # Far back in time (a bag loop): every window restarts.
    for i in range(10):
        msg = act.send(pose_array_msg(T0 - 3_600_000_000_000 + i * PERIOD_NS, [1], seq[i][None]))
    assert msg.actions[0].window_frames == 10
    assert int(act.diagnostic_value("out_of_order_frames")) == 1
    assert int(act.diagnostic_value("repeated_stamps")) == 1
    assert int(act.diagnostic_value("time_jumps_back")) == 1


def test_a_stream_that_stops_and_restarts_starts_fresh_windows(ros_graph):
    # (no_input_warning: the status below must not turn to "no pose input" while it is read)
    act = ActHarness(ros_graph, min_frames=5, track_timeout=1.0, no_input_warning=60.0)
    seq = lzq_sequences()["walk"]
    out = walk_through(act, {1: seq}, 8)
    assert out[-1].actions[0].window_frames == 8
    # 5 s of silence (message time), then the same person again.
    out = walk_through(act, {1: seq}, 6, start_ns=T0 + 13 * 10**9)
    assert [len(m.actions) for m in out] == [0, 0, 0, 0, 1, 1]
    assert out[-1].actions[0].window_frames == 6
    assert int(act.diagnostic_value("tracks_forgotten")) == 1
    # People leaving is normal: not reported as dropped input (issue 11, item 12).
    assert act.diagnostic_status() == (0, "running")


def test_nan_free_output_for_people_with_no_keypoints_at_all(act):
    empty = np.zeros((17, 3), np.float32)
    for i in range(12):
        msg = act.send(pose_array_msg(T0 + i * PERIOD_NS, [9], empty[None]))
    assert len(msg.actions) == 1 and np.isfinite(msg.actions[0].scores).all()


def test_missing_and_mismatched_models_fail_at_start_with_the_path(ros_context, tmp_path):
    from act_ros.model_spec import ModelMismatchError
    from act_ros.ros.act_node import ActNode
    from act_ros.runtime import shipped_model_path

    missing = tmp_path / "nope.tflite"
    with pytest.raises(FileNotFoundError, match=str(missing)):
        ActNode(context=ros_context, parameter_overrides=[Parameter("model_path", value=str(missing))])

    shipped = shipped_model_path("micro")
    copy = tmp_path / "model.tflite"
    copy.write_bytes(shipped.read_bytes())
    sidecar = shipped.with_suffix(".json").read_text().replace('"coco17"', '"body25"')
    copy.with_suffix(".json").write_text(sidecar)
    with pytest.raises(ModelMismatchError) as err:
        ActNode(context=ros_context, parameter_overrides=[Parameter("model_path", value=str(copy))])
    assert str(copy) in str(err.value) and "coco17" in str(err.value)


def test_a_bad_model_path_ends_the_process_with_a_clear_message(node_process, tmp_path):
    missing = tmp_path / "missing_model.tflite"
    proc = node_process("act_ros.ros.act_node", params={"model_path": str(missing)})
    code = proc.proc.wait(60)
    assert code == 1
    assert str(missing) in proc.log() and "FileNotFoundError" in proc.log()


def test_unknown_parameter_choices_are_refused(ros_context):
    from act_ros.ros.act_node import ActNode

    with pytest.raises(ValueError, match="model_size.*micro, small, medium, large"):
        ActNode(context=ros_context, parameter_overrides=[Parameter("model_size", value="huge")])


def test_the_node_restarts_while_poses_keep_coming(ros_graph, node_process):
    """An AcT node process killed and started again picks the stream up (no stale state)."""
    seq = lzq_sequences()["wave"]
    pub = ros_graph.publisher(PersonPose2DArray, "human_poses", QOS)
    actions = ros_graph.collect(PersonActionArray, "human_actions", QOS)

    def run_once(start_ns: int) -> list[PersonActionArray]:
        proc = node_process("act_ros.ros.act_node", params={"min_frames": 3, "no_input_warning": 0.0})
        ros_graph.wait_for_subscribers(pub, timeout=60)
        wait_until(lambda: ros_graph.node.count_publishers("/human_actions") >= 1, 30, "output")
        before = len(actions.messages)
        for i in range(5):
            n = len(actions.messages)
            pub.publish(pose_array_msg(start_ns + i * PERIOD_NS, [1], seq[i][None]))
            actions.wait_for(n + 1, 30, "actions from the restarted node")
        proc.kill()
        wait_until(lambda: pub.get_subscription_count() == 0, 30, "the old node to vanish")
        return actions.messages[before:]

    first = run_once(T0)
    second = run_once(T0 + 10**9)
    for run in (first, second):
        assert [len(m.actions) for m in run] == [0, 0, 1, 1, 1]
        assert [m.actions[0].window_frames for m in run[2:]] == [3, 4, 5]


def test_a_model_that_cannot_load_fails_configure_and_the_node_stays_unconfigured(ros_context, tmp_path):
    """Managed: the failure is the configure transition's (named), not the process's."""
    from act_ros.ros.act_node import ActNode

    missing = tmp_path / "missing.tflite"
    node = ActNode(
        context=ros_context,
        autostart=False,
        parameter_overrides=[Parameter("model_path", value=str(missing))],
    )
    try:
        assert node.lifecycle_state == "unconfigured" and node.recognizer is None
        node.trigger_configure()
        assert node.lifecycle_state == "unconfigured"
        assert str(missing) in str(node.transition_error)
        level, message, values = node._status()
        assert "last transition failed" in message and values["lifecycle_state"] == "unconfigured"
    finally:
        node.close()
        node.destroy_node()
