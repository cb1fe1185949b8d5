"""Why a node's input does not arrive, in words a user can act on.

The nodes sample, once a second, what they know of their input: publishers on the topic in the
graph, publishers matched by their subscription (same type, compatible QoS), messages received
and messages the middleware reported lost. `InputWatch` turns that into a diagnosis, and says a
new diagnosis at once and the same one again only every ``repeat_s`` seconds.

The case that motivated it: with Fast DDS's default transports a camera driver in another
process sending raw images best effort loses most of them (the sender's 512 KB shared-memory
segment is too small for a 640x360 bgr8 image: 131 of 150 reported lost, measured), while the
publisher shows as matched.
"""

from __future__ import annotations

import collections
import time

TRANSPORT_HINT = (
    "raw images larger than Fast DDS's default 512 KB shared-memory segment are lost when sent "
    "best effort from another process: start the camera driver with "
    "FASTDDS_DEFAULT_PROFILES_FILE=$(ros2 pkg prefix act_ros)/share/act_ros/config/fastdds_profile.xml "
    "(see the README, 'Camera drivers'), or use compressed images (use_compressed:=true), or a "
    "reliable publisher with image_qos: reliable"
)


class InputWatch:
    """Diagnoses missing or mostly lost input of one subscription from once-a-second samples.

    what: what arrives ("image"); subscribes: how the subscription is set up (for QoS advice);
    hint: what to do when messages are lost in transport; window_s: the span losses are
    judged over.
    """

    def __init__(
        self,
        what: str,
        subscribes: str,
        hint: str = TRANSPORT_HINT,
        window_s: float = 10.0,
        repeat_s: float = 10.0,
    ) -> None:
        self.what, self.subscribes, self.hint = what, subscribes, hint
        self.repeat_s = repeat_s
        self._samples: collections.deque[tuple[float, int, int]] = collections.deque()
        self._window_s = window_s
        self._said, self._said_at = "", float("-inf")

    def sample(self, received: int, lost: int, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        self._samples.append((now, received, lost))
        while len(self._samples) > 1 and now - self._samples[0][0] > self._window_s:
            self._samples.popleft()

    def window(self) -> tuple[float, int, int]:
        """(seconds, received, lost) over the sampled window."""
        if len(self._samples) < 2:
            return 0.0, 0, 0
        (t0, r0, l0), (t1, r1, l1) = self._samples[0], self._samples[-1]
        return t1 - t0, r1 - r0, l1 - l0

    def diagnose(
        self, *, silent_s: float, limit_s: float, on_topic: int, matched: int
    ) -> tuple[str, str] | None:
        """(kind, text) of what is wrong, or None. ``silent_s``: seconds since the last message
        (or the start); ``limit_s``: silence tolerated (0 = never warn about silence). Kinds:
        lost, no_publisher, mismatch, silent."""
        span, received, lost = self.window()
        # A healthy transport loses none (0 of 90 with the project's profile, measured); with
        # Fast DDS's defaults anything from a fifth to all of them were reported lost.
        if lost >= 3 and lost * 5 >= lost + received:
            return "lost", (
                f"{lost} of {lost + received} {self.what}s sent in the last {span:.0f} s "
                f"were lost before reaching this node ({matched} publisher(s) "
                f"matched): {self.hint}"
            )
        if not limit_s or silent_s <= limit_s:
            return None
        silence = f"no {self.what} for {silent_s:.0f} s: "
        if on_topic == 0:
            return "no_publisher", silence + "no publisher on this topic"
        if matched < on_topic:
            return "mismatch", silence + (
                f"{on_topic - matched} of {on_topic} publisher(s) on this topic do not match this "
                f"subscription (message type or QoS; it subscribes {self.subscribes})"
            )
        return "silent", silence + (
            f"{matched} publisher(s) matched, but nothing arrived: either none is sending, or {self.hint}"
        )

    def should_say(self, kind: str | None, now: float | None = None) -> bool:
        """True when the diagnosis ``kind`` is new or was last said ``repeat_s`` ago."""
        if kind is None:
            self._said = ""
            return False
        now = time.monotonic() if now is None else now
        if kind != self._said or now - self._said_at >= self.repeat_s:
            self._said, self._said_at = kind, now
            return True
        return False
