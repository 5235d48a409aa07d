"""Input validation before any conversion or inference (R6, R7, R8).

Every check raises :class:`InputError` with a message that says what was wrong,
so nodes can count, log (throttled) and drop the message.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from .config import setting


class InputError(ValueError):
    """A message is malformed; ``kind`` groups errors for counting and throttling."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


# encoding -> (channels, bytes per channel)
IMAGE_ENCODINGS: dict[str, tuple[int, int]] = {
    "rgb8": (3, 1), "bgr8": (3, 1), "rgba8": (4, 1), "bgra8": (4, 1), "mono8": (1, 1),
}


@dataclass(frozen=True)
class InputLimits:
    max_image_width: int = setting(4096, "Largest accepted image width (px).", low=1, high=16384)
    max_image_height: int = setting(4096, "Largest accepted image height (px).", low=1, high=16384)
    max_image_bytes: int = setting(50_000_000, "Largest accepted image payload (bytes).",
                                   low=1, high=1_000_000_000)
    max_command_bytes: int = setting(1024, "Longest accepted command text (UTF-8 bytes).", low=1,
                                     high=1_000_000)
    max_commands_per_second: float = setting(10.0, "Commands accepted per second; extra ones are dropped.",
                                             low=0.1, high=1000.0)
    max_audio_seconds: float = setting(2.0, "Longest accepted audio chunk (s).", low=0.01, high=60.0)


def check_image_layout(encoding: str, width: int, height: int, step: int, nbytes: int,
                       limits: InputLimits) -> tuple[int, int]:
    """Validate an image's declared layout against its payload (R6).

    Returns (channels, bytes per channel). Mirrors C++ cv_bridge's "image is wrongly
    formed" checks, which Python cv_bridge lacks.
    """
    if encoding not in IMAGE_ENCODINGS:
        raise InputError("encoding", f"unsupported image encoding {encoding!r}; "
                         f"expected one of {', '.join(IMAGE_ENCODINGS)}")
    if not (0 < width <= limits.max_image_width and 0 < height <= limits.max_image_height):
        raise InputError("size", f"image size {width}x{height} outside 1..{limits.max_image_width}"
                         f" x 1..{limits.max_image_height}")
    channels, depth = IMAGE_ENCODINGS[encoding]
    if step < width * channels * depth:
        raise InputError("layout", f"step {step} < width*bytes_per_pixel {width * channels * depth}")
    if nbytes != height * step:
        raise InputError("layout", f"data length {nbytes} != height*step {height * step}")
    if nbytes > limits.max_image_bytes:
        raise InputError("size", f"image payload {nbytes} B exceeds {limits.max_image_bytes} B")
    return channels, depth


AUDIO_FORMATS: dict[str, np.dtype] = {"f32": np.dtype("<f4"), "s16": np.dtype("<i2")}


def check_audio(samples: np.ndarray, rate: int, limits: InputLimits) -> np.ndarray:
    """Validate decoded audio (frames, channels); return float32 in [-1, 1] (R7)."""
    if not 4000 <= rate <= 192000:
        raise InputError("audio_rate", f"audio rate {rate} Hz outside 4000..192000")
    if samples.ndim != 2 or samples.shape[0] == 0 or not 1 <= samples.shape[1] <= 8:
        raise InputError("audio_shape", f"audio shape {samples.shape} is not (frames>0, 1..8 channels)")
    if samples.shape[0] > limits.max_audio_seconds * rate:
        raise InputError("audio_size", f"audio chunk of {samples.shape[0] / rate:.2f} s exceeds "
                         f"{limits.max_audio_seconds} s")
    out = samples.astype(np.float32, copy=False)
    if not np.isfinite(out).all():
        raise InputError("audio_nonfinite", "audio contains NaN or Inf samples")
    return np.clip(out, -1.0, 1.0)


