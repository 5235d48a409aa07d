"""Plain data that describes a simulated scene: arena, robot, camera, objects, randomisation.

Everything here is immutable Python data with no MuJoCo in it, so scenarios, the data
generator and the Gazebo SDF writer share one description. Units: metres, radians,
seconds; the world frame is x forward / y left / z up (REP 103), yaw counter-clockwise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ..core.vocabulary import COLOURS, SHAPES

# Robot body: a squat cylinder; the camera sits on its front edge.
ROBOT_RADIUS = 0.18  # m
ROBOT_HEIGHT = 0.15  # m, body height above the wheels' contact plane
CAMERA_HEIGHT = 0.20  # m above the floor
CAMERA_FORWARD = ROBOT_RADIUS  # m ahead of the robot's centre
WHEEL_SEPARATION = 0.30  # m (Gazebo diff-drive)
WHEEL_RADIUS = 0.05  # m (Gazebo diff-drive)

DEFAULT_OBJECT_SIZE = 0.30  # m, the object's height


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


@dataclass(frozen=True)
class ObjectSpec:
    """One object on the floor. ``size`` is its height in metres; ``yaw`` turns boxes."""

    name: str
    colour: str
    shape: str
    x: float
    y: float
    size: float = DEFAULT_OBJECT_SIZE
    yaw: float = 0.0

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
    walled in."""

    objects: tuple[ObjectSpec, ...] = ()
    robot: Pose2D = Pose2D()
    arena_size: float = 8.0
    camera: CameraSpec = CameraSpec()
    randomisation: Randomisation = field(default_factory=Randomisation)

    def validate(self) -> "SceneSpec":
        if not (2.0 <= self.arena_size <= 50.0):
            raise ValueError(f"arena_size {self.arena_size!r} outside 2..50 m")
        self.camera.validate()
        self.randomisation.validate()
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
