"""Speech for the simulator: espeak-ng synthesis and WAV recordings as float32 at the sound rate.

    samples = synthesise("go to the red ball", voice="en-gb", speed=150, pitch=60)   # (frames,) float32

espeak-ng (a Debian package; scripts/setup.sh installs it) is run as a subprocess with the text
on its standard input, so a text can never be read as an option. Results are cached (bounded)
and read-only: the same words in the same voice are synthesised once per process, and espeak-ng
itself is deterministic, so a scenario sounds the same on every run.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import wave
from functools import lru_cache
from pathlib import Path

import numpy as np

SOUND_RATE = 16000  # Hz: the simulator's microphones
VOICE_PATTERN = re.compile(r"^[a-z]{2,3}(-[a-z0-9]+)*(\+[a-z0-9]+)?$")  # e.g. en-us, en-gb-x-rp, en-us+f3
SPEED_RANGE = (80, 450)  # words per minute (espeak-ng -s)
PITCH_RANGE = (0, 99)  # espeak-ng -p
MAX_TEXT = 500  # characters


class SynthesisError(RuntimeError):
    """espeak-ng is missing, refused the voice, or returned no audio; or a WAV is unreadable."""


def espeak_available() -> bool:
    return shutil.which("espeak-ng") is not None


def check_voice(voice: str, speed: int, pitch: int) -> None:
    """Raise ValueError naming the bad setting (the scenario loader turns it into a field error)."""
    if not VOICE_PATTERN.match(voice):
        raise ValueError(f"voice {voice!r} is not an espeak-ng voice name such as en-us, en-gb-x-rp, "
                         "en-us+f3")
    if not SPEED_RANGE[0] <= speed <= SPEED_RANGE[1]:
        raise ValueError(f"speed {speed} outside {SPEED_RANGE[0]}..{SPEED_RANGE[1]} words per minute")
    if not PITCH_RANGE[0] <= pitch <= PITCH_RANGE[1]:
        raise ValueError(f"pitch {pitch} outside {PITCH_RANGE[0]}..{PITCH_RANGE[1]}")


def synthesise(text: str, voice: str = "en-us", speed: int = 160, pitch: int = 50,
               rate: int = SOUND_RATE) -> np.ndarray:
    """``text`` spoken by espeak-ng -> (frames,) float32 in [-1, 1] at ``rate`` Hz, read-only.

    espeak-ng's own short silences at both ends are kept. Raises :class:`SynthesisError`.
    """
    check_voice(voice, speed, pitch)
    if not text.strip() or len(text) > MAX_TEXT:
        raise ValueError(f"text must be 1..{MAX_TEXT} characters")
    return _synthesise(text, voice, int(speed), int(pitch), int(rate))


@lru_cache(maxsize=64)
def _synthesise(text: str, voice: str, speed: int, pitch: int, rate: int) -> np.ndarray:
    if not espeak_available():
        raise SynthesisError("espeak-ng is not installed (Debian: apt-get install espeak-ng; "
                             "scripts/setup.sh lists it)")
    try:
        done = subprocess.run(["espeak-ng", "--stdout", "-v", voice, "-s", str(speed), "-p", str(pitch)],
                              input=text.encode("utf-8"), capture_output=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise SynthesisError(f"espeak-ng failed: {error}") from None
    if done.returncode != 0 or len(done.stdout) <= 44:
        raise SynthesisError(f"espeak-ng gave no audio for voice {voice!r}: "
                             f"{done.stderr.decode(errors='replace').strip()}")
    samples, source_rate = _decode_wav(done.stdout)
    out = resample(samples, source_rate, rate)
    out.setflags(write=False)
    return out


def _decode_wav(data: bytes) -> tuple[np.ndarray, int]:
    """16-bit PCM WAV bytes -> (mono float32, rate). espeak-ng streams its WAV with an unknown
    length in the header, so the frames are taken as everything after the header."""
    try:
        with wave.open(io.BytesIO(data)) as wav:
            if wav.getsampwidth() != 2:
                raise SynthesisError(f"only 16-bit PCM WAV is supported, not {8 * wav.getsampwidth()}-bit")
            channels, rate = wav.getnchannels(), wav.getframerate()
            raw = wav.readframes(wav.getnframes())
    except (wave.Error, EOFError) as error:
        raise SynthesisError(f"not a readable WAV: {error}") from None
    raw = raw[:len(raw) - len(raw) % (2 * channels)]
    samples = np.frombuffer(raw, "<i2").astype(np.float32).reshape(-1, channels).mean(axis=1) / 32768.0
    return samples, rate


def read_wav(path: str | Path, rate: int = SOUND_RATE) -> np.ndarray:
    """A 16-bit PCM WAV file -> (frames,) float32 mono at ``rate`` Hz, read-only."""
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise SynthesisError(f"cannot read {path}: {error}") from None
    samples, source_rate = _decode_wav(data)
    if samples.size == 0:
        raise SynthesisError(f"{path}: no audio frames")
    out = resample(samples, source_rate, rate)
    out.setflags(write=False)
    return out


def resample(samples: np.ndarray, source_rate: int, rate: int) -> np.ndarray:
    """Band-limited resampling of a whole (frames,) signal by FFT (ideal low-pass at the lower
    Nyquist). Meant for short one-shot clips that start and end quietly (speech): the FFT treats
    the clip as periodic, so a loud edge would ring."""
    samples = np.asarray(samples, dtype=np.float64)
    if source_rate == rate or samples.size < 2:
        return samples.astype(np.float32)
    n_out = max(1, int(round(samples.size * rate / source_rate)))
    spectrum = np.fft.rfft(samples)
    keep = min(spectrum.size, n_out // 2 + 1)
    out = np.fft.irfft(spectrum[:keep], n_out) * (n_out / samples.size)
    return out.astype(np.float32)
