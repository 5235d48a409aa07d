"""OpenCV capture from a device index, a video file or a stream URL, with retry and backoff."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Optional

import cv2
import numpy as np


class CaptureError(RuntimeError):
    pass


@dataclass
class Backoff:
    """Exponential backoff: 0.5 s, 1 s, 2 s ... capped at ``maximum``."""

    initial: float = 0.5
    maximum: float = 10.0
    _delay: float = 0.0
    _next_try: float = 0.0

    def ready(self, now: float) -> bool:
        return now >= self._next_try

    def failed(self, now: float) -> float:
        self._delay = self.initial if self._delay == 0.0 else min(self.maximum, self._delay * 2)
        self._next_try = now + self._delay
        return self._delay

    def succeeded(self) -> None:
        self._delay = 0.0
        self._next_try = 0.0


def open_capture(source: str, width: int = 0, height: int = 0) -> cv2.VideoCapture:
    """Open ``source``: an integer string is a device index, anything else a path or URL."""
    target: int | str = int(source) if source.strip().isdigit() else source
    capture = cv2.VideoCapture(target)
    if not capture.isOpened():
        raise CaptureError(f"cannot open camera source {source!r}")
    if width and height:
        capture.set(cv2.CAP_PROP_FRAME_WIDTH, width)
        capture.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
    return capture


class VideoSource:
    """Reads RGB frames; reopens a failed source with backoff instead of raising."""

    def __init__(self, source: str, loop_files: bool = True, width: int = 0, height: int = 0):
        self.source = source
        self.loop_files = loop_files
        self.size = (width, height)
        self.backoff = Backoff()
        self.capture: Optional[cv2.VideoCapture] = None
        self.last_error = ""
        # Open attempts that failed plus streams that stopped: one per real attempt, never one per
        # read made while backing off.
        self.failed_attempts = 0

    def read(self, now: Optional[float] = None) -> Optional[np.ndarray]:
        """Next (H, W, 3) RGB frame, or None while the source is unavailable."""
        now = time.monotonic() if now is None else now
        if self.capture is None:
            if not self.backoff.ready(now):
                return None
            try:
                self.capture = open_capture(self.source, *self.size)
                self.backoff.succeeded()
            except CaptureError as error:
                self.failed_attempts += 1
                delay = self.backoff.failed(now)
                self.last_error = f"{error}; retrying in {delay:.1f} s"
                return None
        ok, bgr = self.capture.read()
        if not ok and self.loop_files and not self.source.strip().isdigit():
            self.capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
            ok, bgr = self.capture.read()
        if not ok or bgr is None:
            self.capture.release()
            self.capture = None
            self.failed_attempts += 1
            delay = self.backoff.failed(now)
            self.last_error = f"camera source {self.source!r} stopped delivering frames; retrying in {delay:.1f} s"
            return None
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)

    def close(self) -> None:
        if self.capture is not None:
            self.capture.release()
            self.capture = None