def check_command(raw: str | bytes, limits: InputLimits) -> str:
    """Validate command text: UTF-8, bounded length, printable; returns stripped text (R8)."""
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise InputError("command_utf8", f"command is not valid UTF-8: {error}") from None
    try:
        encoded = raw.encode("utf-8")
    except UnicodeEncodeError:
        raise InputError("command_utf8", "command contains unpaired surrogates (not UTF-8)") from None
    if "\ufffd" in raw:  # rclpy decodes invalid UTF-8 with replacement characters
        raise InputError("command_utf8", "command is not valid UTF-8 (replacement characters)")
    if len(encoded) > limits.max_command_bytes:
        raise InputError("command_length", f"command of {len(encoded)} B exceeds "
                         f"{limits.max_command_bytes} B")
    text = "".join(ch for ch in raw if ch.isprintable() or ch == " ").strip()
    if not text:
        raise InputError("command_empty", "command is empty")
    return text


class RateGate:
    """Token bucket: at most ``rate`` events per second, bursts up to ``rate``."""

    def __init__(self, rate: float):
        self.rate = rate
        self._tokens = rate
        self._last: float | None = None

    def allow(self, now: float) -> bool:
        if self._last is not None:
            self._tokens = min(self.rate, self._tokens + (now - self._last) * self.rate)
        self._last = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False


@dataclass(frozen=True)
class StampPolicy:
    max_age: float = setting(0.5, "Inputs stamped older than this are stale (s).", low=0.01, high=10.0)
    max_future: float = setting(0.1, "Inputs stamped further in the future are rejected (s).",
                                low=0.0, high=5.0)


def check_stamp(stamp: float, now: float, policy: StampPolicy) -> None:
    """Reject zero, future and too-old stamps (R2)."""
    if stamp <= 0.0 or not math.isfinite(stamp):
        raise InputError("stamp_zero", "message stamp is zero or invalid")
    if stamp - now > policy.max_future:
        raise InputError("stamp_future", f"stamp {stamp - now:.3f} s in the future")
    if now - stamp > policy.max_age:
        raise InputError("stamp_old", f"stamp {now - stamp:.3f} s old")


MAX_JSON_BYTES = 65536
MAX_JSON_DEPTH = 16
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")


def json_depth(text: str) -> int:
    """Deepest nesting of arrays and objects in ``text`` (strings ignored); no recursion."""
    depth = deepest = 0
    for bracket in _NOT_BRACKET.sub("", _JSON_STRING.sub("", text)):
        depth += 1 if bracket in "[{" else -1
        deepest = max(deepest, depth)
    return deepest


def parse_json(text: str | bytes, max_bytes: int = MAX_JSON_BYTES, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Decode JSON from a topic with size and depth limits checked first, so a huge or deeply
    nested message is an :class:`InputError` (``json_size``, ``json_depth``, ``json_syntax``),
    never a RecursionError or a long parse."""
    kind = "json"
    if len(text) > max_bytes:
        raise InputError(f"{kind}_size", f"JSON of {len(text)} B exceeds {max_bytes} B")
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as error:
            raise InputError(f"{kind}_syntax", f"JSON is not UTF-8: {error}") from None
    depth = json_depth(text)
    if depth > max_depth:
        raise InputError(f"{kind}_depth", f"JSON nested {depth} deep exceeds {max_depth}")
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as error:
        raise InputError(f"{kind}_syntax", f"malformed JSON: {error}") from None


def parse_json_object(text: str | bytes, required: dict[str, type], **limits) -> dict:
    """:func:`parse_json` for an object whose ``required`` keys have the given types
    (``float`` accepts ints; booleans are never numbers); else ``json_schema``."""
    kind = "json"
    data = parse_json(text, **limits)
    if not isinstance(data, dict):
        raise InputError(f"{kind}_schema", f"expected a JSON object, got {type(data).__name__}")
    for key, expected in required.items():
        value = data.get(key)
        numeric = expected is float and isinstance(value, (int, float)) and not isinstance(value, bool)
        if not (numeric or (expected is not float and isinstance(value, expected))):
            raise InputError(f"{kind}_schema", f"field {key!r} missing or not {expected.__name__}")
    return data
