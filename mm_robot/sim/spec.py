"""Plain data that describes a simulated scene: arena, robot, camera, objects, randomisation.

Everything here is immutable Python data with no MuJoCo in it, so scenarios, the data
generator and the Gazebo SDF writer share one description. Units: metres, radians,
seconds; the world frame is x forward / y left / z up (REP 103), yaw counter-clockwise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Optional

from ..core.camera_model import CameraModel
from ..core.vocabulary import COLOURS, SHAPES
from .voice import check_voice

# Robot body: a squat cylinder; the camera sits on its front edge.
ROBOT_RADIUS = 0.18  # m
ROBOT_HEIGHT = 0.15  # m, body height above the wheels' contact plane
CAMERA_HEIGHT = 0.20  # m above the floor
CAMERA_FORWARD = ROBOT_RADIUS  # m ahead of the robot's centre
WHEEL_SEPARATION = 0.30  # m (Gazebo diff-drive)
WHEEL_RADIUS = 0.05  # m (Gazebo diff-drive)

DEFAULT_OBJECT_SIZE = 0.30  # m, the object's height

# Sound (mm_robot/sim/sound.py). Levels are dBFS RMS at 1 m while sounding.
SOUND_KINDS = ("beep", "tone", "noise", "speech")
NOISE_KINDS = ("none", "white", "babble")
LEVEL_RANGE = (-60.0, 0.0)  # dBFS
PITCH_HZ_RANGE = (50.0, 7000.0)  # below the 8 kHz Nyquist frequency of the 16 kHz microphones
OPERATOR_DISTANCE = 1.0  # m: a spoken command comes from this far behind the robot's start pose


@dataclass(frozen=True)
class CameraSpec:
    """A pinhole camera looking along the robot's x axis, level with the floor.

    ``hfov`` is the horizontal field of view in radians. The focal length in pixels is
    ``(width / 2) / tan(hfov / 2)`` for both axes (square pixels), the same model as
    :func:`mm_robot.core.steering.bearing_of`.
    """

    width: int = 320
    height: int = 240
    hfov: float = math.radians(60.0)

    @property
    def focal(self) -> float:
        return (self.width / 2.0) / math.tan(self.hfov / 2.0)

    @property
    def intrinsics(self) -> CameraModel:
        """The pinhole model ``camera_info`` announces for this camera."""
        return CameraModel.from_hfov(self.width, self.height, self.hfov)

    @property
    def vfov(self) -> float:
        return 2.0 * math.atan((self.height / 2.0) / self.focal)

    def validate(self) -> "CameraSpec":
        if not (8 <= self.width <= 4096 and 8 <= self.height <= 4096):
            raise ValueError(f"camera size {self.width}x{self.height} outside 8..4096")
        if not (math.radians(5) <= self.hfov <= math.radians(170)):
            raise ValueError(f"camera hfov {self.hfov!r} rad outside 5..170 degrees")
        return self


@dataclass(frozen=True)
class Pose2D:
    x: float = 0.0
    y: float = 0.0
    yaw: float = 0.0


def _within(name: str, value: float, low: float, high: float, unit: str = "") -> None:
    if not (isinstance(value, (int, float)) and math.isfinite(value) and low <= value <= high):
        raise ValueError(f"{name} {value!r} outside {low:g}..{high:g}{unit}")


@dataclass(frozen=True)
class SoundSpec:
    """What an object sounds like. ``kind``: "beep" (``pitch_hz`` on for ``duty`` of every
    ``period_s``), "tone" (steady ``pitch_hz``), "noise" (white, from ``seed``) or "speech"
    (``text`` in an espeak-ng ``voice`` at ``speed`` words/min and ``pitch`` 0..99, repeated every
    ``period_s``, 0 = its length + 1 s). ``level_db``: dBFS RMS at 1 m while it sounds."""

    kind: str
    level_db: float = -20.0
    pitch_hz: float = 1000.0
    period_s: float = 0.5
    duty: float = 0.5
    text: str = ""
    voice: str = "en-us"
    speed: int = 160
    pitch: int = 50
    seed: int = 0

    def validate(self) -> "SoundSpec":
        if self.kind not in SOUND_KINDS:
            raise ValueError(f"sound kind {self.kind!r} is not one of {', '.join(SOUND_KINDS)}")
        _within("level_db", self.level_db, *LEVEL_RANGE, " dBFS")
        if self.kind in ("beep", "tone"):
            _within("pitch_hz", self.pitch_hz, *PITCH_HZ_RANGE, " Hz")
        if self.kind == "beep":
            _within("period_s", self.period_s, 0.05, 10.0, " s")
            _within("duty", self.duty, 0.05, 1.0)
        if self.kind == "speech":
            if not self.text.strip() or len(self.text) > 200:
                raise ValueError("speech text must be 1..200 characters")
            check_voice(self.voice, self.speed, self.pitch)
            _within("period_s", self.period_s, 0.0, 60.0, " s")
        return self


@dataclass(frozen=True)
class SpeechSpec:
    """A spoken command: ``text`` in an espeak-ng ``voice`` (``speed`` words/min, ``pitch``
    0..99) at ``level_db`` (dBFS RMS at 1 m), from (``x``, ``y``), or — both None — from the
    operator standing ``OPERATOR_DISTANCE`` behind the robot's start pose."""

    text: str
    voice: str = "en-us"
    speed: int = 160
    pitch: int = 50
    level_db: float = -20.0
    x: Optional[float] = None
    y: Optional[float] = None

    def validate(self) -> "SpeechSpec":
        if not self.text.strip() or len(self.text) > 500:
            raise ValueError("text must be 1..500 characters")
        check_voice(self.voice, self.speed, self.pitch)
        _within("level_db", self.level_db, *LEVEL_RANGE, " dBFS")
        if (self.x is None) != (self.y is None):
            raise ValueError("give both x and y of the speaker, or neither (the operator behind the robot)")
        return self


