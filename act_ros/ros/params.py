"""Typed ROS parameters with descriptors, ranges and choices, declared from one table per node.

Each node lists its parameters once (`ParamSpec`); the same table documents them (README,
config tests) and validates values set at run time (ranges by rcl, choices here).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rcl_interfaces.msg import (
    FloatingPointRange,
    IntegerRange,
    ParameterDescriptor,
    SetParametersResult,
)
from rclpy.node import Node
from rclpy.parameter import Parameter


@dataclass(frozen=True)
class ParamSpec:
    name: str
    default: Any
    description: str
    range: tuple[float, float] | None = None
    choices: tuple[str, ...] | None = None
    read_only: bool = True  # most parameters shape the pipeline at start; see `dynamic` ones

    def descriptor(self) -> ParameterDescriptor:
        d = ParameterDescriptor(description=self.description, read_only=self.read_only)
        if self.range is not None:
            lo, hi = self.range
            if isinstance(self.default, bool):
                raise ValueError(f"{self.name}: a bool has no range")
            if isinstance(self.default, int):
                d.integer_range = [IntegerRange(from_value=int(lo), to_value=int(hi), step=1)]
            else:
                d.floating_point_range = [FloatingPointRange(from_value=float(lo), to_value=float(hi))]
        if self.choices:
            d.additional_constraints = "one of: " + ", ".join(self.choices)
        return d


def declare(node: Node, specs: tuple[ParamSpec, ...]) -> dict[str, Any]:
    """Declare every parameter and return their values (after overrides/YAML), validated.

    Raises ValueError naming the parameter when a value is outside its choices.
    """
    node.declare_parameters("", [(s.name, s.default, s.descriptor()) for s in specs])
    values = {s.name: node.get_parameter(s.name).value for s in specs}
    for s in specs:
        problem = _check_choice(s, values[s.name])
        if problem:
            raise ValueError(problem)
    by_name = {s.name: s for s in specs}

    def on_set(params: list[Parameter]) -> SetParametersResult:
        for p in params:
            spec = by_name.get(p.name)
            problem = spec and _check_choice(spec, p.value)
            if problem:
                return SetParametersResult(successful=False, reason=problem)
        return SetParametersResult(successful=True)

    node.add_on_set_parameters_callback(on_set)
    return values


def _check_choice(spec: ParamSpec, value: Any) -> str | None:
    if spec.choices and value not in spec.choices:
        return f"parameter '{spec.name}' must be one of {', '.join(spec.choices)}; got '{value}'"
    return None
