"""What the robot's stereo microphone pair hears: sounding objects, spoken commands, background.

ROS-free and numpy-only (speech comes from espeak-ng through :mod:`mm_robot.sim.voice`). The
robot carries two microphones ``MicPair.spacing`` m apart across its base (left = +y of the
robot), facing forward. Per source and per microphone, every sample gets

* the propagation delay ``r / c`` (c = 343 m/s) to that microphone: the path-length difference
  between the two is the interaural time difference, read from the source as a *fractional*
  delay (cubic interpolation; beeps and tones are evaluated exactly at the delayed time);
* distance attenuation ``1 / max(r, NEAR_FIELD)`` (a level of ``level_db`` dBFS RMS at 1 m);
* a head-shadow level difference of ``±ild_db / 2 · sin(azimuth)`` dB (the near side louder) and
  ``rear_db · (1 − cos(azimuth)) / 2`` dB less for sources behind (0 dB ahead, ``rear_db`` behind),
  which breaks the front/back ambiguity a time difference alone leaves.

The delays and gains of a chunk ramp linearly from the pose of the previous chunk to the pose at
its end, and every emitter is a function of absolute time, so motion never clicks and rendering
a time span in ten chunks gives the same samples as rendering it at once. Background noise or
babble is added at a given SNR. Output: (frames, 2) float32 at 16 kHz, column 0 the left
microphone, clipped to [-1, 1] (clipped samples are counted).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np

from .emitters import Background, Beep, Emitter, Recording, Tone, make_background, white_noise
from .spec import AudioSpec, Pose2D, SceneSpec, SoundSpec
from .voice import SOUND_RATE, synthesise

SPEED_OF_SOUND = 343.0  # m/s
NEAR_FIELD = 0.25  # m: 1/r attenuation is clamped closer than this
DEFAULT_REFERENCE_DB = -26.0  # dBFS: the SNR reference when nothing in the scene makes a sound
MAX_SOURCES = 64  # sounding things at once; finished one-shot sources are dropped
SPEECH_GAP_S = 1.0  # s of silence between repeats of a talking object's phrase


def db_to_gain(db: float) -> float:
    return 10.0 ** (db / 20.0)


@dataclass(frozen=True)
class MicPair:
    """Two microphones ``spacing`` m apart across the base, ``forward`` m ahead of its centre."""

    spacing: float = 0.16
    forward: float = 0.0
    ild_db: float = 6.0
    rear_db: float = 4.0

    @classmethod
    def of(cls, audio: Optional[AudioSpec]) -> "MicPair":
        audio = audio or AudioSpec()
        return cls(audio.mic_spacing, 0.0, audio.ild_db, audio.rear_db)

    def centre(self, pose: Pose2D) -> tuple[float, float]:
        return pose.x + self.forward * math.cos(pose.yaw), pose.y + self.forward * math.sin(pose.yaw)

    def response(self, pose: Pose2D, x: float, y: float) -> tuple[np.ndarray, np.ndarray]:
        """(delays s, gains) of a source at (x, y) for (left, right), each shape (2,)."""
        cx, cy = self.centre(pose)
        half = self.spacing / 2.0
        across = (-math.sin(pose.yaw) * half, math.cos(pose.yaw) * half)  # centre -> left microphone
        r_left = math.hypot(x - cx - across[0], y - cy - across[1])
        r_right = math.hypot(x - cx + across[0], y - cy + across[1])
        azimuth = math.atan2(y - cy, x - cx) - pose.yaw
        shadow = self.ild_db / 2.0 * math.sin(azimuth)
        rear = -self.rear_db * (1.0 - math.cos(azimuth)) / 2.0
        distances = np.array([r_left, r_right])
        shading = np.array([db_to_gain(rear + shadow), db_to_gain(rear - shadow)])
        gains = shading / np.maximum(distances, NEAR_FIELD)
        return distances / SPEED_OF_SOUND, gains

    def level_at_centre(self, pose: Pose2D, x: float, y: float, level_db: float) -> float:
        """RMS of a source of ``level_db`` at the pair's centre, before head shadow (the SNR reference)."""
        cx, cy = self.centre(pose)
        return db_to_gain(level_db) / max(math.hypot(x - cx, y - cy), NEAR_FIELD)


@dataclass(frozen=True)
class SoundSource:
    """``emitter`` at (``x``, ``y``), ``level_db`` dBFS RMS at 1 m, started at sim time ``start``."""

    name: str
    x: float
    y: float
    emitter: Emitter
    level_db: float = -20.0
    start: float = 0.0

    @property
    def gain(self) -> float:
        return db_to_gain(self.level_db)


def emitter_for(sound: SoundSpec, rate: int = SOUND_RATE) -> Emitter:
    """The :class:`Emitter` a :class:`SoundSpec` describes (speech is synthesised here)."""
    if sound.kind == "beep":
        return Beep(sound.pitch_hz, sound.period_s, sound.duty)
    if sound.kind == "tone":
        return Tone(sound.pitch_hz)
    if sound.kind == "noise":
        return white_noise(sound.seed, rate)
    samples = synthesise(sound.text, sound.voice, sound.speed, sound.pitch, rate)
    length = samples.size / rate
    return Recording(samples, rate, sound.period_s if sound.period_s > 0 else length + SPEECH_GAP_S)


def scene_sources(scene: SceneSpec, rate: int = SOUND_RATE) -> list[SoundSource]:
    """A source per sounding object of ``scene``, all sounding from time 0."""
    return [SoundSource(o.name, o.x, o.y, emitter_for(o.sound, rate), o.sound.level_db)
            for o in scene.objects if o.sound is not None]


