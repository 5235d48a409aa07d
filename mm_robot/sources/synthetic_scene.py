"""A synthetic camera: coloured shapes on a floor, seen by a pinhole camera that you can drive.

The scene is a flat world of objects (x, y, radius) and a robot pose. ``step``
integrates a velocity command, so the synthetic camera closes the loop with the
safety controller's ``cmd_vel`` and tests need neither hardware nor a simulator
(image_tools' burger mode, grown up a little).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np

from ..core.vocabulary import COLOURS, SHAPES


@dataclass
class SceneObject:
    colour: str
    shape: str
    x: float  # metres, world frame
    y: float
    radius: float = 0.15  # metres

    @property
    def label(self) -> str:
        return f"{self.colour} {self.shape}"


@dataclass
class SyntheticScene:
    """Objects in a plane and a camera at (x, y, yaw) looking along +yaw."""

    objects: list[SceneObject] = field(default_factory=list)
    x: float = 0.0
    y: float = 0.0
    yaw: float = 0.0
    width: int = 320
    height: int = 240
    hfov: float = math.radians(60.0)
    camera_height: float = 0.25  # metres above the floor

    @property
    def focal(self) -> float:
        return (self.width / 2.0) / math.tan(self.hfov / 2.0)

    def step(self, linear: float, angular: float, dt: float) -> None:
        """Unicycle kinematics; objects are obstacles the robot cannot drive into."""
        yaw = self.yaw + angular * dt
        x = self.x + linear * dt * math.cos(yaw)
        y = self.y + linear * dt * math.sin(yaw)
        if all(math.hypot(o.x - x, o.y - y) > o.radius + 0.1 for o in self.objects):
            self.x, self.y = x, y
        self.yaw = math.atan2(math.sin(yaw), math.cos(yaw))

    def relative(self, obj: SceneObject) -> tuple[float, float]:
        """(distance, bearing) of an object from the camera; bearing positive to the left."""
        dx, dy = obj.x - self.x, obj.y - self.y
        bearing = math.atan2(dy, dx) - self.yaw
        return math.hypot(dx, dy), math.atan2(math.sin(bearing), math.cos(bearing))

    def render(self) -> np.ndarray:
        """(H, W, 3) uint8 RGB image: sky-grey wall, floor, then objects far to near."""
        image = np.empty((self.height, self.width, 3), np.uint8)
        horizon = self.height // 2
        image[:horizon] = (150, 155, 160)
        image[horizon:] = (105, 100, 95)
        visible = []
        for obj in self.objects:
            distance, bearing = self.relative(obj)
            forward = distance * math.cos(bearing)
            if forward > 0.05 and abs(bearing) < self.hfov / 2 + 0.3:
                visible.append((forward, bearing, obj))
        for forward, bearing, obj in sorted(visible, key=lambda item: -item[0]):
            self._draw(image, forward, bearing, obj)
        return image

    def _draw(self, image: np.ndarray, forward: float, bearing: float, obj: SceneObject) -> None:
        u = self.width / 2.0 - self.focal * math.tan(bearing)
        ground_v = self.height / 2.0 + self.focal * self.camera_height / forward
        size = self.focal * obj.radius / forward  # half-width in pixels
        rgb = tuple(int(255 * c) for c in COLOURS[obj.colour])
        draw_shape(image, obj.shape, u, ground_v - size, size, rgb)

    def boxes(self) -> dict[str, tuple[int, int, int, int]]:
        """Ground-truth pixel boxes of visible objects, by label (for tests)."""
        out = {}
        for obj in self.objects:
            distance, bearing = self.relative(obj)
            forward = distance * math.cos(bearing)
            if forward <= 0.05:
                continue
            u = self.width / 2.0 - self.focal * math.tan(bearing)
            v = self.height / 2.0 + self.focal * self.camera_height / forward
            s = self.focal * obj.radius / forward
            half_width = s * HALF_WIDTH[obj.shape]
            box = (int(max(0, u - half_width)), int(max(0, v - 2 * s)), int(min(self.width, u + half_width)),
                   int(min(self.height, v)))
            if box[2] > box[0] and box[3] > box[1]:
                out[obj.label] = box
        return out


# Drawn half-width of each shape as a fraction of its half-height.
HALF_WIDTH = {"ball": 1.0, "box": 1.0, "cylinder": 0.7, "cone": 1.0, "capsule": 0.5}


def draw_shape(image: np.ndarray, shape: str, cx: float, cy: float, half: float,
               rgb: tuple[int, int, int]) -> None:
    """Draw a shaded shape centred at (cx, cy) with half-size ``half`` pixels."""
    if shape not in SHAPES:
        raise ValueError(f"unknown shape {shape!r}")
    dark = tuple(int(c * 0.7) for c in rgb)
    c = (int(round(cx)), int(round(cy)))
    h = max(1, int(round(half)))
    if shape == "ball":
        cv2.circle(image, c, h, rgb, -1, cv2.LINE_AA)
        cv2.circle(image, (c[0] - h // 3, c[1] - h // 3), max(1, h // 4),
                   tuple(min(255, int(v * 1.2) + 20) for v in rgb), -1, cv2.LINE_AA)
    elif shape == "box":
        cv2.rectangle(image, (c[0] - h, c[1] - h), (c[0] + h, c[1] + h), rgb, -1)
        cv2.rectangle(image, (c[0] + h // 2, c[1] - h), (c[0] + h, c[1] + h), dark, -1)
    elif shape == "cylinder":
        w = max(1, int(h * HALF_WIDTH["cylinder"]))
        cv2.rectangle(image, (c[0] - w, c[1] - h + w // 3), (c[0] + w, c[1] + h), rgb, -1)
        cv2.ellipse(image, (c[0], c[1] - h + w // 3), (w, max(1, w // 3)), 0, 0, 360, dark, -1)
    elif shape == "cone":
        points = np.array([[c[0], c[1] - h], [c[0] - h, c[1] + h], [c[0] + h, c[1] + h]], np.int32)
        cv2.fillPoly(image, [points], rgb, cv2.LINE_AA)
    elif shape == "capsule":
        w = max(1, int(h * HALF_WIDTH["capsule"]))
        cv2.rectangle(image, (c[0] - w, c[1] - h + w), (c[0] + w, c[1] + h - w), rgb, -1)
        cv2.circle(image, (c[0], c[1] - h + w), w, rgb, -1, cv2.LINE_AA)
        cv2.circle(image, (c[0], c[1] + h - w), w, rgb, -1, cv2.LINE_AA)


def parse_scene(spec: str) -> list[SceneObject]:
    """Objects from text: ``"red ball 2.0 0.8; blue box 3 -1 0.2"`` (colour shape x y [radius])."""
    objects = []
    for part in filter(None, (p.strip() for p in spec.split(";"))):
        fields = part.split()
        if len(fields) not in (4, 5):
            raise ValueError(f"scene object {part!r}: expected 'colour shape x y [radius]'")
        colour, shape = fields[0].lower(), fields[1].lower()
        if colour not in COLOURS:
            raise ValueError(f"scene object {part!r}: unknown colour {colour!r}")
        if shape not in SHAPES:
            raise ValueError(f"scene object {part!r}: unknown shape {shape!r}")
        try:
            numbers = [float(v) for v in fields[2:]]
        except ValueError:
            raise ValueError(f"scene object {part!r}: x, y and radius must be numbers") from None
        objects.append(SceneObject(colour, shape, *numbers))
    return objects


DEFAULT_SCENE = "red ball 2.5 1.2; blue box 3.0 -0.8; green cylinder 4.0 0.2"
