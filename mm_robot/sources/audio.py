"""Audio sources: sounddevice capture, a WAV file, or a synthetic signal.

Each yields (frames, channels) float32 chunks in [-1, 1] at a fixed rate.
"""

from __future__ import annotations

import queue
import wave
from dataclasses import dataclass
from typing import Optional, Protocol

import numpy as np

from ..core.config import setting


class AudioSourceError(RuntimeError):
    pass


@dataclass(frozen=True)
class MicrophoneConfig:
    source: str = setting("synthetic", "'device' (sounddevice capture), 'synthetic', or a WAV file path.",
                          read_only=True)
    device: str = setting("", "sounddevice input device name or index; empty = the default.", read_only=True)
    rate: int = setting(16000, "Sample rate (Hz).", low=8000, high=96000, read_only=True)
    channels: int = setting(1, "Channels.", low=1, high=8, read_only=True)
    chunk_seconds: float = setting(0.1, "Length of one published chunk (s).", low=0.01, high=1.0,
                                   read_only=True)
    sample_format: str = setting("f32", "Sample format on the wire.", choices=("f32", "s16"), read_only=True)
    frame_id: str = setting("microphone", "frame_id of the audio chunks.", read_only=True)
    synthetic_tone_hz: float = setting(440.0, "Synthetic source: tone frequency (Hz); 0 = noise only.",
                                       low=0.0, high=8000.0, read_only=True)

    @property
    def chunk_frames(self) -> int:
        return max(1, int(round(self.rate * self.chunk_seconds)))


class AudioSource(Protocol):
    def read(self) -> Optional[np.ndarray]: ...

    def close(self) -> None: ...


class SyntheticAudio:
    """A quiet tone plus noise, continuous across chunks."""

    def __init__(self, config: MicrophoneConfig, seed: int = 0):
        self.config = config
        self._position = 0
        self._rng = np.random.default_rng(seed)

    def read(self) -> np.ndarray:
        cfg = self.config
        n = cfg.chunk_frames
        t = (self._position + np.arange(n)) / cfg.rate
        self._position += n
        tone = 0.1 * np.sin(2 * np.pi * cfg.synthetic_tone_hz * t) if cfg.synthetic_tone_hz else 0.0
        noise = 0.01 * self._rng.standard_normal((n, cfg.channels))
        return (noise + np.asarray(tone)[..., None]).astype(np.float32)

    def close(self) -> None:
        pass


class WavAudio:
    """Plays a 16-bit PCM WAV file in a loop, chunk by chunk; its rate must match the config."""

    def __init__(self, config: MicrophoneConfig):
        self.config = config
        try:
            with wave.open(config.source, "rb") as wav:
                if wav.getsampwidth() != 2:
                    raise AudioSourceError(f"{config.source}: only 16-bit PCM WAV is supported")
                if wav.getframerate() != config.rate:
                    raise AudioSourceError(f"{config.source}: rate {wav.getframerate()} Hz != parameter "
                                           f"rate {config.rate} Hz")
                channels = wav.getnchannels()
                raw = wav.readframes(wav.getnframes())
        except (OSError, wave.Error, EOFError) as error:
            raise AudioSourceError(f"cannot read WAV file {config.source!r}: {error}") from None
        samples = np.frombuffer(raw, "<i2").reshape(-1, channels).astype(np.float32) / 32768.0
        if samples.shape[0] == 0:
            raise AudioSourceError(f"{config.source}: no audio frames")
        if channels != config.channels:
            samples = np.repeat(samples.mean(axis=1, keepdims=True), config.channels, axis=1)
        self.samples = samples
        self._position = 0

    def read(self) -> np.ndarray:
        n = self.config.chunk_frames
        idx = (self._position + np.arange(n)) % self.samples.shape[0]
        self._position = int((self._position + n) % self.samples.shape[0])
        return self.samples[idx]

    def close(self) -> None:
        pass


class DeviceAudio:
    """sounddevice capture; the PortAudio callback only enqueues (bounded, drops when full)."""

    def __init__(self, config: MicrophoneConfig):
        try:
            import sounddevice
        except OSError as error:  # raised when the PortAudio library is missing
            raise AudioSourceError(f"PortAudio is not available ({error}); install libportaudio2 "
                                   "(scripts/setup.sh does)") from None
        self.config = config
        self.queue: queue.Queue[np.ndarray] = queue.Queue(maxsize=20)
        self.overflows = 0
        device = int(config.device) if config.device.isdigit() else (config.device or None)

        def callback(indata, frames, time_info, status):  # PortAudio thread: keep it tiny
            if status:
                self.overflows += 1
            try:
                self.queue.put_nowait(indata.copy())
            except queue.Full:
                self.overflows += 1

        try:
            self.stream = sounddevice.InputStream(samplerate=config.rate, channels=config.channels,
                                                  dtype="float32", blocksize=config.chunk_frames,
                                                  device=device, callback=callback)
            self.stream.start()
        except Exception as error:  # sounddevice raises PortAudioError / ValueError
            raise AudioSourceError(f"cannot open audio input device {config.device or 'default'!r}: "
                                   f"{error}") from None

    def read(self) -> Optional[np.ndarray]:
        try:
            return self.queue.get(timeout=0.5)
        except queue.Empty:
            return None

    def close(self) -> None:
        self.stream.stop()
        self.stream.close()


def make_audio_source(config: MicrophoneConfig) -> AudioSource:
    if config.source == "synthetic":
        return SyntheticAudio(config)
    if config.source == "device":
        return DeviceAudio(config)
    return WavAudio(config)
