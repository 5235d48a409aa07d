"""The MuJoCo world: kinematics, collisions, camera geometry, segmentation boxes (no ROS)."""

from __future__ import annotations

import math
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest

from mm_robot.core.steering import bearing_of
from mm_robot.sim.camera import boxes_from_labels, camera_info, intrinsics
from mm_robot.sim.kinematics import BaseLimits, integrate, respond, wrap_angle
from mm_robot.sim.spec import (
    CAMERA_FORWARD,
    ROBOT_RADIUS,
    CameraSpec,
    ObjectSpec,
    Pose2D,
    Randomisation,
    SceneSpec,
)

pytest.importorskip("mujoco")
from mm_robot.sim.world import World

INSTANT = BaseLimits(linear_accel=1e6, angular_accel=1e6)


def scene_of(*objects: ObjectSpec, robot: Pose2D = Pose2D(), seed: int = 0, **kw) -> SceneSpec:
    return SceneSpec(tuple(objects), robot, 6.0, randomisation=Randomisation(seed=seed, **kw))


@pytest.fixture(scope="module")
def three_objects():
    scene = scene_of(ObjectSpec("ball", "red", "ball", 2.0, 0.6),
                     ObjectSpec("cone", "blue", "cone", 1.6, -0.5),
                     ObjectSpec("back", "green", "box", -2.0, 0.0))
    with World(scene, limits=INSTANT) as world:
        yield world


