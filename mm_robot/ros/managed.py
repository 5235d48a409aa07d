"""What every managed (lifecycle) node of the graph shares (mm_robot.core.lifecycle): coming up
by itself when ``autostart`` is set, and destroying what ``configure`` created."""

from __future__ import annotations

from typing import Callable

from rclpy.guard_condition import GuardCondition
from rclpy.lifecycle import LifecycleNode, LifecyclePublisher, TransitionCallbackReturn
from rclpy.timer import Timer

from ..core.config import ConfigError


def bring_up(node: LifecycleNode, why_not: Callable[[], str]) -> None:
    """Configure and activate ``node`` now (its ``autostart``); a failure is a configuration error
    (exit code 2), as a node that cannot load its model always was. ``why_not()``: the reason the
    node recorded."""
    if node.trigger_configure() != TransitionCallbackReturn.SUCCESS:
        raise ConfigError(why_not() or f"{node.get_name()}: configure failed")
    if node.trigger_activate() != TransitionCallbackReturn.SUCCESS:
        raise ConfigError(f"{node.get_name()}: activate failed")


def destroy_entities(node: LifecycleNode, entities: list) -> None:
    """Destroy the subscriptions, lifecycle publishers, timers and guard conditions in ``entities``."""
    for entity in entities:
        if isinstance(entity, LifecyclePublisher):
            node.destroy_lifecycle_publisher(entity)
        elif isinstance(entity, Timer):
            node.destroy_timer(entity)
        elif isinstance(entity, GuardCondition):
            node.destroy_guard_condition(entity)
        else:
            node.destroy_subscription(entity)
    entities.clear()