@dataclass(frozen=True)
class AudioSpec:
    """The scene's acoustics. ``noise`` "none" | "white" | "babble" (``talkers`` espeak-ng voices)
    at ``snr_db`` below the reference signal (docs/scenarios.md), drawn from ``seed``; the robot's
    microphone pair is ``mic_spacing`` m apart across the base, with ``ild_db`` of level difference
    for a source at 90° and ``rear_db`` less level for a source straight behind."""

    noise: str = "none"
    snr_db: float = 20.0
    seed: int = 0
    mic_spacing: float = 0.16
    talkers: int = 4
    ild_db: float = 6.0
    rear_db: float = 4.0

    def validate(self) -> "AudioSpec":
        if self.noise not in NOISE_KINDS:
            raise ValueError(f"noise {self.noise!r} is not one of {', '.join(NOISE_KINDS)}")
        _within("snr_db", self.snr_db, -10.0, 60.0, " dB")
        _within("mic_spacing", self.mic_spacing, 0.02, 0.5, " m")
        _within("talkers", self.talkers, 1, 12)
        _within("ild_db", self.ild_db, 0.0, 20.0, " dB")
        _within("rear_db", self.rear_db, 0.0, 20.0, " dB")
        return self


@dataclass(frozen=True)
class ObjectSpec:
    """One object on the floor. ``size`` is its height in metres; ``yaw`` turns boxes;
    ``sound``: what it emits (None: silent)."""

    name: str
    colour: str
    shape: str
    x: float
    y: float
    size: float = DEFAULT_OBJECT_SIZE
    yaw: float = 0.0
    sound: Optional[SoundSpec] = None

    @property
    def label(self) -> str:
        """The phrase that names it, e.g. ``"red ball"``."""
        return f"{self.colour} {self.shape}"

    @property
    def footprint_radius(self) -> float:
        """Radius of the circle that covers the object's footprint (m)."""
        return footprint_radius(self.shape, self.size)

    def validate(self) -> "ObjectSpec":
        if not self.name or not self.name.replace("_", "").isalnum():
            raise ValueError(f"object name {self.name!r} must be letters, digits and _")
        if self.colour not in COLOURS:
            raise ValueError(f"object {self.name}: colour {self.colour!r} is not one of "
                             f"{', '.join(COLOURS)}")
        if self.shape not in SHAPES:
            raise ValueError(f"object {self.name}: shape {self.shape!r} is not one of "
                             f"{', '.join(SHAPES)}")
        if not (0.05 <= self.size <= 1.5):
            raise ValueError(f"object {self.name}: size {self.size!r} outside 0.05..1.5 m")
        if self.sound is not None:
            try:
                self.sound.validate()
            except ValueError as error:
                raise ValueError(f"object {self.name}: sound: {error}") from None
        return self


