"""Audio conditioning for hearing: any device rate and channel count in, 16 kHz mono out, with the
level, clipping and silence of what came in.

ROS-free and numpy-only. :class:`StreamResampler` converts a stream chunk by chunk with a
windowed-sinc polyphase filter whose history carries across chunks, so chunk boundaries never
click and the same signal cut into any chunks gives the same samples (to float rounding).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

TARGET_RATE = 16000  # Hz: what the VAD and the recognisers take
CLIP_LEVEL = 0.999  # |sample| at or above this counts as clipped (full scale)
SILENCE_DBFS = -70.0  # a chunk whose RMS is below this is silence (a dead or muted input)
_TAPS_PER_SIDE = 16  # sinc zero crossings each side of the centre (at the lower of the two rates)


def to_mono(samples: np.ndarray) -> np.ndarray:
    """(frames, channels) or (frames,) -> (frames,) float32: the channel average (a microphone
    pair adds coherently for a talker ahead and averages its independent noise down)."""
    samples = np.asarray(samples, dtype=np.float32)
    if samples.ndim == 1:
        return samples
    return samples.mean(axis=1, dtype=np.float32)


def dbfs(rms: float) -> float:
    """RMS -> dB relative to full scale; -inf-safe (silence is -120 dBFS)."""
    return 20.0 * math.log10(max(rms, 1e-6))


@dataclass(frozen=True)
class Level:
    """What one chunk of input sounded like (before resampling)."""

    rms_dbfs: float
    peak: float
    clipped_fraction: float  # share of samples at full scale

    @property
    def silent(self) -> bool:
        return self.rms_dbfs < SILENCE_DBFS

    @property
    def clipped(self) -> bool:
        """More than one sample in a thousand at full scale: the input gain is too high."""
        return self.clipped_fraction > 1e-3


def measure(samples: np.ndarray) -> Level:
    """Level of (frames, channels) or (frames,) samples in [-1, 1] (finite; validated upstream)."""
    samples = np.asarray(samples, dtype=np.float32)
    if samples.size == 0:
        return Level(dbfs(0.0), 0.0, 0.0)
    magnitude = np.abs(samples)
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))
    return Level(dbfs(rms), float(magnitude.max()), float(np.mean(magnitude >= CLIP_LEVEL)))


def _design(up: int, down: int) -> np.ndarray:
    """Polyphase low-pass prototype: Kaiser-windowed sinc at the lower Nyquist, gain ``up``."""
    cutoff = 0.5 / max(up, down) * 0.95  # cycles per sample at the upsampled rate, with a guard band
    half = _TAPS_PER_SIDE * max(up, down)
    n = np.arange(-half, half + 1)
    taps = 2 * cutoff * np.sinc(2 * cutoff * n) * np.kaiser(n.size, 8.0)
    return (taps * up / taps.sum()).astype(np.float64)


class StreamResampler:
    """Rational-ratio resampling of a mono stream, ``rate`` -> ``target`` Hz, chunk by chunk.

    ``process(chunk)`` returns the output samples that chunk completes; the filter delay
    (``_TAPS_PER_SIDE`` input samples at the lower rate) is paid once, at the start.
    """

    def __init__(self, rate: int, target: int = TARGET_RATE) -> None:
        if rate <= 0 or target <= 0:
            raise ValueError(f"rates must be positive, got {rate} -> {target}")
        ratio = Fraction(int(target), int(rate))
        self.rate, self.target = int(rate), int(target)
        self.up, self.down = ratio.numerator, ratio.denominator
        self.identity = self.up == self.down
        self._taps = _design(self.up, self.down) if not self.identity else np.ones(1)
        self.delay = (self._taps.size - 1) / 2 / self.down  # output samples: the linear-phase filter's centre
        # Phase p of the polyphase filter: taps[p::up], applied to the input history.
        self._phase_len = math.ceil(self._taps.size / self.up)
        padded = np.zeros(self._phase_len * self.up)
        padded[:self._taps.size] = self._taps
        self._phases = padded.reshape(self._phase_len, self.up).T[:, ::-1]  # (up, phase_len), newest last
        self._history = np.zeros(self._phase_len - 1)
        self._next = 0  # index of the next output sample on the upsampled grid, relative to the history

    def process(self, chunk: np.ndarray) -> np.ndarray:
        """(frames,) float -> (m,) float32 at the target rate."""
        chunk = np.asarray(chunk, dtype=np.float64).reshape(-1)
        if self.identity:
            return chunk.astype(np.float32)
        x = np.concatenate([self._history, chunk])  # x[k] is input sample k - (phase_len - 1) ... of the window
        available = x.size - (self._phase_len - 1)  # input positions whose full window is present
        positions = np.arange(self._next, available * self.up, self.down)  # upsampled-grid indices
        base, phase = positions // self.up, positions % self.up
        windows = np.lib.stride_tricks.sliding_window_view(x, self._phase_len)  # (available, phase_len)
        out = np.einsum("ij,ij->i", windows[base], self._phases[phase])
        consumed = available
        self._next = int(positions[-1] + self.down - consumed * self.up) if positions.size else \
            self._next - consumed * self.up
        self._history = x[consumed:] if self._phase_len > 1 else np.zeros(0)
        return out.astype(np.float32)


def resample_clip(samples: np.ndarray, rate: int, target: int = TARGET_RATE) -> np.ndarray:
    """A whole (frames,) clip at ``rate`` -> (frames',) float32 at ``target``, delay-compensated."""
    resampler = StreamResampler(rate, target)
    if resampler.identity:
        return np.asarray(samples, dtype=np.float32)
    padded = np.concatenate([np.asarray(samples, dtype=np.float64), np.zeros(2 * resampler._phase_len)])
    out = resampler.process(padded)
    skip = int(round(resampler.delay))
    want = int(round(len(samples) * target / rate))
    return out[skip:skip + want]
