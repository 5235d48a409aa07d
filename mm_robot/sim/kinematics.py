"""Differential-drive kinematics: velocity response and exact pose integration.

The base follows commanded (v, ω) with bounded acceleration (a real base cannot jump to a
speed) and saturates at the hard limits of the safety filter. The pose integrates along the
arc the base actually drives, so a long ``dt`` is as exact as many short ones.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..core.safety import HARD_MAX_ANGULAR, HARD_MAX_LINEAR


@dataclass(frozen=True)
class BaseLimits:
    """Acceleration (m/s², rad/s²) the simulated motors can deliver. Braking uses
    ``brake_factor`` times as much."""

    linear_accel: float = 2.0
    angular_accel: float = 8.0
    brake_factor: float = 2.0
    max_linear: float = HARD_MAX_LINEAR
    max_angular: float = HARD_MAX_ANGULAR


def respond(current: float, command: float, accel: float, brake_factor: float, limit: float,
            dt: float) -> float:
    """The velocity after ``dt`` seconds of chasing ``command`` from ``current``."""
    if not math.isfinite(command):
        command = 0.0
    command = max(-limit, min(limit, command))
    slowing = abs(command) < abs(current) or command * current < 0.0
    step = accel * (brake_factor if slowing else 1.0) * dt
    if abs(command - current) <= step:
        return command
    return current + math.copysign(step, command - current)


def integrate(x: float, y: float, yaw: float, v: float, w: float, dt: float) -> tuple[float, float, float]:
    """Pose after driving at constant (v, ω) for ``dt`` seconds (exact arc)."""
    if abs(w) < 1e-9:
        return x + v * dt * math.cos(yaw), y + v * dt * math.sin(yaw), yaw
    new_yaw = yaw + w * dt
    radius = v / w
    return (x + radius * (math.sin(new_yaw) - math.sin(yaw)),
            y - radius * (math.cos(new_yaw) - math.cos(yaw)),
            wrap_angle(new_yaw))


def wrap_angle(angle: float) -> float:
    """``angle`` in (-π, π]."""
    wrapped = math.remainder(angle, 2.0 * math.pi)
    return math.pi if wrapped == -math.pi else wrapped
