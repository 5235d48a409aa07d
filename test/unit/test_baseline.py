"""The baseline policy on the synthetic camera, open and closed loop (ROS-free)."""

import math

import pytest

from mm_robot.core.records import Action, Command, Frame, Observation
from mm_robot.core.safety import SafetyConfig, SafetyFilter
from mm_robot.core.vocabulary import SHAPES
from mm_robot.policies import available, make_policy
from mm_robot.policies.base import Policy
from mm_robot.sources.synthetic_scene import SceneObject, SyntheticScene, parse_scene


def iou(a, b):
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / float((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def observe(scene, text, now=1.0):
    return Observation(Frame(scene.render(), now), Command(text, now) if text else None, now=now)


def test_registry_builds_the_baseline_and_refuses_unknown_names():
    policy = make_policy("baseline")
    assert isinstance(policy, Policy) and "fusion" in available()
    with pytest.raises(ValueError, match="unknown policy"):
        make_policy("nope")


@pytest.mark.parametrize("shape", sorted(SHAPES))
@pytest.mark.parametrize("colour", ["red", "blue", "yellow", "purple", "green"])
def test_every_shape_and_colour_is_grounded(colour, shape):
    scene = SyntheticScene([SceneObject(colour, shape, 2.0, 0.2)])
    out = make_policy("baseline").select_action(observe(scene, f"go to the {colour} {shape}"))
    assert out.grounding.target is not None
    assert out.grounding.target.label == f"{colour} {shape}"
    assert iou(out.grounding.target.box, scene.boxes()[f"{colour} {shape}"]) > 0.5


def test_the_right_object_among_distractors():
    scene = SyntheticScene(parse_scene("red box 2 0.5; red ball 2.5 -0.6; blue ball 1.8 0.0; green cone 3 1"))
    out = make_policy("baseline").select_action(observe(scene, "go to the red ball"))
    assert out.grounding.target.label == "red ball"
    assert out.grounding.target.bearing < 0  # to the right
    assert out.decision.action == Action.TURN_RIGHT and out.decision.angular < 0
    assert len(out.grounding.candidates) == 4


def test_absent_object_means_search_then_not_found():
    scene = SyntheticScene(parse_scene("blue box 2 0"))
    policy = make_policy("baseline")
    first = policy.select_action(observe(scene, "go to the red ball", now=1.0))
    assert first.grounding.target is None and first.decision.action == Action.SEARCH
    later = policy.select_action(observe(scene, "go to the red ball", now=100.0))
    assert later.decision.action == Action.NOT_FOUND and later.decision.linear == 0 == later.decision.angular


def test_stop_idle_and_unknown_commands_propose_no_motion():
    scene = SyntheticScene(parse_scene("red ball 2 0"))
    policy = make_policy("baseline")
    for text, action in [("stop", Action.STOP), (None, Action.IDLE), ("sing a song", Action.IDLE)]:
        decision = policy.select_action(observe(scene, text)).decision
        assert decision.action == action and decision.linear == 0 == decision.angular


def test_decision_carries_the_frame_stamp_and_latency():
    scene = SyntheticScene(parse_scene("red ball 2 0"))
    out = make_policy("baseline").select_action(observe(scene, "go to the red ball", now=42.0))
    assert out.decision.stamp == 42.0 == out.grounding.stamp
    assert out.decision.latency_ms > 0


def test_closed_loop_turns_toward_the_ball_then_drives_and_arrives():
    """The red-ball scenario without ROS: ball off to the left, robot turns, then drives, then stops."""
    scene = SyntheticScene(parse_scene("red ball 2.0 0.8; blue box 3 -1"))
    policy = make_policy("baseline")
    safety = SafetyFilter(SafetyConfig())
    actions, t, dt = [], 10.0, 1 / 15
    for _ in range(400):
        out = policy.select_action(observe(scene, "go to the red ball", now=t))
        actions.append(out.decision.action)
        for name in ("camera", "fusion"):
            safety.on_heartbeat(name, t)
        safety.on_proposal(out.decision.linear, out.decision.angular, t)
        twist = safety.update(t).twist
        scene.step(twist.linear, twist.angular, dt)
        t += dt
        if out.decision.action == Action.ARRIVED:
            break
    assert actions[0] == Action.TURN_LEFT
    assert Action.FORWARD in actions and actions.index(Action.FORWARD) > 0
    assert actions[-1] == Action.ARRIVED
    distance, bearing = scene.relative(scene.objects[0])
    assert distance < 1.0 and abs(bearing) < math.radians(15)



def test_a_sequence_carries_its_plan_and_active_step():
    import numpy as np

    from mm_robot.core.records import Command, Frame, Observation
    from mm_robot.policies.baseline import ColourShapeBaseline
    policy = ColourShapeBaseline()
    image = np.zeros((240, 320, 3), np.uint8)
    image[60:200, 100:220] = (230, 20, 20)  # a red blob filling most of the view: arrived
    out = policy.select_action(Observation(Frame(image, 1.0), Command("go to the red box and then the blue ball", 1.0),
                                           now=1.0))
    plan = out.decision.to_json()["plan"]
    assert len(plan["steps"]) == 2 and plan["active"] == 0
    assert out.decision.action.value == "arrived"
    command = Command("go to the red box and then the blue ball", 1.0)
    later = policy.select_action(Observation(Frame(image, 1.1), command, now=1.1))
    assert later.decision.plan["active"] == 1 and later.decision.action.value == "search"
