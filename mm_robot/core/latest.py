"""Latest-value slots: subscriptions store, the timer reads (convention 3, R11).

A slot holds one value, so a slow consumer never builds a queue: newer data
overwrites older data and the lag stays bounded.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from typing import Generic, Optional, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Stamped(Generic[T]):
    value: T
    stamp: float  # source stamp (header), seconds
    received: float  # local receive time, seconds


class LatestSlot(Generic[T]):
    """Thread-safe single-value slot with a receive-rate estimate."""

    def __init__(self, rate_window: float = 2.0):
        self._lock = threading.Lock()
        self._item: Optional[Stamped[T]] = None
        self._arrivals: deque[float] = deque(maxlen=512)
        self._window = rate_window

    def put(self, value: T, stamp: float, received: float) -> None:
        with self._lock:
            self._item = Stamped(value, stamp, received)
            self._arrivals.append(received)

    def get(self) -> Optional[Stamped[T]]:
        with self._lock:
            return self._item

    def clear(self) -> None:
        with self._lock:
            self._item = None

    def age(self, now: float) -> float:
        """Seconds since the source stamp of the held value (inf when empty)."""
        item = self.get()
        return float("inf") if item is None else now - item.stamp

    def rate(self, now: float) -> float:
        """Arrivals per second over the last ``rate_window`` seconds."""
        with self._lock:
            recent = [t for t in self._arrivals if now - t <= self._window]
        return len(recent) / self._window
