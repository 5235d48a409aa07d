"""What a sounding thing emits, as a function of time: beeps, tones, noise, recordings; and the
background beds (white noise, babble) the microphones hear under everything.

An emitter is evaluated at arbitrary times (float64 seconds since it started), so the renderer can
read it at a fractional, moving delay per microphone and per sample, and any chunking of the same
time span gives the same samples. Every emitter is normalised to an RMS of 1 *while it sounds*
(a beep's on-time, a recording's speech), so a source's ``level_db`` is its loudness at 1 m.
"""

from __future__ import annotations

import math
from typing import Optional, Protocol

import numpy as np

from .voice import SOUND_RATE, synthesise

RAMP_S = 0.005  # s: beeps fade in and out (raised cosine) so their edges do not click
BEAT = 2.0 ** 16  # samples in a looped noise buffer (4.1 s at 16 kHz)
BED_SECONDS = 8.0  # s: length of a looped background bed


class Emitter(Protocol):
    """``sample(t)``: the signal at times ``t`` (s since the source started, any shape, float64),
    0 before 0. ``duration``: s after which it is silent for good (None: never)."""

    duration: Optional[float]

    def sample(self, t: np.ndarray) -> np.ndarray: ...


class Tone:
    """A steady sine of ``pitch_hz``."""

    duration = None

    def __init__(self, pitch_hz: float) -> None:
        self.pitch_hz = float(pitch_hz)

    def sample(self, t: np.ndarray) -> np.ndarray:
        return np.where(t >= 0.0, math.sqrt(2.0) * np.sin(2.0 * math.pi * self.pitch_hz * t), 0.0)


class Beep:
    """A tone that is on for ``duty`` of every ``period_s``, starting on; edges ramped over ``RAMP_S``."""

    duration = None

    def __init__(self, pitch_hz: float, period_s: float, duty: float) -> None:
        self.pitch_hz, self.period, self.on = float(pitch_hz), float(period_s), float(period_s) * float(duty)
        self.ramp = min(RAMP_S, self.on / 2.0)

    def sample(self, t: np.ndarray) -> np.ndarray:
        phase = np.mod(t, self.period)  # s into the current period
        if self.on >= self.period:  # duty 1: a continuous tone, no gaps to ramp
            envelope = np.ones_like(phase)
        else:
            edge = np.minimum(phase, self.on - phase)  # distance to the nearer edge of the on-time
            envelope = np.where(phase < self.on, np.clip(edge / self.ramp, 0.0, 1.0), 0.0)
            envelope = 0.5 - 0.5 * np.cos(math.pi * envelope)
        wave = math.sqrt(2.0) * np.sin(2.0 * math.pi * self.pitch_hz * t)
        return np.where(t >= 0.0, envelope * wave, 0.0)


class Recording:
    """A sampled signal at ``rate``: played once, repeated every ``repeat_s`` (≥ its length), or
    looped seamlessly (``loop``, for noise). Read between samples by windowed-sinc interpolation
    (``TAPS`` taps, pass band to ``CUTOFF`` of the Nyquist frequency), which a moving fractional
    delay needs: its gain does not depend on the fraction, so two microphones at different
    fractional delays hear the same level. Normalised to RMS 1 over its active part (from the first
    to the last sample above 1/1000 of its peak)."""

    TAPS = 16
    CUTOFF = 0.9
    PHASES = 1024  # fractional positions are rounded to 1/PHASES of a sample (61 ns at 16 kHz)

    def __init__(self, samples: np.ndarray, rate: int = SOUND_RATE, repeat_s: Optional[float] = None,
                 loop: bool = False) -> None:
        x = np.asarray(samples, dtype=np.float64)
        if x.ndim != 1 or x.size < self.TAPS or not np.isfinite(x).all():
            raise ValueError(f"a recording needs at least {self.TAPS} finite mono samples")
        self.rate, self.loop, self.length = rate, loop, x.size
        peak = float(np.abs(x).max())
        active = np.flatnonzero(np.abs(x) > 1e-3 * peak) if peak > 0 else np.arange(x.size)
        rms = float(np.sqrt(np.mean(x[active[0]:active[-1] + 1] ** 2)))
        x = x / max(rms, 1e-9)
        pad = self.TAPS
        # Padding each side: zeros for a clip, the other end for a loop.
        before, after = (x[-pad:], x[:pad]) if loop else (np.zeros(pad), np.zeros(pad))
        self._padded = np.concatenate([before, x, after])
        half = self.TAPS // 2
        self._offsets = np.arange(1 - half, half + 1)  # taps at sample index + offset
        self._weights = _sinc_table(self.TAPS, self.CUTOFF, self.PHASES)  # (PHASES + 1, TAPS)
        self.repeat = None if loop or repeat_s is None else max(float(repeat_s), x.size / rate)
        self.duration = None if (loop or self.repeat is not None) else x.size / rate

    def sample(self, t: np.ndarray) -> np.ndarray:
        t = np.asarray(t, dtype=np.float64)
        local = t if self.repeat is None else np.mod(t, self.repeat)
        position = local * self.rate
        if self.loop:
            position = np.mod(position, self.length)
        index = np.floor(position).astype(np.int64)
        phase = np.rint((position - index) * self.PHASES).astype(np.int64)  # 0..PHASES
        half = self.TAPS // 2
        # Sample j is padded[j + TAPS]; the taps reach a real sample for index in [-half, length + half - 2].
        low, high = -half, self.length + half - 2
        inside = (t >= 0.0) & (index >= low) & (index <= high)
        taps = np.clip(index, low, high)[..., None] + self._offsets + self.TAPS
        value = np.einsum("...k,...k->...", self._padded[taps], self._weights[phase])
        return np.where(inside, value, 0.0)