def test_sim_package_never_imports_rclpy():
    code = ("import pkgutil, importlib, sys, mm_robot.sim as s\n"
            "for m in pkgutil.iter_modules(s.__path__): importlib.import_module('mm_robot.sim.' + m.name)\n"
            "bad = [m for m in sys.modules if m.split('.')[0] in ('rclpy', 'rosidl_runtime_py')]\n"
            "print(len(list(pkgutil.iter_modules(s.__path__))))\n"
            "sys.exit(1 if bad else 0)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert int(done.stdout.strip()) >= 10  # the modules were really found and imported


def test_integrate_full_circle_returns_to_start():
    x, y, yaw = integrate(1.0, 2.0, 0.3, 0.5, 1.0, 2 * math.pi)
    assert (x, y) == pytest.approx((1.0, 2.0), abs=1e-9)
    assert wrap_angle(yaw - 0.3) == pytest.approx(0.0, abs=1e-9)


def test_integrate_half_circle_radius_is_v_over_w():
    x, y, _ = integrate(0.0, 0.0, 0.0, 0.4, 0.8, math.pi / 0.8)
    assert (x, y) == pytest.approx((0.0, 1.0), abs=1e-9)  # diameter 2 * 0.4 / 0.8 to the left


def test_velocity_response_is_acceleration_limited_and_nonfinite_means_zero():
    assert respond(0.0, 1.0, 2.0, 2.0, 2.0, 0.1) == pytest.approx(0.2)
    assert respond(1.0, 0.0, 2.0, 2.0, 2.0, 0.1) == pytest.approx(0.6)  # braking is twice as hard
    assert respond(0.5, math.nan, 2.0, 2.0, 2.0, 10.0) == 0.0
    assert respond(0.0, 99.0, 1e9, 1.0, 2.0, 1.0) == 2.0  # saturates at the limit


def test_step_drives_forward_and_turns(three_objects):
    world = three_objects
    world.reset(Pose2D(0.0, 0.0, math.pi / 2))
    info = world.step(0.5, 0.0, 1.0)
    assert (info.pose.x, info.pose.y) == pytest.approx((0.0, 0.5), abs=1e-6)
    assert world.path_length == pytest.approx(0.5, abs=1e-6)
    info = world.step(0.0, 1.0, math.pi / 2)
    assert abs(wrap_angle(info.pose.yaw - math.pi)) < 1e-6
    assert world.time == pytest.approx(1.0 + math.pi / 2)


def test_step_rejects_bad_dt(three_objects):
    with pytest.raises(ValueError):
        three_objects.step(0.1, 0.0, 0.0)


def test_robot_is_blocked_by_an_object_and_the_contact_is_counted():
    scene = scene_of(ObjectSpec("wallbox", "black", "box", 1.0, 0.0, size=0.4))
    with World(scene, limits=INSTANT, render=False) as world:
        for _ in range(40):
            info = world.step(0.5, 0.0, 0.1)
        assert info.blocked and "wallbox" in info.touching
        assert world.collision_count == 1  # one contact event, however long it pushes
        # The body stopped at the box's face (x = 0.8) and never went through it.
        assert world.pose.x == pytest.approx(0.8 - ROBOT_RADIUS, abs=0.03)
        assert world.clearance("wallbox") > -0.01
        assert world.step(0.0, 1.0, 0.5).pose.yaw > 0.4  # turning in place is still allowed


def test_boxes_match_camera_geometry(three_objects):
    world = three_objects
    world.reset()
    view = world.render()
    assert view.rgb.shape == (240, 320, 3) and view.rgb.dtype == np.uint8
    assert set(view.boxes) == {"ball", "cone"}  # the green box is behind the robot
    cam = world.scene.camera
    for name in ("ball", "cone"):
        obj = world.scene.object(name)
        expected = math.atan2(obj.y, obj.x - CAMERA_FORWARD)  # bearing seen from the camera
        seen = bearing_of(view.boxes[name].centre[0], cam.width, cam.hfov)
        assert seen == pytest.approx(expected, abs=0.02), name
    assert view.boxes["ball"].centre[0] < cam.width / 2 < view.boxes["cone"].centre[0]
    # Ball of diameter 0.3 at 1.82 m from the camera: its height in pixels is f * 0.3 / d.
    ball = view.boxes["ball"]
    d = math.hypot(2.0 - CAMERA_FORWARD, 0.6)
    assert ball.height == pytest.approx(cam.focal * 0.3 / d, rel=0.1)


def test_ground_truth_reports_distance_bearing_clearance(three_objects):
    world = three_objects
    world.reset(Pose2D(0.0, 0.0, math.pi))
    truth = world.ground_truth(world.render())
    back = truth.object("back")
    assert back.distance == pytest.approx(2.0) and back.bearing == pytest.approx(0.0, abs=1e-9)
    assert back.clearance == pytest.approx(2.0 - 0.15 - ROBOT_RADIUS, abs=0.01)
    assert back.in_view and not truth.object("ball").in_view
    assert truth.to_json()["objects"][2]["box"] == list(back.box.as_tuple())


def test_occluded_object_has_no_box():
    scene = scene_of(ObjectSpec("front", "red", "box", 1.0, 0.0, size=0.6),
                     ObjectSpec("hidden", "blue", "ball", 2.5, 0.0, size=0.2))
    with World(scene) as world:
        assert set(world.render().boxes) == {"front"}


@pytest.mark.parametrize("shape", ["ball", "box", "cylinder", "cone", "capsule"])
def test_every_shape_renders_with_its_colour(shape):
    scene = scene_of(ObjectSpec("thing", "red", shape, 1.5, 0.0), lighting=False, floor=False)
    with World(scene) as world:
        view = world.render()
        box = view.boxes["thing"]
        x0, y0, x1, y1 = box.as_tuple()
        cx, cy = (x0 + x1) // 2, (y0 + y1) // 2 + 3
        r, g, b = view.rgb[cy, cx].astype(int)
        assert r > 2 * g and r > 2 * b, (shape, (r, g, b))
        # Taller than 0.3 m objects would be: height close to f * 0.3 / distance.
        assert box.height == pytest.approx(world.scene.camera.focal * 0.3 / (1.5 - CAMERA_FORWARD), rel=0.25)


def test_randomisation_is_deterministic_and_changes_appearance():
    obj = ObjectSpec("ball", "yellow", "ball", 2.0, 0.0)
    images = []
    for seed in (1, 1, 2):
        with World(scene_of(obj, seed=seed)) as world:
            images.append(world.render().rgb)
    assert np.array_equal(images[0], images[1])
    assert np.abs(images[0].astype(int) - images[2].astype(int)).mean() > 2.0


def test_camera_info_matches_bearing_model():
    cam = CameraSpec(640, 480, math.radians(70))
    k = intrinsics(cam)
    u = 100.0
    assert math.atan2(k[0, 2] - u, k[0, 0]) == pytest.approx(bearing_of(u, cam.width, cam.hfov))
    info = camera_info(cam)
    assert info["k"][0] == info["k"][4] == pytest.approx(cam.focal) and len(info["p"]) == 12


def test_boxes_from_labels_max_is_exclusive():
    labels = np.full((10, 12), -1)
    labels[2:5, 3:9] = 0
    labels[7, 11] = 1
    boxes = boxes_from_labels(labels, 2, min_pixels=2)
    assert boxes[0].as_tuple() == (3, 2, 9, 5) and boxes[0].pixels == 18
    assert set(boxes) == {0}  # object 1 has fewer than min_pixels
    assert boxes_from_labels(labels, 2, min_pixels=1)[1].as_tuple() == (11, 7, 12, 8)  # kept at 1


def test_scene_validation_names_the_problem():
    with pytest.raises(ValueError, match="colour 'pink'"):
        scene_of(ObjectSpec("a", "pink", "ball", 1, 1)).validate()
    with pytest.raises(ValueError, match="outside the arena"):
        scene_of(ObjectSpec("a", "red", "ball", 2.95, 0)).validate()
    with pytest.raises(ValueError, match="used twice"):
        scene_of(ObjectSpec("a", "red", "ball", 1, 1), ObjectSpec("a", "red", "box", 2, 1)).validate()


def test_larger_camera_is_supported():
    scene = replace(scene_of(ObjectSpec("b", "red", "ball", 2.0, 0.0)), camera=CameraSpec(64, 48))
    with World(scene) as world:
        view = world.render()
        assert view.rgb.shape == (48, 64, 3) and "b" in view.boxes
