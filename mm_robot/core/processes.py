"""CPU share and resident memory of other processes, read from /proc (Linux)."""

from __future__ import annotations

import os
import threading
import time
from typing import Optional

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds the process has used (threads included)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime (fields 14, 15 of stat)


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


class ProcessSampler:
    """Samples RSS of named processes every ``period`` s between :meth:`start` and :meth:`stop`;
    ``stop`` returns each one's CPU share (1.0 = one core busy) and RSS (last, max)."""

    def __init__(self, pids: dict[str, int], period: float = 0.5) -> None:
        self.pids, self.period = pids, period
        self.samples: dict[str, list[tuple[float, float]]] = {name: [] for name in pids}
        self._cpu0: dict[str, float] = {}
        self._t0 = 0.0
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None

    def sample(self) -> None:
        now = time.monotonic()
        for name, pid in self.pids.items():
            try:
                self.samples[name].append((now, rss_mb(pid)))
            except OSError:  # the process is gone; its last sample stays
                pass

    def start(self) -> None:
        self._t0 = time.monotonic()
        self._cpu0 = {name: cpu_seconds(pid) for name, pid in self.pids.items()}
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.period):
            self.sample()

    def stop(self) -> dict[str, dict[str, float]]:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.sample()
        wall = time.monotonic() - self._t0
        out = {}
        for name, pid in self.pids.items():
            rss = [mb for _, mb in self.samples[name]]
            try:
                share = (cpu_seconds(pid) - self._cpu0[name]) / wall
            except OSError:
                share = float("nan")
            out[name] = {
                "cpu_share": round(share, 3),
                "rss_mb": round(rss[-1], 1) if rss else float("nan"),
                "rss_max_mb": round(max(rss), 1) if rss else float("nan"),
            }
        return out