def _sinc_table(taps: int, cutoff: float, phases: int) -> np.ndarray:
    """(phases + 1, taps) Hann-windowed sinc weights for fractions 0, 1/phases, ..., 1."""
    half = taps // 2
    u = np.linspace(0.0, 1.0, phases + 1)[:, None] - np.arange(1 - half, half + 1)  # distance to each tap
    return cutoff * np.sinc(cutoff * u) * (0.5 + 0.5 * np.cos(np.pi * u / (half + 1)))


def white_noise(seed: int, rate: int = SOUND_RATE) -> Recording:
    """Seeded noise, white up to 0.85 of the Nyquist frequency (so the interpolator passes all of
    it), looped every ``BEAT`` samples (too long to hear as a loop; the FFT makes the loop seamless)."""
    rng = np.random.default_rng([seed, 0x5EED])
    spectrum = np.fft.rfft(rng.standard_normal(int(BEAT)))
    spectrum[int(0.85 * spectrum.size):] = 0.0
    return Recording(np.fft.irfft(spectrum, int(BEAT)), rate, loop=True)


# -- background beds ------------------------------------------------------------------------------
# Babble: ordinary sentences with no word of the command language (a unit test checks), so the
# background can never legitimately say a command.
BABBLE_SENTENCES = (
    "the meeting was moved to thursday afternoon", "i think the coffee machine is broken again",
    "she said the train was late this morning", "we should order lunch for everyone",
    "have you seen the new timetable", "the report needs another week of work",
    "my brother lives by the old harbour", "it rained all weekend in the city",
    "they argued about the football match", "the printer upstairs is out of paper",
    "could you send me those numbers later", "our neighbours bought a new car",
    "i forgot my umbrella at the office", "the museum opens at nine tomorrow",
    "he is learning the piano this year", "the kitchen smells of fresh bread",
)
BABBLE_VOICES = ("en-us", "en-gb", "en-gb-scotland", "en-029", "en-us+f3", "en-gb-x-rp", "en+f2", "en-us-nyc")


def white_bed(seed: int, rate: int = SOUND_RATE) -> np.ndarray:
    """(frames, 2) independent white noise per microphone, RMS 1."""
    rng = np.random.default_rng([seed, 0xBED])
    return rng.standard_normal((int(BED_SECONDS * rate), 2))


def babble_bed(seed: int, talkers: int, spacing: float, rate: int = SOUND_RATE) -> np.ndarray:
    """(frames, 2) ``talkers`` overlapping espeak-ng voices, each reading sentences back to back
    round a circular buffer (so the bed loops without a seam) from its own fixed direction
    (a whole-sample time difference and a level difference between the microphones); RMS 1."""
    rng = np.random.default_rng([seed, 0xBAB])
    frames = int(BED_SECONDS * rate)
    bed = np.zeros((frames, 2))
    for _ in range(talkers):
        voice = BABBLE_VOICES[int(rng.integers(len(BABBLE_VOICES)))]
        speed, pitch = int(rng.choice((140, 160, 180))), int(rng.choice((35, 50, 65)))
        track = np.zeros(frames)
        at = int(rng.integers(frames))
        filled = 0
        while filled < frames:
            clip = np.asarray(synthesise(BABBLE_SENTENCES[int(rng.integers(len(BABBLE_SENTENCES)))], voice,
                                         speed, pitch, rate), dtype=np.float64)
            clip = clip[:frames]
            idx = (at + np.arange(clip.size)) % frames
            track[idx] += clip / max(float(np.sqrt(np.mean(clip ** 2))), 1e-9)
            step = clip.size + int(rng.uniform(0.1, 0.4) * rate)
            at, filled = (at + step) % frames, filled + step
        azimuth = rng.uniform(-math.pi, math.pi)
        shift = int(round(spacing * math.sin(azimuth) / 343.0 * rate))  # left leads when the talker is left
        level = 10.0 ** (3.0 * math.sin(azimuth) / 20.0)
        bed[:, 0] += np.roll(track, -shift // 2) * level
        bed[:, 1] += np.roll(track, shift - shift // 2) / level
    return bed / max(float(np.sqrt(np.mean(bed ** 2))), 1e-9)


class Background:
    """A looped (frames, 2) bed at ``rms``; sample index ``n`` of the run reads bed row
    ``(n + offset) % len``, so any chunking reads the same samples."""

    def __init__(self, bed: np.ndarray, rms: float, offset: int = 0) -> None:
        self.bed, self.rms, self.offset = bed, float(rms), int(offset)

    def segment(self, start: int, count: int) -> np.ndarray:
        """(count, 2) float64 for absolute sample indices ``start .. start + count - 1``."""
        rows = (self.offset + start + np.arange(count)) % self.bed.shape[0]
        return self.bed[rows] * self.rms


def make_background(noise: str, rms: float, seed: int, talkers: int = 4, spacing: float = 0.16,
                    rate: int = SOUND_RATE) -> Optional[Background]:
    """``noise`` "none" -> None, "white" or "babble" -> a :class:`Background` at ``rms``."""
    if noise == "none":
        return None
    bed = white_bed(seed, rate) if noise == "white" else babble_bed(seed, talkers, spacing, rate)
    offset = int(np.random.default_rng([seed, 0x0FF]).integers(bed.shape[0]))
    return Background(bed, rms, offset)
