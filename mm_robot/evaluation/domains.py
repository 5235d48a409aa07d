"""ROS domains for an evaluation's graph runs, claimed so that two evaluations on one machine
never share one.

Each domain of the allowed range has a lock file (``$TMPDIR/mm_robot_domains/<id>.lock``); an
evaluation holds an exclusive ``flock`` on the ones it uses until it ends, so another evaluation
(another checkout, another user of the machine) skips them. The lock is released by the kernel
when the process dies, so a crashed evaluation never leaks its domains.
"""

from __future__ import annotations

import fcntl
import os
import re
import tempfile
from pathlib import Path
from typing import IO, Optional

DEFAULT_RANGE = (120, 232)  # ROS domain ids go up to 232; the tests use 1..100
LOCK_DIR = Path(tempfile.gettempdir()) / "mm_robot_domains"


def parse_range(text: str) -> tuple[int, int]:
    """"120-140" or "120" -> (low, high), checked against the ROS domain id range 0..232."""
    found = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+))?\s*", text)
    if not found:
        raise ValueError(f"domain range {text!r}: expected LOW-HIGH, e.g. 120-140")
    low, high = int(found.group(1)), int(found.group(2) or found.group(1))
    if not 0 <= low <= high <= 232:
        raise ValueError(f"domain range {text!r}: need 0 <= LOW <= HIGH <= 232")
    return low, high


class DomainClaim:
    """``count`` free domains of ``low..high``, held until :meth:`release` (or the process ends)."""

    def __init__(self, count: int, low: int = DEFAULT_RANGE[0], high: int = DEFAULT_RANGE[1],
                 lock_dir: Optional[Path] = None) -> None:
        self.lock_dir = Path(lock_dir or LOCK_DIR)
        self.lock_dir.mkdir(parents=True, exist_ok=True)
        self._held: dict[int, IO[bytes]] = {}
        for domain in range(low, high + 1):
            if len(self._held) == count:
                break
            handle = open(self.lock_dir / f"{domain}.lock", "ab")
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                handle.close()
                continue
            handle.write(f"{os.getpid()}\n".encode())
            handle.flush()
            self._held[domain] = handle
        if len(self._held) < count:
            got = len(self._held)
            self.release()
            raise RuntimeError(f"only {got} of {count} ROS domains in {low}..{high} are free (others are "
                               "held by running evaluations); pass another --domains range")

    @property
    def domains(self) -> list[int]:
        return sorted(self._held)

    def release(self) -> None:
        for handle in self._held.values():
            handle.close()  # closing drops the flock
        self._held.clear()

    def __enter__(self) -> "DomainClaim":
        return self

    def __exit__(self, *exc) -> None:
        self.release()
