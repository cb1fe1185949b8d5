"""Managed (lifecycle) nodes, the way ROS users of perception stacks run them.

A `ManagedNode` declares its parameters when created and does its work in four hooks, driven by
the standard lifecycle transitions (the node's ``~/change_state`` service: ``ros2 launch``,
a lifecycle manager, ``ros2 service call``, or `bring_up` in-process):

    configure  -> load()     load and check the models (a bad model fails here, named)
    activate   -> start()    fresh state, create subscriptions/publishers, start work
    deactivate -> stop()     subscriptions/publishers/timers/threads gone: no messages out,
                             no inference, no CPU
    cleanup    -> release()  models released
    shutdown   -> stop() and release() as needed, from any state

``autostart=True`` (the default for in-process use and ``ros2 run``) configures and activates in
the constructor and raises what made a transition fail, so a node that cannot start says why
at once, as a plain node would. /diagnostics is published in every state and names it.
"""

from __future__ import annotations

from typing import Any

from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn

from act_ros.ros import diagnostics as diag

# What each state means for the work, for /diagnostics.
_STATE_TEXT = {
    "unconfigured": "unconfigured: no model loaded (configure to load it)",
    "inactive": "inactive: model loaded, no input taken, no inference (activate to start)",
    "finalized": "finalized: shut down",
}


class ManagedNode(LifecycleNode):
    """Base of the pose and AcT nodes; subclasses implement load/start/stop/release and
    ``active_status()`` (the /diagnostics status while active)."""

    def __init__(self, name: str, **node_kwargs: Any) -> None:
        super().__init__(name, **node_kwargs)
        self.lifecycle_state = "unconfigured"
        self.transition_error: Exception | None = None  # why the last transition failed
        self._diagnostics = diag.DiagnosticsPublisher(self, self._status)

    # --- hooks for subclasses -------------------------------------------------------------------
    def load(self) -> None:
        raise NotImplementedError

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def release(self) -> None:
        raise NotImplementedError

    def active_status(self) -> tuple[int, str, dict[str, Any]]:
        raise NotImplementedError

    def idle_values(self) -> dict[str, Any]:
        """/diagnostics values while not active (counters so far, the model...)."""
        return {}

    # --- in-process driving ---------------------------------------------------------------------
    def bring_up(self) -> None:
        """configure + activate here and now; raises what made either fail."""
        for trigger, goal in ((self.trigger_configure, "inactive"), (self.trigger_activate, "active")):
            trigger()
            if self.lifecycle_state != goal:
                error = self.transition_error or RuntimeError(
                    f"{self.get_name()}: could not reach '{goal}' (state {self.lifecycle_state})"
                )
                raise error

    def close(self) -> None:
        """The shutdown transition unless already finalized (NodeHost calls this on teardown)."""
        if self.lifecycle_state != "finalized":
            self.trigger_shutdown()
            self.lifecycle_state = "finalized"

    # --- the lifecycle callbacks ----------------------------------------------------------------
    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        return self._transition("configure", self.load, "inactive")

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        return self._transition("activate", self.start, "active")

    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        return self._transition("deactivate", self.stop, "inactive")

    def on_cleanup(self, state: LifecycleState) -> TransitionCallbackReturn:
        return self._transition("cleanup", self.release, "unconfigured")

    def on_shutdown(self, state: LifecycleState) -> TransitionCallbackReturn:
        return self._transition("shutdown", self._wind_down, "finalized")

    def on_error(self, state: LifecycleState) -> TransitionCallbackReturn:
        # A failing callback raised: undo what may have started, back to unconfigured.
        self._wind_down()
        self.lifecycle_state = "unconfigured"
        return TransitionCallbackReturn.SUCCESS

    def _wind_down(self) -> None:
        if self.lifecycle_state == "active":
            self.stop()
        if self.lifecycle_state in ("active", "inactive"):
            self.release()

    def _transition(self, name: str, hook, goal: str) -> TransitionCallbackReturn:
        try:
            hook()
        except Exception as exc:  # say why; the state machine stays where it was
            self.transition_error = exc
            self.get_logger().error(f"{name} failed: {type(exc).__name__}: {exc}")
            if name == "configure":  # a model that cannot load: nothing to undo
                return TransitionCallbackReturn.FAILURE
            return TransitionCallbackReturn.ERROR
        self.transition_error = None
        self.lifecycle_state = goal
        self.get_logger().info(f"{name}: now {goal}")
        return TransitionCallbackReturn.SUCCESS

    def _status(self) -> tuple[int, str, dict[str, Any]]:
        if self.lifecycle_state == "active":
            level, message, values = self.active_status()
        else:
            level, message, values = diag.OK, _STATE_TEXT[self.lifecycle_state], self.idle_values()
            if self.transition_error is not None:
                level = diag.ERROR
                message += f"; last transition failed: {self.transition_error}"
        return level, message, {"lifecycle_state": self.lifecycle_state, **values}
