"""Typed records that flow between the layers.

Times are float seconds on the node's clock (ROS time, or sim time with
``use_sim_time``). Images are RGB ``uint8`` arrays of shape (H, W, 3).
"""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass
from typing import Optional

import numpy as np

from .camera_model import CameraModel, camera_for

GROUNDING_SCHEMA = "mm_robot/grounding/1"
DECISION_SCHEMA = "mm_robot/decision/1"


@dataclass(frozen=True)
class Frame:
    """One camera image. ``image``: (H, W, 3) uint8 RGB; ``camera``: the intrinsics it was taken
    with (from ``camera_info``), None when unknown."""

    image: np.ndarray
    stamp: float
    frame_id: str = "camera"
    camera: Optional[CameraModel] = None

    @property
    def lens(self) -> CameraModel:
        """The intrinsics for this image's size: its own, or the default lens when unknown."""
        return camera_for(self.width, self.height, self.camera)

    @property
    def width(self) -> int:
        return int(self.image.shape[1])

    @property
    def height(self) -> int:
        return int(self.image.shape[0])


@dataclass(frozen=True)
class AudioChunk:
    """Audio samples. ``samples``: (frames, channels) float32 in [-1, 1]; ``stamp`` is the
    capture time of the first frame."""

    samples: np.ndarray
    rate: int
    stamp: float
    frame_id: str = "microphone"

    @property
    def duration(self) -> float:
        return self.samples.shape[0] / float(self.rate)


@dataclass(frozen=True)
class Command:
    """A natural-language command, typed or transcribed. ``goal``: in simulation only, the
    objects the scenario means by it, one tuple of acceptable object names per step (``()``: no
    object in the scene fits); the oracle expert reads it, no other policy may."""

    text: str
    stamp: float
    source: str = "text"
    goal: Optional[tuple[tuple[str, ...], ...]] = None


class Action(str, enum.Enum):
    """Discrete decisions. Only ``FORWARD``, the turns and ``SEARCH`` move; ``NOT_UNDERSTOOD``
    answers a command the package cannot read (it never moves, searches or releases a stop)."""

    IDLE = "idle"
    FORWARD = "forward"
    TURN_LEFT = "turn_left"
    TURN_RIGHT = "turn_right"
    SEARCH = "search"
    ARRIVED = "arrived"
    STOP = "stop"
    NOT_FOUND = "not_found"
    NOT_UNDERSTOOD = "not_understood"

    @property
    def moves(self) -> bool:
        return self in (Action.FORWARD, Action.TURN_LEFT, Action.TURN_RIGHT, Action.SEARCH)


ACTIONS: tuple[Action, ...] = tuple(Action)


@dataclass(frozen=True)
class Candidate:
    """An object the grounder considered. ``box`` = (x_min, y_min, x_max, y_max) in pixels;
    ``bearing`` in radians, positive to the left (REP 103)."""

    label: str
    score: float
    box: tuple[int, int, int, int]
    bearing: float

    def to_json(self) -> dict:
        return {"label": self.label, "score": round(float(self.score), 4),
                "box": [int(v) for v in self.box], "bearing": round(float(self.bearing), 4)}


@dataclass(frozen=True)
class Grounding:
    """Which object the command refers to. ``target`` is None when it is not in view."""

    phrase: str
    target: Optional[Candidate]
    candidates: tuple[Candidate, ...]
    stamp: float
    frame_id: str
    image_size: tuple[int, int]  # (width, height)
    presence: float  # probability that the referred object is in view

    def to_json(self) -> dict:
        return {
            "schema": GROUNDING_SCHEMA,
            "phrase": self.phrase,
            "present": self.target is not None,
            "presence": round(float(self.presence), 4),
            "target": self.target.to_json() if self.target else None,
            "candidates": [c.to_json() for c in self.candidates],
            "stamp": self.stamp,
            "frame_id": self.frame_id,
            "image_size": list(self.image_size),
        }


@dataclass(frozen=True)
class Decision:
    """What to do now. ``linear`` m/s and ``angular`` rad/s are a proposal: the safety
    controller has the last word."""

    action: Action
    confidence: float
    reason: str
    linear: float = 0.0
    angular: float = 0.0
    latency_ms: float = 0.0
    stamp: float = 0.0
    policy: str = ""
    plan: Optional[dict] = None  # the command's resolved plan (core.plan.Plan.to_json): steps, active

    def to_json(self) -> dict:
        data = asdict(self)
        if self.plan is None:
            del data["plan"]
        data["action"] = self.action.value
        data["schema"] = DECISION_SCHEMA
        for key in ("confidence", "linear", "angular", "latency_ms"):
            data[key] = round(float(data[key]), 4)
        return data


@dataclass(frozen=True)
class Observation:
    """Everything a policy sees at one tick. ``command`` may be None (idle)."""

    frame: Frame
    command: Optional[Command]
    audio: Optional[AudioChunk] = None
    now: float = 0.0


@dataclass(frozen=True)
class PolicyOutput:
    grounding: Optional[Grounding]
    decision: Decision


@dataclass(frozen=True)
class Twist2D:
    """Planar velocity of a differential-drive base."""

    linear: float = 0.0
    angular: float = 0.0

    @property
    def is_zero(self) -> bool:
        return self.linear == 0.0 and self.angular == 0.0


ZERO = Twist2D()

__all__ = [
    "Action", "ACTIONS", "AudioChunk", "Candidate", "Command", "Decision", "Frame",
    "Grounding", "Observation", "PolicyOutput", "Twist2D", "ZERO",
    "GROUNDING_SCHEMA", "DECISION_SCHEMA",
]
