"""Build the MuJoCo world (MJCF XML) from a :class:`~mm_robot.sim.spec.SceneSpec`.

The robot is a kinematic differential-drive base: a body on two slide joints (x, y) and a
hinge (yaw) whose positions the simulator sets directly (see kinematics.py). Collision
filtering uses bit 2: the robot's body collides with objects and walls, nothing else
collides with anything, so contact detection is cheap and only reports what matters.
"""

from __future__ import annotations

import colorsys
import math
import random
from dataclasses import dataclass
from xml.sax.saxutils import quoteattr

from ..core.vocabulary import COLOURS
from .shapes import cone_mesh_vertices, cone_scale, geom_attributes
from .spec import CAMERA_FORWARD, CAMERA_HEIGHT, ROBOT_HEIGHT, ROBOT_RADIUS, SceneSpec

ROBOT_BODY = "robot"
ROBOT_GEOM = "robot_body"
CAMERA_NAME = "front"
OBJECT_PREFIX = "obj_"
WALL_PREFIX = "wall_"
WALL_THICKNESS = 0.1
WALL_HEIGHT = 0.5


@dataclass(frozen=True)
class Appearance:
    """The drawn appearance of a scene (what randomisation decided)."""

    light_dir: tuple[float, float, float]
    light_diffuse: float
    ambient: float
    floor_rgb1: tuple[float, float, float]
    floor_rgb2: tuple[float, float, float]
    floor_builtin: str
    floor_repeat: float
    wall_rgb: tuple[float, float, float]
    sky_rgb: tuple[float, float, float]
    object_rgb: dict[str, tuple[float, float, float]]


def draw_appearance(scene: SceneSpec) -> Appearance:
    """Decide lighting, floor texture and object colours from ``scene.randomisation``."""
    rnd = scene.randomisation
    rng = random.Random(rnd.seed)
    if rnd.lighting:
        azimuth = rng.uniform(0.0, 2.0 * math.pi)
        elevation = rng.uniform(math.radians(35), math.radians(80))
        light_dir = (-math.cos(elevation) * math.cos(azimuth), -math.cos(elevation) * math.sin(azimuth),
                     -math.sin(elevation))
        diffuse, ambient = rng.uniform(0.45, 0.9), rng.uniform(0.15, 0.4)
    else:
        light_dir, diffuse, ambient = (-0.3, -0.2, -0.93), 0.7, 0.3
    if rnd.floor:
        # Low saturation so that the floor never looks like one of the named colours.
        hue = rng.random()
        rgb1 = colorsys.hsv_to_rgb(hue, rng.uniform(0.0, 0.25), rng.uniform(0.3, 0.7))
        rgb2 = colorsys.hsv_to_rgb(hue, rng.uniform(0.0, 0.25), rng.uniform(0.3, 0.7))
        builtin = rng.choice(("checker", "gradient", "flat"))
        repeat = rng.uniform(2.0, 10.0)
        wall = colorsys.hsv_to_rgb(rng.random(), rng.uniform(0.0, 0.15), rng.uniform(0.55, 0.8))
        sky = colorsys.hsv_to_rgb(rng.uniform(0.5, 0.7), rng.uniform(0.0, 0.3), rng.uniform(0.5, 0.9))
    else:
        rgb1, rgb2, builtin, repeat = (0.45, 0.45, 0.45), (0.55, 0.55, 0.55), "checker", 6.0
        wall, sky = (0.7, 0.7, 0.72), (0.6, 0.7, 0.8)
    object_rgb = {}
    for obj in scene.objects:
        base = COLOURS[obj.colour]
        j = rnd.colour_jitter
        object_rgb[obj.name] = tuple(min(1.0, max(0.0, c + rng.uniform(-j, j))) for c in base) if j else base
    return Appearance(light_dir, diffuse, ambient, tuple(rgb1), tuple(rgb2), builtin, repeat,
                      tuple(wall), tuple(sky), object_rgb)


