"""Counted, throttled error reporting (R9, R16)."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Callable

from .validation import InputError


class ErrorLog:
    """Counts errors by kind and logs each kind at most once per ``period`` seconds.

    ``emit`` is the node logger's method (or ``print`` in tests); the clock is
    passed in so the rule is testable.
    """

    def __init__(self, emit: Callable[[str], None], period: float = 1.0):
        self.emit = emit
        self.period = period
        self.counts: Counter[str] = Counter()
        self._last_logged: dict[str, float] = {}
        self._suppressed: Counter[str] = Counter()
        self._lock = threading.Lock()

    def report(self, kind: str, message: str, now: float) -> bool:
        """Count one error; return True when it was logged (not throttled). Thread-safe."""
        with self._lock:
            return self._report(kind, message, now)

    def guard(self, kind: str, handler: Callable[[object, float], None], msg, now: float) -> None:
        """Run an input handler; a rejected input (:class:`InputError`) is counted as
        ``<kind>.<error kind>``, anything else it raises as ``<kind>.unexpected`` (R9: no callback
        exception kills the node)."""
        try:
            handler(msg, now)
        except InputError as error:
            self.report(f"{kind}.{error.kind}", str(error), now)
        except Exception as error:
            self.report(f"{kind}.unexpected", repr(error), now)

    def _report(self, kind: str, message: str, now: float) -> bool:
        self.counts[kind] += 1
        last = self._last_logged.get(kind)
        if last is not None and now - last < self.period:
            self._suppressed[kind] += 1
            return False
        suppressed = self._suppressed.pop(kind, 0)
        suffix = f" ({suppressed} similar suppressed)" if suppressed else ""
        self.emit(f"[{kind}] {message}{suffix}; total {self.counts[kind]}")
        self._last_logged[kind] = now
        return True

    @property
    def total(self) -> int:
        return sum(self.counts.values())