class SoundRenderer:
    """Renders, chunk after chunk on sim time, what the pair hears. Bounded: at most
    ``MAX_SOURCES`` sources; the background bed has a fixed length."""

    def __init__(self, mic: MicPair = MicPair(), background: Optional[Background] = None,
                 rate: int = SOUND_RATE, start_time: float = 0.0) -> None:
        self.mic, self.background, self.rate = mic, background, int(rate)
        self.position = int(round(start_time * self.rate))  # absolute index of the next sample
        self._playing: list[list] = []  # [source, (delays, gains) at the end of the last chunk or None]
        self.clipped = 0  # samples clipped to [-1, 1] so far

    @property
    def time(self) -> float:
        """Sim time of the next sample to render (s)."""
        return self.position / self.rate

    @property
    def sources(self) -> tuple[SoundSource, ...]:
        return tuple(p[0] for p in self._playing)

    def add(self, source: SoundSource) -> None:
        if len(self._playing) >= MAX_SOURCES:
            raise ValueError(f"more than {MAX_SOURCES} sound sources at once")
        self._playing.append([source, None])

    def render_parts(self, pose: Pose2D, until: float) -> tuple[np.ndarray, np.ndarray]:
        """(direct sound, background), each (frames, 2) float64, for sim time [``time``, ``until``)
        heard from ``pose`` (the robot's pose at ``until``; the previous chunk's pose is ramped to it)."""
        end = int(round(until * self.rate))
        n = max(0, end - self.position)
        direct = np.zeros((n, 2))
        if n == 0:
            return direct, np.zeros((0, 2))
        t = ((self.position + np.arange(n)) / self.rate)[:, None]  # (n, 1) s of sim time
        ramp = (np.arange(1, n + 1) / n)[:, None]  # (n, 1): reaches the new pose at the last sample
        for playing in self._playing:
            source, before = playing
            delays, gains = self.mic.response(pose, source.x, source.y)
            d0, g0 = before if before is not None else (delays, gains)
            delay = d0 + (delays - d0) * ramp  # (n, 2)
            gain = g0 + (gains - g0) * ramp
            direct += source.gain * gain * source.emitter.sample(t - delay - source.start)
            playing[1] = (delays, gains)
        background = self.background.segment(self.position, n) if self.background else np.zeros((n, 2))
        self.position = end
        self._drop_finished()
        return direct, background

    def render(self, pose: Pose2D, until: float) -> np.ndarray:
        """(frames, 2) float32 in [-1, 1]: left, right. See :meth:`render_parts`."""
        direct, background = self.render_parts(pose, until)
        mix = direct + background
        self.clipped += int(np.count_nonzero(np.abs(mix) > 1.0))
        return np.clip(mix, -1.0, 1.0).astype(np.float32)

    def _drop_finished(self) -> None:
        horizon = 0.3  # s: longer than sound takes across the largest arena (50 m: 0.2 s)
        self._playing = [p for p in self._playing if p[0].emitter.duration is None
                         or p[0].start + p[0].emitter.duration + horizon > self.time]


def reference_rms(levels: Sequence[float]) -> float:
    """The SNR reference: the loudest of ``levels`` (RMS at the pair's centre), or
    ``DEFAULT_REFERENCE_DB`` when there is none."""
    return max(levels) if levels else db_to_gain(DEFAULT_REFERENCE_DB)


def background_for(audio: Optional[AudioSpec], reference: float,
                   rate: int = SOUND_RATE) -> Optional[Background]:
    """The scene's background at ``audio.snr_db`` below ``reference`` (RMS), or None."""
    if audio is None or audio.noise == "none":
        return None
    rms = reference / db_to_gain(audio.snr_db)
    return make_background(audio.noise, rms, audio.seed, audio.talkers, audio.mic_spacing, rate)


def render_heard(sources: Sequence[SoundSource], pose: Pose2D, end_time: float, duration: float = 1.0,
                 mic: MicPair = MicPair(), background: Optional[Background] = None,
                 rate: int = SOUND_RATE) -> np.ndarray:
    """What a robot standing still at ``pose`` hears during sim time [``end_time`` − ``duration``,
    ``end_time``): (frames, 2) float32 in [-1, 1], frames = ``round(duration · rate)``, column 0
    the left microphone, column 1 the right, at ``rate`` Hz.

    For training samples (the fusion model's audio tokens): the sources keep their own start
    times, so a beep's phase and a phrase's position follow ``end_time``; the same arguments always
    give the same samples. Emitters are only read, so ``sources`` can be shared between calls.
    """
    renderer = SoundRenderer(mic, background, rate, end_time - duration)
    for source in sources:
        renderer.add(source)
    return renderer.render(pose, end_time)


def hear_scene(scene: SceneSpec, pose: Optional[Pose2D] = None, end_time: float = 1.0, duration: float = 1.0,
               rate: int = SOUND_RATE) -> np.ndarray:
    """:func:`render_heard` for ``scene``'s sounding objects and background (SNR relative to the
    loudest object at ``pose``, default the scene's robot pose): (frames, 2) float32."""
    pose = pose or scene.robot
    mic = MicPair.of(scene.audio)
    sources = scene_sources(scene, rate)
    levels = [mic.level_at_centre(pose, s.x, s.y, s.level_db) for s in sources]
    background = background_for(scene.audio, reference_rms(levels), rate)
    return render_heard(sources, pose, end_time, duration, mic, background, rate)
