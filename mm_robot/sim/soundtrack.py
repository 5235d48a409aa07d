"""The sound of one scenario run: its sounding objects from the start, each spoken command when
it falls due, and the background at the scene's SNR. Used by the sim node's session and by
lockstep episodes alike.

The SNR reference (docs/scenarios.md): the first spoken command's level at the robot's start pose
when the timeline speaks, else the loudest sounding object's, else ``DEFAULT_REFERENCE_DB``; each
as the RMS while it sounds, at the centre of the microphone pair, before head shadow.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from .emitters import Recording
from .scenario import Scenario, TimedCommand
from .sound import MicPair, SoundRenderer, SoundSource, background_for, reference_rms, scene_sources
from .spec import Pose2D, SceneSpec
from .voice import SOUND_RATE, read_wav, synthesise


class Soundtrack:
    """Renders a scene's sound on sim time; :meth:`play` adds a spoken command."""

    def __init__(self, scene: SceneSpec, timeline: Sequence[TimedCommand] = (),
                 base_dir: Optional[Path] = None, start_time: float = 0.0, rate: int = SOUND_RATE) -> None:
        self.scene, self.base_dir, self.rate = scene, base_dir, rate
        self.mic = MicPair.of(scene.audio)
        sources = scene_sources(scene, rate)
        pose = scene.robot
        spoken = [c for c in timeline if c.spoken]
        if spoken:
            x, y = self.speaker_position(spoken[0])
            levels = [self.mic.level_at_centre(pose, x, y, self._level(spoken[0]))]
        else:
            levels = [self.mic.level_at_centre(pose, s.x, s.y, s.level_db) for s in sources]
        self.reference = reference_rms(levels)
        background = background_for(scene.audio, self.reference, rate)
        self.renderer = SoundRenderer(self.mic, background, rate, start_time)
        for source in sources:
            self.renderer.add(source)
        for command in spoken:  # synthesise now: a missing espeak-ng fails at the start, not mid-run
            self.utterance(command)

    @classmethod
    def of(cls, scenario: Scenario, start_time: float = 0.0) -> "Soundtrack":
        base = Path(scenario.source).parent if scenario.source else None
        return cls(scenario.scene, scenario.timeline, base, start_time)

    @staticmethod
    def _level(command: TimedCommand) -> float:
        return command.say.level_db if command.say is not None else -20.0

    def speaker_position(self, command: TimedCommand) -> tuple[float, float]:
        say = command.say
        if say is not None and say.x is not None:
            return say.x, say.y
        return self.scene.operator_position()

    def utterance(self, command: TimedCommand) -> np.ndarray:
        """The spoken command's samples, (frames,) float32 at the sound rate (synthesised, or its WAV)."""
        if command.say is not None:
            say = command.say
            return synthesise(say.text, say.voice, say.speed, say.pitch, self.rate)
        path = Path(command.audio)
        if not path.is_absolute() and self.base_dir is not None:
            path = self.base_dir / path
        return _recording(str(path), self.rate)

    def duration(self, command: TimedCommand) -> float:
        """Seconds the spoken command takes."""
        return self.utterance(command).size / self.rate

    def play(self, command: TimedCommand, at: float) -> None:
        """Speak ``command`` from its speaker position, starting at sim time ``at``."""
        x, y = self.speaker_position(command)
        recording = Recording(self.utterance(command), self.rate)
        self.renderer.add(SoundSource(f"say@{command.t:g}", x, y, recording, self._level(command), at))

    def render(self, pose: Pose2D, until: float) -> np.ndarray:
        """(frames, 2) float32: what the pair heard since the last call, up to sim time ``until``."""
        return self.renderer.render(pose, until)

    @property
    def time(self) -> float:
        return self.renderer.time


@lru_cache(maxsize=16)
def _recording(path: str, rate: int) -> np.ndarray:
    return read_wav(path, rate)
