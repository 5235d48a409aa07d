"""Camera intrinsics: bearings from K and the image size, for 45°-100° lenses in simulation."""

from __future__ import annotations

import math

import pytest

from mm_robot.core.camera_model import CameraModel, CameraModelError, camera_for
from mm_robot.core.records import Frame


def test_from_hfov_matches_k_and_spans_the_field_of_view():
    lens = CameraModel.from_hfov(320, 240, math.radians(90.0))
    assert lens.fx == pytest.approx(160.0) and lens.cx == 160.0
    assert math.degrees(lens.hfov) == pytest.approx(90.0)
    assert lens.bearing(0.0) == pytest.approx(math.radians(45.0))
    assert lens.bearing(320.0) == pytest.approx(-math.radians(45.0))
    same = CameraModel.from_k([160.0, 0, 160.0, 0, 160.0, 120.0, 0, 0, 1], 320, 240)
    assert same.fx == pytest.approx(lens.fx) and same.bearing(40.0) == pytest.approx(lens.bearing(40.0))


def test_off_centre_principal_point_moves_the_zero_bearing():
    lens = CameraModel.from_k([200.0, 0, 150.0, 0, 200.0, 120.0, 0, 0, 1], 320, 240)
    assert lens.bearing(150.0) == 0.0
    assert lens.bearing(160.0) < 0.0


def test_resized_stream_keeps_the_lens():
    lens = CameraModel.from_hfov(640, 480, math.radians(70.0))
    small = lens.for_size(320, 240)
    assert small.bearing(80.0) == pytest.approx(lens.bearing(160.0))
    assert Frame(__import__("numpy").zeros((240, 320, 3), "uint8"), 1.0, camera=lens).lens == small


@pytest.mark.parametrize("k", [[0.0, 0, 1, 0, 1, 1, 0, 0, 1], [float("nan")] * 9, [1.0] * 8])
def test_bad_intrinsics_are_refused(k):
    with pytest.raises(CameraModelError):
        CameraModel.from_k(k, 320, 240)


def test_frames_without_camera_info_use_the_fallback_lens():
    assert math.degrees(camera_for(320, 240).hfov) == pytest.approx(60.0)
    assert math.degrees(camera_for(320, 240, None, math.radians(80)).hfov) == pytest.approx(80.0)


@pytest.mark.parametrize("hfov_deg", [45.0, 60.0, 100.0])
def test_baseline_bearings_match_ground_truth_through_any_lens(hfov_deg):
    pytest.importorskip("mujoco")
    from mm_robot.core.records import Command, Observation
    from mm_robot.policies.baseline import ColourShapeBaseline
    from mm_robot.sim.scenario import scenario_from_dict
    from mm_robot.sim.spec import CAMERA_FORWARD
    from mm_robot.sim.world import World
    half = math.radians(hfov_deg) / 2.0
    bearing = 0.7 * half  # well off-centre: where a wrong lens errs most
    scenario = scenario_from_dict({
        "schema": "mm_robot/scenario/1", "name": "lens",
        "scene": {"arena_size": 8, "camera": {"hfov_deg": hfov_deg},
                  "randomise": {"lighting": False, "floor": False},
                  "objects": [{"name": "red", "colour": "red", "shape": "ball",
                               "x": 2.0 * math.cos(bearing), "y": 2.0 * math.sin(bearing)}]},
        "timeline": [{"t": 0.1, "text": "go to the red ball"}],
        "criteria": {"expect": "reach", "targets": ["red"], "time_limit": 10}})
    with World(scenario.scene) as world:
        view = world.render()
        truth = world.ground_truth(view).object("red")
        seen_from_camera = math.atan2(truth.y, truth.x - CAMERA_FORWARD)  # the lens sits ahead of the centre
        frame = Frame(view.rgb, 1.0, camera=scenario.scene.camera.intrinsics)
        out = ColourShapeBaseline().select_action(Observation(frame, Command("go to the red ball", 1.0), now=1.0))
    assert out.grounding.target is not None
    assert out.grounding.target.bearing == pytest.approx(seen_from_camera, abs=math.radians(1.5))
