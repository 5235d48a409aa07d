"""Ground truth: where everything is, relative to the robot, and what the camera sees.

Plain records with a JSON form (the ``sim/ground_truth`` topic and training labels).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from .camera import Box
from .spec import Pose2D

GROUND_TRUTH_SCHEMA = "mm_robot/ground_truth/1"


@dataclass(frozen=True)
class ObjectTruth:
    """One object as seen from the robot.

    ``distance``: robot centre to object centre (m). ``clearance``: gap between the robot's
    body and the object's surface (m, ≤ 0 when touching). ``bearing``: direction of the
    object's centre from the robot's heading (rad, positive left). ``box``: its visible
    pixels' box in the latest render, None when not in view. ``sound``: the kind of sound it
    makes ("beep", "tone", "noise", "speech"), None when silent.
    """

    name: str
    colour: str
    shape: str
    x: float
    y: float
    size: float
    distance: float
    clearance: float
    bearing: float
    box: Optional[Box]
    sound: Optional[str] = None

    @property
    def label(self) -> str:
        return f"{self.colour} {self.shape}"

    @property
    def in_view(self) -> bool:
        return self.box is not None

    def to_json(self) -> dict:
        return {"name": self.name, "label": self.label, "colour": self.colour, "shape": self.shape,
                "x": round(self.x, 4), "y": round(self.y, 4), "size": round(self.size, 4),
                "distance": round(self.distance, 4), "clearance": round(self.clearance, 4),
                "bearing": round(self.bearing, 4),
                "box": list(self.box.as_tuple()) if self.box else None,
                "pixels": self.box.pixels if self.box else 0, "sound": self.sound}


@dataclass(frozen=True)
class GroundTruth:
    """The world at ``time`` (s of sim time). ``touching``: objects/walls in contact now."""

    time: float
    robot: Pose2D
    linear: float
    angular: float
    objects: tuple[ObjectTruth, ...]
    touching: tuple[str, ...]
    collision_count: int
    path_length: float
    image_size: tuple[int, int]  # (width, height)

    def object(self, name: str) -> ObjectTruth:
        for obj in self.objects:
            if obj.name == name:
                return obj
        raise KeyError(name)

    def matching(self, colour: Optional[str], shape: Optional[str],
                 sounding: bool = False) -> list[ObjectTruth]:
        """Objects whose colour and shape match (None matches anything) and, with ``sounding``,
        that make a sound."""
        return [o for o in self.objects
                if (colour is None or o.colour == colour) and (shape is None or o.shape == shape)
                and (not sounding or o.sound is not None)]

    def to_json(self) -> dict:
        return {"schema": GROUND_TRUTH_SCHEMA, "time": round(self.time, 4),
                "robot": {"x": round(self.robot.x, 4), "y": round(self.robot.y, 4),
                          "yaw": round(self.robot.yaw, 4), "linear": round(self.linear, 4),
                          "angular": round(self.angular, 4)},
                "objects": [o.to_json() for o in self.objects], "touching": list(self.touching),
                "collision_count": self.collision_count, "path_length": round(self.path_length, 4),
                "image_size": list(self.image_size)}
