"""ROS parameters declared from config dataclasses (convention 2, R14).

The dataclass is the single source of truth: descriptions and ranges become
ParameterDescriptors, startup values are validated with a clear error, and
``set_parameters`` calls that would break a rule are refused with the old value kept.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, TypeVar

from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor, SetParametersResult
from rclpy.exceptions import ParameterException
from rclpy.node import Node

from ..core.config import ConfigError, build, settings_of

C = TypeVar("C")


def _descriptor(name: str, default: Any, info) -> ParameterDescriptor:
    description = info.description
    if info.choices:
        description += f" One of: {', '.join(map(str, info.choices))}."
    descriptor = ParameterDescriptor(name=name, description=description, read_only=info.read_only)
    if isinstance(default, bool):
        return descriptor
    if isinstance(default, float) and (info.low is not None or info.high is not None):
        descriptor.floating_point_range = [FloatingPointRange(
            from_value=float(info.low if info.low is not None else -1e308),
            to_value=float(info.high if info.high is not None else 1e308), step=0.0)]
    elif isinstance(default, int) and (info.low is not None or info.high is not None):
        descriptor.integer_range = [IntegerRange(
            from_value=int(info.low if info.low is not None else -(2 ** 62)),
            to_value=int(info.high if info.high is not None else 2 ** 62), step=0)]
    return descriptor


def declare_config(node: Node, config_type: type[C], prefix: str = "") -> C:
    """Declare every setting of ``config_type`` as a parameter; return the validated config.

    Raises :class:`ConfigError` naming the parameter when a startup value is bad.
    """
    values = {}
    for field, info in settings_of(config_type):
        name = prefix + field.name
        try:
            parameter = node.declare_parameter(name, field.default, _descriptor(name, field.default, info))
        except (ParameterException, TypeError, ValueError) as error:
            raise ConfigError(f"parameter {name}: {error}") from None
        values[field.name] = parameter.value
    return build(config_type, values)


def watch_config(node: Node, config_type: type[C], current: Callable[[], C],
                 apply: Callable[[C], None], prefix: str = "") -> None:
    """Validate run-time changes to ``config_type``'s parameters; refuse bad ones (R14)."""
    names = {prefix + f.name: f.name for f, _ in settings_of(config_type)}

    def on_set(parameters) -> SetParametersResult:
        changes = {names[p.name]: p.value for p in parameters if p.name in names}
        if not changes:
            return SetParametersResult(successful=True)
        try:
            merged = dataclasses.asdict(current())
            merged.update(changes)
            updated = build(config_type, merged)
        except ConfigError as error:
            return SetParametersResult(successful=False, reason=str(error))
        apply(updated)
        return SetParametersResult(successful=True)

    node.add_on_set_parameters_callback(on_set)
