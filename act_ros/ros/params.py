"""Declaring the nodes' parameters (tables in `act_ros.parameters`) with ROS descriptors:
descriptions, integer/float ranges enforced by rcl, choices enforced here, read-only flags."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rcl_interfaces.msg import (
    FloatingPointRange,
    IntegerRange,
    ParameterDescriptor,
    SetParametersResult,
)
from rclpy.node import Node
from rclpy.parameter import Parameter

from act_ros.parameters import ParamSpec


def descriptor(spec: ParamSpec) -> ParameterDescriptor:
    d = ParameterDescriptor(description=spec.description, read_only=spec.read_only)
    if spec.range is not None:
        lo, hi = spec.range
        if isinstance(spec.default, int) and not isinstance(spec.default, bool):
            d.integer_range = [IntegerRange(from_value=int(lo), to_value=int(hi), step=1)]
        else:
            d.floating_point_range = [FloatingPointRange(from_value=float(lo), to_value=float(hi))]
    if spec.choices:
        d.additional_constraints = "one of: " + ", ".join(spec.choices)
    return d


def declare(
    node: Node, specs: tuple[ParamSpec, ...], on_change: Callable[[dict[str, Any]], None] | None = None
) -> dict[str, Any]:
    """Declare every parameter and return their values (after overrides/YAML), validated.

    Raises ValueError naming the parameter when a value is outside its choices (ranges are
    refused by rcl itself). Later changes (``ros2 param set``) go through ONE callback that
    first validates every changed parameter, then hands the accepted values to ``on_change``
    (one callback, because rclpy runs the newest callback first: a separate applier would run
    before the validator). A ValueError from ``on_change`` refuses the change with its message.
    """
    node.declare_parameters("", [(s.name, s.default, descriptor(s)) for s in specs])
    values = {s.name: node.get_parameter(s.name).value for s in specs}
    for s in specs:
        problem = s.check(values[s.name])
        if problem:
            raise ValueError(problem)
    by_name = {s.name: s for s in specs}

    def on_set(params: list[Parameter]) -> SetParametersResult:
        for p in params:
            spec = by_name.get(p.name)
            problem = spec.check(p.value) if spec else None
            if problem:
                return SetParametersResult(successful=False, reason=problem)
        if on_change is not None:
            try:
                on_change({p.name: p.value for p in params})
            except ValueError as exc:
                return SetParametersResult(successful=False, reason=str(exc))
        return SetParametersResult(successful=True)

    node.add_on_set_parameters_callback(on_set)
    return values
