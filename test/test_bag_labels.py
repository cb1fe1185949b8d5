"""Labels files: the format, ranges in seconds or frames, per-track labels, and clear errors."""

from __future__ import annotations

import pytest

from act_ros.bag.labels import LabelsError, load_labels, parse_labels

from bag_fixtures import DEMO_LABELS

pytestmark = pytest.mark.emulated  # arm64 check: labels files parsed


def test_time_ranges_tracks_and_lookup():
    labels = parse_labels(
        "# comment line\n"
        "start,end,label,track_id\n"
        "0.0,2.0,stand,1\n"
        "2.0,4.5,walk,1\n"
        "1.0,3.0,wave,2\n"
        "0,10,stand,\n"  # empty track = every person
    )
    assert labels.has_tracks
    assert labels.label_names == ["stand", "walk", "wave"]
    assert labels.at(0.5) == [(0, "stand"), (1, "stand")]
    assert labels.at(2.0) == [(0, "stand"), (1, "walk"), (2, "wave")]  # end is exclusive
    assert labels.at(4.5) == [(0, "stand")]
    assert labels.at(10.0) == []


def test_frame_ranges_are_inclusive_and_need_fps():
    text = "start_frame,end_frame,label\n0,29,stand\n30,59,walk\n"
    labels = parse_labels(text, fps=30.0)
    assert not labels.has_tracks
    assert labels.at(29 / 30) == [(0, "stand")]
    assert labels.at(30 / 30) == [(0, "walk")]
    assert labels.at(59 / 30) == [(0, "walk")]
    assert labels.at(60 / 30) == []
    with pytest.raises(LabelsError, match="frame rate"):
        parse_labels(text)


@pytest.mark.parametrize(
    "text, message",
    [
        (
            "start,end,label\n0,2,walk\n1.5,3,stand\n",
            r"overlapping ranges for every person \(track 0\): "
            r"line 2 \[0, 2\) 'walk' and line 3",
        ),
        ("start,end,label,track_id\n0,2,walk,3\n1,3,stand,3\n", "overlapping ranges for track 3"),
        ("begin,stop,label\n0,1,walk\n", "header must name 'start,end,label'"),
        ("start,end,action\n0,1,walk\n", "no 'label' column"),
        ("start,end,label\n0,1\n", "line 2: 2 fields, the header has 3"),
        ("start,end,label\nzero,1,walk\n", "line 2: start/end must be numbers"),
        ("start,end,label\n2,1,walk\n", "need 0 <= start < end"),
        ("start,end,label\n0,nan,walk\n", "finite"),
        ("start,end,label\n0,1,\n", "empty label"),
        ("start,end,label,track_id\n0,1,walk,x\n", "track_id must be an integer"),
        ("start,end,label\n", "no label rows"),
        ("", "no header"),
        ('start,end,label\n0,1,"walk\n', "not valid CSV|fields"),
    ],
)
def test_bad_labels_get_clear_errors(text, message):
    with pytest.raises(LabelsError, match=message):
        parse_labels(text, source="labels.csv")


def test_overlap_of_different_tracks_is_fine():
    labels = parse_labels("start,end,label,track_id\n0,2,walk,1\n0,2,stand,2\n")
    assert labels.at(1.0) == [(1, "walk"), (2, "stand")]


def test_unknown_label_names_are_named_with_their_lines():
    labels = parse_labels("start,end,label\n0,1,walk\n1,2,jumping\n2,3,dance\n", source="x.csv")
    with pytest.raises(
        LabelsError,
        match=r"unknown label name\(s\) 'dance' \(line 4\), 'jumping' "
        r"\(line 3\); the model's classes are: walk, stand",
    ):
        labels.check_classes(["walk", "stand"])


def test_missing_and_binary_files(tmp_path):
    with pytest.raises(LabelsError, match="not found"):
        load_labels(tmp_path / "nope.csv")
    binary = tmp_path / "labels.csv"
    binary.write_bytes(b"\xff\xfe\x00\x81garbage")
    with pytest.raises(LabelsError, match="not a UTF-8"):
        load_labels(binary)


def test_bundled_demo_labels_are_valid():
    labels = load_labels(DEMO_LABELS, fps=30.0)
    assert labels.ranges, "the demo labels file is empty"
    assert all(r.end <= 230 / 30 + 1e-9 for r in labels.ranges), "a range runs past the 7.7 s clip"


def test_person_column_counts_real_people():
    labels = parse_labels("start,end,label,track_id,person\n0,1,walk,1,ann\n2,3,run,4,ann\n0,3,walk,2,bo\n")
    assert labels.people == 2  # three track IDs, two people
    assert parse_labels("start,end,label,track_id\n0,1,walk,1\n0,1,run,4\n").people == 2
    assert parse_labels("start,end,label\n0,1,walk\n").people is None
