"""A bounded least-recently-used cache (convention 11: every cache has a documented bound)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Callable, Generic, Hashable, Optional, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class LRUCache(Generic[K, V]):
    """At most ``maxsize`` entries; putting one more drops the least recently used. Thread-safe.

    With ``compute``, calling the cache with a key returns its value, computing (and keeping) it
    when missing: a bounded memo of a function of one argument."""

    def __init__(self, maxsize: int, compute: Optional[Callable[[K], V]] = None) -> None:
        if maxsize < 1:
            raise ValueError(f"cache size must be at least 1, got {maxsize}")
        self.maxsize = maxsize
        self.compute = compute
        self._items: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()
        self.evictions = 0

    def __call__(self, key: K) -> V:
        value = self.get(key)
        if value is None:
            if self.compute is None:
                raise TypeError("this LRUCache has no compute function; use get/put")
            value = self.compute(key)
            self.put(key, value)
        return value

    def get(self, key: K) -> Optional[V]:
        with self._lock:
            if key not in self._items:
                return None
            self._items.move_to_end(key)
            return self._items[key]

    def put(self, key: K, value: V) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.maxsize:
                self._items.popitem(last=False)
                self.evictions += 1

    def resize(self, maxsize: int) -> None:
        """Change the bound; entries over it go, oldest first."""
        if maxsize < 1:
            raise ValueError(f"cache size must be at least 1, got {maxsize}")
        with self._lock:
            self.maxsize = maxsize
            while len(self._items) > maxsize:
                self._items.popitem(last=False)
                self.evictions += 1

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __getitem__(self, key: K) -> V:
        value = self.get(key)
        if value is None:
            raise KeyError(key)
        return value

    def __setitem__(self, key: K, value: V) -> None:
        self.put(key, value)

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._items

    def __len__(self) -> int:
        return len(self._items)
