"""Stamp conversions between builtin_interfaces/Time and float seconds."""

from __future__ import annotations

from builtin_interfaces.msg import Time


def to_seconds(stamp: Time) -> float:
    return stamp.sec + stamp.nanosec * 1e-9


def to_stamp(seconds: float) -> Time:
    sec = int(seconds // 1)
    nanosec = int(round((seconds - sec) * 1e9))
    if nanosec >= 1_000_000_000:
        sec, nanosec = sec + 1, nanosec - 1_000_000_000
    return Time(sec=max(sec, 0), nanosec=max(nanosec, 0))


def now_seconds(node) -> float:
    return node.get_clock().now().nanoseconds * 1e-9