def footprint_radius(shape: str, size: float) -> float:
    """Covering radius of the footprint of ``shape`` with height ``size`` (see shapes.py)."""
    factors = {"ball": 0.5, "box": 0.5 * math.sqrt(2.0), "cylinder": 0.35, "cone": 0.45,
               "capsule": 0.25}
    return factors[shape] * size


@dataclass(frozen=True)
class Randomisation:
    """Appearance randomisation, drawn from ``seed``. None of it moves objects."""

    seed: int = 0
    lighting: bool = True
    floor: bool = True
    colour_jitter: float = 0.0  # max absolute change per RGB channel

    def validate(self) -> "Randomisation":
        if not (0.0 <= self.colour_jitter <= 0.3):
            raise ValueError(f"colour_jitter {self.colour_jitter!r} outside 0..0.3")
        return self


@dataclass(frozen=True)
class SceneSpec:
    """A whole scene. The arena is a square of side ``arena_size`` centred on the origin,
    walled in. ``audio``: its acoustics (None: no background noise, default microphones)."""

    objects: tuple[ObjectSpec, ...] = ()
    robot: Pose2D = Pose2D()
    arena_size: float = 8.0
    camera: CameraSpec = CameraSpec()
    randomisation: Randomisation = field(default_factory=Randomisation)
    audio: Optional[AudioSpec] = None

    @property
    def has_sound(self) -> bool:
        """Does anything in the scene make a sound (a sounding object, or background noise)?"""
        return any(o.sound is not None for o in self.objects) or (self.audio is not None
                                                                   and self.audio.noise != "none")

    def operator_position(self) -> tuple[float, float]:
        """Where a spoken command comes from by default: ``OPERATOR_DISTANCE`` behind the robot's
        start pose, kept inside the arena."""
        r, half = self.robot, self.arena_size / 2.0 - 0.1
        x = r.x - OPERATOR_DISTANCE * math.cos(r.yaw)
        y = r.y - OPERATOR_DISTANCE * math.sin(r.yaw)
        return max(-half, min(half, x)), max(-half, min(half, y))

    def validate(self) -> "SceneSpec":
        if not (2.0 <= self.arena_size <= 50.0):
            raise ValueError(f"arena_size {self.arena_size!r} outside 2..50 m")
        self.camera.validate()
        self.randomisation.validate()
        if self.audio is not None:
            self.audio.validate()
        names = set()
        half = self.arena_size / 2.0
        for obj in self.objects:
            obj.validate()
            if obj.name in names:
                raise ValueError(f"object name {obj.name!r} used twice")
            names.add(obj.name)
            if max(abs(obj.x), abs(obj.y)) + obj.footprint_radius > half:
                raise ValueError(f"object {obj.name} at ({obj.x}, {obj.y}) is outside the arena")
        if max(abs(self.robot.x), abs(self.robot.y)) + ROBOT_RADIUS > half:
            raise ValueError(f"robot at ({self.robot.x}, {self.robot.y}) is outside the arena")
        return self

    def object(self, name: str) -> ObjectSpec:
        for obj in self.objects:
            if obj.name == name:
                return obj
        raise KeyError(f"no object named {name!r}; have {', '.join(o.name for o in self.objects)}")
