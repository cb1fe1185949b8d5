"""Did the results come from this run's input alone? (ROS-free checks for `act-ros run` and
`act-ros evaluate BAG`.)

A run over a file or bag has a private ROS graph by default (act_ros.private_domain), so nothing
else can feed it. These checks are the evidence, and the alarm when a run joined a shared graph
(``--join-graph``, ``--launch``): another publisher on the image topic shows up as more images
received than sent, another pipeline's output as results for stamps this run never sent, an
extra camera as more people or tracks than the labels name. A report states them loudly.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass
class TrafficCheck:
    sent: int  # input messages this program published (resends included)
    received: int | None = None  # inputs the first node counted (None: not known)
    answered: int = 0  # results for stamps this program sent
    foreign_results: int = 0  # results for stamps it never sent
    repeated_results: int = 0  # further results for a stamp already answered
    expected_repeats: int = 0  # of which explained by resending a frame
    most_people: int | None = None  # most people in one pose message
    people: int | None = None  # real people the labels name (None: not stated)
    tracks: int | None = None  # distinct track IDs the pose node gave

    def problems(self) -> list[str]:
        """Evidence of input this run did not send: its results cannot be trusted."""
        found = []
        if self.foreign_results:
            found.append(
                f"{self.foreign_results} result message(s) carried stamps this run never "
                f"sent: another program publishes on the same topics"
            )
        if self.received is not None and self.received > self.sent:
            found.append(
                f"the nodes received {self.received} input messages for {self.sent} sent: "
                f"another program publishes on the input topic, its frames were mixed "
                f"into the windows"
            )
        return found

    def warnings(self) -> list[str]:
        """Signs that need a look (a tracker's ID switches or false detections explain them
        too)."""
        found = []
        extra = self.repeated_results - self.expected_repeats
        if extra > 0:
            found.append(f"{extra} frame(s) were answered more than once")
        if self.people and self.most_people is not None and self.most_people > self.people:
            found.append(
                f"up to {self.most_people} people in one frame where the labels name "
                f"{self.people}: false detections, or another image source"
            )
        if self.people and self.tracks is not None and self.tracks > self.people:
            found.append(
                f"{self.tracks} track IDs for {self.people} labelled people: the tracker "
                f"lost people (occlusions), or another image source"
            )
        return found

    def as_dict(self) -> dict:
        return {**asdict(self), "problems": self.problems(), "warnings": self.warnings()}
