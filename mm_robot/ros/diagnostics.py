"""1 Hz /diagnostics for every node (R15)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Optional

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rclpy.event_handler import SubscriptionEventCallbacks
from rclpy.node import Node

from .time import to_stamp

# diagnostic_msgs levels as ints (the message constants are bytes in rclpy)
OK, WARN, ERROR, STALE = 0, 1, 2, 3


@dataclass
class Health:
    """What a node reports: the worst level wins; values are shown as key/value pairs."""

    level: int = OK
    messages: list[str] = field(default_factory=list)
    values: dict[str, object] = field(default_factory=dict)

    def raise_to(self, level: int, message: str) -> None:
        self.level = max(self.level, level)
        self.messages.append(message)

    def to_status(self, name: str, hardware_id: str) -> DiagnosticStatus:
        return DiagnosticStatus(
            level=bytes([self.level]), name=name, hardware_id=hardware_id,
            message="; ".join(self.messages) or "ok",
            values=[KeyValue(key=k, value=_fmt(v)) for k, v in self.values.items()])


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def start_diagnostics(node: Node, check: Callable[[], Health], period: float = 1.0,
                      callback_group=None) -> None:
    """Publish ``check()`` on /diagnostics every ``period`` seconds."""
    publisher = node.create_publisher(DiagnosticArray, "/diagnostics", 10)
    name = f"{node.get_namespace().rstrip('/')}/{node.get_name()}".lstrip("/")

    def tick() -> None:
        try:
            health = check()
        except Exception as error:  # the report itself must never kill the node
            health = Health()
            health.raise_to(ERROR, f"diagnostic check failed: {error!r}")
        msg = DiagnosticArray()
        msg.header.stamp = to_stamp(node.get_clock().now().nanoseconds * 1e-9)
        try:
            msg.status = [health.to_status(name, "mm_robot")]
        except Exception as error:
            msg.status = [Health(ERROR, [f"diagnostic report malformed: {error!r}"]).to_status(name, "mm_robot")]
        publisher.publish(msg)

    node.create_timer(period, tick, callback_group=callback_group)


def qos_events_for(node: Node, errors, topic: str, keep_all: bool = False,
                   on_lost: Optional[Callable[[], None]] = None) -> SubscriptionEventCallbacks:
    """:func:`qos_events` reported to ``errors`` (an ``ErrorLog``) on the node's clock."""
    return qos_events(lambda kind, message: errors.report(kind, message, node.get_clock().now().nanoseconds * 1e-9),
                      topic, keep_all, on_lost)


def qos_events(report: Callable[[str, str], None], topic: str, keep_all: bool = False,
               on_lost: Optional[Callable[[], None]] = None) -> SubscriptionEventCallbacks:
    """A subscription's middleware events as counted errors (R10): a publisher whose QoS cannot
    match (its messages would silently never arrive) and, on a ``keep_all`` subscription (where
    every message counts: ``command``), messages the middleware lost, after which ``on_lost`` runs.
    A keep-last stream (sensors, proposals, decisions) drops older messages by design: not an
    error. ``report(kind, message)``; kinds ``<topic>.qos_incompatible`` and ``<topic>.lost``."""
    def lost(info) -> None:
        report(f"{topic}.lost", f"{info.total_count_change} message(s) lost on {topic}")
        if on_lost is not None:
            on_lost()

    return SubscriptionEventCallbacks(
        incompatible_qos=lambda info: report(
            f"{topic}.qos_incompatible",
            f"a publisher on {topic} offers incompatible QoS (policy id {info.last_policy_kind}): "
            "its messages never arrive"),
        message_lost=lost if keep_all else (lambda info: None))


def raise_for_qos(health: Health, error_counts: dict[str, int]) -> None:
    """ERROR while any subscription has met a publisher with incompatible QoS."""
    bad = sorted(k.removeprefix("errors.").rsplit(".", 1)[0] for k in error_counts if k.endswith(".qos_incompatible"))
    if bad:
        health.raise_to(ERROR, f"incompatible QoS offered on {', '.join(bad)}")
