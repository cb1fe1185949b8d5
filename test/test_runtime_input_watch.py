"""What the nodes say when their input does not arrive (act_ros/ros/input_watch.py), from the
numbers they sample; the launch tests see the same words from a real camera process."""

from __future__ import annotations

from act_ros.ros.input_watch import InputWatch


def watch_after(samples: list[tuple[float, int, int]]) -> InputWatch:
    watch = InputWatch("image", "sensor-data QoS")
    for now, received, lost in samples:
        watch.sample(received, lost, now=now)
    return watch


def test_mostly_lost_input_is_named_with_the_fix_even_while_some_arrives():
    watch = watch_after([(0.0, 0, 0), (1.0, 3, 10), (2.0, 6, 20)])
    kind, text = watch.diagnose(silent_s=0.1, limit_s=5.0, on_topic=1, matched=1)
    assert kind == "lost"
    assert text.startswith("20 of 26 images sent in the last 2 s were lost before reaching this node")
    assert (
        "FASTDDS_DEFAULT_PROFILES_FILE=$(ros2 pkg prefix act_ros)/share/act_ros/config/"
        "fastdds_profile.xml" in text
    )


def test_a_few_losses_among_many_images_are_not_a_problem():
    watch = watch_after([(0.0, 0, 0), (1.0, 30, 1), (2.0, 60, 2)])
    assert watch.diagnose(silent_s=0.0, limit_s=5.0, on_topic=1, matched=1) is None


def test_losses_age_out_of_the_window():
    watch = watch_after([(0.0, 0, 0), (1.0, 0, 30)] + [(t, 0, 30) for t in range(2, 14)])
    assert watch.window()[2] == 0
    assert watch.diagnose(silent_s=0.0, limit_s=5.0, on_topic=1, matched=1) is None


def test_silence_names_the_missing_publisher_the_mismatch_or_the_silent_one():
    watch = watch_after([(0.0, 0, 0), (1.0, 0, 0)])
    assert watch.diagnose(silent_s=3.0, limit_s=5.0, on_topic=0, matched=0) is None
    assert watch.diagnose(silent_s=6.0, limit_s=5.0, on_topic=0, matched=0) == (
        "no_publisher",
        "no image for 6 s: no publisher on this topic",
    )
    kind, text = watch.diagnose(silent_s=6.0, limit_s=5.0, on_topic=2, matched=1)
    assert kind == "mismatch" and "1 of 2 publisher(s) on this topic do not match" in text
    assert "sensor-data QoS" in text
    kind, text = watch.diagnose(silent_s=6.0, limit_s=5.0, on_topic=1, matched=1)
    assert kind == "silent" and "1 publisher(s) matched, but nothing arrived" in text
    assert watch.diagnose(silent_s=60.0, limit_s=0.0, on_topic=0, matched=0) is None  # 0 = never


def test_a_new_diagnosis_is_said_at_once_the_same_one_every_repeat_s():
    watch = InputWatch("image", "sensor-data QoS", repeat_s=10.0)
    assert watch.should_say("no_publisher", now=0.0)
    assert not watch.should_say("no_publisher", now=5.0)
    assert watch.should_say("lost", now=6.0)
    assert not watch.should_say("lost", now=15.0)
    assert watch.should_say("lost", now=16.0)
    assert not watch.should_say(None, now=17.0)
    assert watch.should_say("lost", now=18.0)  # the problem came back
