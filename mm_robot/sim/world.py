"""The simulated world: a MuJoCo model of one scene with a lockstep API.

    world = World(scene)                 # compile MJCF, open an offscreen renderer
    info = world.step(0.3, 0.2, 0.1)     # drive at v=0.3 m/s, ω=0.2 rad/s for 0.1 s
    view = world.render()                # RGB (H, W, 3) uint8 + per-object boxes
    truth = world.ground_truth(view)     # poses, distances, bearings, boxes, contacts
    world.close()

Time only advances in :meth:`World.step`; nothing runs in the background, so data
generation runs as fast as the CPU allows and every run is reproducible.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Optional

import numpy as np

from .camera import Box, boxes_from_labels, geom_label_lookup
from .kinematics import BaseLimits, integrate, respond, wrap_angle
from .mjcf import CAMERA_NAME, OBJECT_PREFIX, ROBOT_GEOM, WALL_PREFIX, build_mjcf
from .render import OffscreenRenderer
from .spec import Pose2D, SceneSpec
from .truth import GroundTruth, ObjectTruth

MAX_SUBSTEP = 0.02  # s: collision checks at least this often (0.04 m at 2 m/s)


def _import_mujoco():
    os.environ.setdefault("MUJOCO_GL", "egl")
    import mujoco

    return mujoco


@dataclass(frozen=True)
class StepInfo:
    """What happened during one :meth:`World.step`. ``new_contacts``: names touched this step
    that were not touched at the end of the previous one."""

    time: float
    pose: Pose2D
    linear: float
    angular: float
    touching: tuple[str, ...]
    new_contacts: tuple[str, ...]
    blocked: bool


@dataclass(frozen=True)
class View:
    """One camera frame. ``rgb``: (H, W, 3) uint8; ``boxes``: object name -> visible box."""

    rgb: np.ndarray
    boxes: dict[str, Box]
    time: float


class World:
    """A scene in MuJoCo with a kinematic differential-drive robot and a forward camera."""

    def __init__(self, scene: SceneSpec, limits: BaseLimits = BaseLimits(), min_box_pixels: int = 12,
                 render: bool = True) -> None:
        """``min_box_pixels``: objects with fewer visible pixels count as not in view.
        ``render=False`` skips the GL context (kinematics and ground truth only)."""
        mujoco = _import_mujoco()
        self._mj = mujoco
        self.scene = scene.validate()
        self.limits = limits
        self.min_box_pixels = min_box_pixels
        self.xml = build_mjcf(scene)
        self.model = mujoco.MjModel.from_xml_string(self.xml)
        self.data = mujoco.MjData(self.model)
        m = self.model
        self._robot_geom = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_GEOM, ROBOT_GEOM)
        self._object_geoms = [mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_GEOM, OBJECT_PREFIX + o.name)
                              for o in scene.objects]
        self._geom_names = {g: mujoco.mj_id2name(m, mujoco.mjtObj.mjOBJ_GEOM, g) for g in range(m.ngeom)}
        self._label_table = geom_label_lookup({g: i for i, g in enumerate(self._object_geoms)}, m.ngeom)
        self._camera_id = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_CAMERA, CAMERA_NAME)
        self._renderer = (OffscreenRenderer(mujoco, m, scene.camera.width, scene.camera.height)
                          if render else None)
        self._last_boxes: dict[str, Box] = {}
        self.reset()

    # -- lifecycle ------------------------------------------------------------------------
    def reset(self, pose: Optional[Pose2D] = None) -> None:
        """Put the robot at ``pose`` (default: the scene's), at rest, at time 0."""
        pose = pose or self.scene.robot
        self.time = 0.0
        self.linear = 0.0
        self.angular = 0.0
        self.path_length = 0.0
        self.collision_count = 0
        self.touched: set[str] = set()
        self._touching: tuple[str, ...] = ()
        self._last_boxes = {}
        self._set_pose(pose.x, pose.y, wrap_angle(pose.yaw))
        self._touching = self._contacts()

    def close(self) -> None:
        """Release the GL context. The world cannot render afterwards."""
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None

    def __enter__(self) -> "World":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- state ----------------------------------------------------------------------------
    @property
    def pose(self) -> Pose2D:
        q = self.data.qpos
        return Pose2D(float(q[0]), float(q[1]), float(q[2]))

    @property
    def touching(self) -> tuple[str, ...]:
        """Names (object names, or ``wall_<side>``) in contact with the robot now."""
        return self._touching

    def _set_pose(self, x: float, y: float, yaw: float) -> None:
        self.data.qpos[:3] = (x, y, yaw)
        self._mj.mj_kinematics(self.model, self.data)
        self._mj.mj_collision(self.model, self.data)

    def _contacts(self) -> tuple[str, ...]:
        names = []
        for i in range(self.data.ncon):
            c = self.data.contact[i]
            other = c.geom2 if c.geom1 == self._robot_geom else c.geom1 if c.geom2 == self._robot_geom else -1
            if other >= 0 and c.dist < 0.0:
                names.append(self._display_name(other))
        return tuple(sorted(set(names)))

    def _display_name(self, geom: int) -> str:
        name = self._geom_names.get(geom) or f"geom{geom}"
        return name[len(OBJECT_PREFIX):] if name.startswith(OBJECT_PREFIX) else name

    # -- stepping -------------------------------------------------------------------------
    def step(self, linear: float, angular: float, dt: float) -> StepInfo:
        """Drive with commanded (``linear`` m/s, ``angular`` rad/s) for ``dt`` s.

        The base accelerates within :class:`BaseLimits`; non-finite commands count as zero.
        A move that would push the body into an object or wall is refused (the base stops
        against it; turning in place is still allowed) and the contact is recorded.
        """
        if not (dt > 0.0 and math.isfinite(dt)):
            raise ValueError(f"dt must be a positive number of seconds, got {dt!r}")
        lim = self.limits
        substeps = max(1, int(math.ceil(dt / MAX_SUBSTEP - 1e-9)))
        h = dt / substeps
        before = set(self._touching)
        new_contacts: set[str] = set()
        blocked = False
        for _ in range(substeps):
            self.linear = respond(self.linear, linear, lim.linear_accel, lim.brake_factor, lim.max_linear, h)
            self.angular = respond(self.angular, angular, lim.angular_accel, lim.brake_factor,
                                   lim.max_angular, h)
            old = self.pose
            x, y, yaw = integrate(old.x, old.y, old.yaw, self.linear, self.angular, h)
            self._set_pose(x, y, yaw)
            touching = self._contacts()
            if touching:
                blocked = True
                self.linear = 0.0
                self._set_pose(old.x, old.y, yaw)  # keep the turn, refuse the translation
                if self._contacts():
                    self.angular = 0.0
                    self._set_pose(old.x, old.y, old.yaw)
            else:
                self.path_length += math.hypot(x - old.x, y - old.y)
            fresh = set(touching) - before
            if fresh:
                self.collision_count += len(fresh)
                new_contacts |= fresh
            self.touched |= set(touching)
            before = set(touching)
            self.time += h
        self._touching = tuple(sorted(before))
        return StepInfo(self.time, self.pose, self.linear, self.angular, self._touching,
                        tuple(sorted(new_contacts)), blocked)

    # -- sensing --------------------------------------------------------------------------
    def render(self, with_boxes: bool = True) -> View:
        """Render the front camera: RGB (H, W, 3) uint8 and, with ``with_boxes``, the box of
        every object with at least ``min_box_pixels`` visible pixels (segmentation render)."""
        if self._renderer is None:
            raise RuntimeError("this World was made with render=False or has been closed")
        self._mj.mj_forward(self.model, self.data)
        rgb, geoms = self._renderer.render(self.data, self._camera_id, segmentation=with_boxes)
        boxes: dict[str, Box] = {}
        if geoms is not None:
            labels = self._label_table[geoms]  # (H, W): object index, -1 elsewhere
            found = boxes_from_labels(labels, len(self.scene.objects), self.min_box_pixels)
            boxes = {self.scene.objects[i].name: box for i, box in found.items()}
            self._last_boxes = boxes
        return View(rgb, boxes, self.time)

    def clearance(self, name: str) -> float:
        """Signed gap (m) between the robot's body and object ``name``."""
        index = [o.name for o in self.scene.objects].index(name)
        return float(self._mj.mj_geomDistance(self.model, self.data, self._robot_geom,
                                              self._object_geoms[index], 50.0, None))

    def ground_truth(self, view: Optional[View] = None) -> GroundTruth:
        """Poses and relations of every object; boxes from ``view`` (default: the last render)."""
        boxes = view.boxes if view is not None else self._last_boxes
        pose = self.pose
        objects = []
        for obj in self.scene.objects:
            dx, dy = obj.x - pose.x, obj.y - pose.y
            objects.append(ObjectTruth(
                obj.name, obj.colour, obj.shape, obj.x, obj.y, obj.size,
                distance=math.hypot(dx, dy), clearance=self.clearance(obj.name),
                bearing=wrap_angle(math.atan2(dy, dx) - pose.yaw), box=boxes.get(obj.name),
                sound=obj.sound.kind if obj.sound is not None else None))
        cam = self.scene.camera
        return GroundTruth(self.time, pose, self.linear, self.angular, tuple(objects), self._touching,
                           self.collision_count, self.path_length, (cam.width, cam.height))

    @property
    def wall_names(self) -> tuple[str, ...]:
        return tuple(n for n in self._geom_names.values() if n and n.startswith(WALL_PREFIX))