def build_mjcf(scene: SceneSpec) -> str:
    """The MJCF XML of ``scene`` (validated first). Object ``name`` becomes geom ``obj_<name>``."""
    scene.validate()
    look = draw_appearance(scene)
    cam = scene.camera
    half = scene.arena_size / 2.0
    fovy = math.degrees(cam.vfov)
    out: list[str] = []
    add = out.append
    add('<mujoco model="mm_robot_arena">')
    add('  <compiler angle="radian"/>')
    add('  <option timestep="0.01"/>')
    add('  <visual>')
    add(f'    <global offwidth="{cam.width}" offheight="{cam.height}"/>')
    add('    <quality shadowsize="1024" offsamples="0"/>')
    add(f'    <headlight ambient="{_v3((look.ambient,) * 3)}" diffuse="0.25 0.25 0.25" specular="0 0 0"/>')
    add('    <map znear="0.005" zfar="60"/>')
    add('  </visual>')
    add('  <asset>')
    add(f'    <texture name="sky" type="skybox" builtin="gradient" rgb1="{_v3(look.sky_rgb)}" '
        'rgb2="0.1 0.1 0.12" width="64" height="64"/>')
    add(f'    <texture name="floor" type="2d" builtin="{look.floor_builtin}" rgb1="{_v3(look.floor_rgb1)}" '
        f'rgb2="{_v3(look.floor_rgb2)}" mark="random" random="0.03" markrgb="{_v3(look.floor_rgb2)}" '
        'width="256" height="256"/>')
    add(f'    <material name="floor" texture="floor" texrepeat="{look.floor_repeat:.3f} {look.floor_repeat:.3f}" '
        'reflectance="0"/>')
    vertices = " ".join(f"{v:.5f}" for v in cone_mesh_vertices())
    for obj in scene.objects:
        if obj.shape == "cone":
            add(f'    <mesh name="cone_{obj.name}" vertex="{vertices}" scale="{_v3(cone_scale(obj.size))}"/>')
    add('  </asset>')
    add('  <worldbody>')
    add(f'    <light name="sun" directional="true" pos="0 0 6" dir="{_v3(look.light_dir)}" '
        f'diffuse="{_v3((look.light_diffuse,) * 3)}" specular="0.1 0.1 0.1" castshadow="true"/>')
    add(f'    <geom name="floor" type="plane" size="{half:.3f} {half:.3f} 0.1" material="floor" '
        'contype="0" conaffinity="0"/>')
    t, h = WALL_THICKNESS, WALL_HEIGHT
    walls = {"north": (half + t / 2, 0.0, t / 2, half + t), "south": (-half - t / 2, 0.0, t / 2, half + t),
             "west": (0.0, half + t / 2, half + t, t / 2), "east": (0.0, -half - t / 2, half + t, t / 2)}
    for name, (x, y, sx, sy) in walls.items():
        add(f'    <geom name="{WALL_PREFIX}{name}" type="box" pos="{x:.3f} {y:.3f} {h / 2:.3f}" '
            f'size="{sx:.3f} {sy:.3f} {h / 2:.3f}" rgba="{_v3(look.wall_rgb)} 1" contype="0" conaffinity="2"/>')
    add(f'    <body name="{ROBOT_BODY}">')
    add('      <joint name="x" type="slide" axis="1 0 0" damping="0"/>')
    add('      <joint name="y" type="slide" axis="0 1 0" damping="0"/>')
    add('      <joint name="yaw" type="hinge" axis="0 0 1" damping="0"/>')
    add(f'      <geom name="{ROBOT_GEOM}" type="cylinder" size="{ROBOT_RADIUS} {ROBOT_HEIGHT / 2}" '
        f'pos="0 0 {ROBOT_HEIGHT / 2 + 0.02:.3f}" rgba="0.25 0.25 0.3 1" contype="2" conaffinity="0" mass="5"/>')
    add(f'      <geom name="robot_camera_housing" type="box" size="0.03 0.05 0.03" '
        f'pos="{CAMERA_FORWARD - 0.04:.3f} 0 {CAMERA_HEIGHT:.3f}" rgba="0.1 0.1 0.1 1" '
        'contype="0" conaffinity="0" mass="0.1"/>')
    add(f'      <camera name="{CAMERA_NAME}" pos="{CAMERA_FORWARD:.3f} 0 {CAMERA_HEIGHT:.3f}" '
        f'xyaxes="0 -1 0 0 0 1" fovy="{fovy:.6f}"/>')
    add('    </body>')
    for obj in scene.objects:
        attrs = geom_attributes(obj.shape, obj.size, mesh=f"cone_{obj.name}")
        text = " ".join(f"{k}={quoteattr(v)}" for k, v in attrs.items())
        rgb = look.object_rgb[obj.name]
        add(f'    <body name="{OBJECT_PREFIX}{obj.name}" pos="{obj.x:.4f} {obj.y:.4f} 0" euler="0 0 {obj.yaw:.4f}">')
        add(f'      <geom name="{OBJECT_PREFIX}{obj.name}" {text} rgba="{_v3(rgb)} 1" contype="0" conaffinity="2"/>')
        add('    </body>')
    add('  </worldbody>')
    add('</mujoco>')
    return "\n".join(out)


def _v3(values) -> str:
    return " ".join(f"{float(v):.4f}" for v in values)
