"""The fusion node's ROS-free logic: what the runner guarantees whatever the policy says."""

import math
import time

import numpy as np
import pytest

from mm_robot.core.records import ZERO, Action, Decision, Frame, PolicyOutput
from mm_robot.core.validation import InputError, InputLimits
from mm_robot.policies import make_policy
from mm_robot.policies.runner import FusionNodeConfig, PolicyRunner
from mm_robot.sources.synthetic_scene import SyntheticScene, parse_scene


class ScriptedPolicy:
    """Says whatever the test wants, and counts calls."""

    name = "scripted"

    def __init__(self, decision: Decision, sleep: float = 0.0):
        self.decision, self.sleep, self.calls = decision, sleep, 0

    def select_action(self, observation):
        self.calls += 1
        time.sleep(self.sleep)
        return PolicyOutput(None, self.decision)

    def reset(self):
        pass


def frame(stamp: float) -> Frame:
    return Frame(np.zeros((24, 32, 3), np.uint8), stamp)


def runner_with(decision: Decision, **config) -> PolicyRunner:
    return PolicyRunner(FusionNodeConfig(**config), ScriptedPolicy(decision))


FORWARD = Decision(Action.FORWARD, 0.9, "ahead", 0.3, 0.1)


def test_no_frame_means_stop():
    result = runner_with(FORWARD).tick(10.0)
    assert result.decision.action == Action.STOP and result.proposal == ZERO


def test_stale_frame_means_stop_and_no_inference():
    runner = runner_with(FORWARD)
    runner.on_frame(frame(10.0), 10.0)
    assert runner.tick(10.1).proposal.linear == pytest.approx(0.3)
    result = runner.tick(10.6)
    assert result.decision.action == Action.STOP and result.proposal == ZERO
    assert "old" in result.decision.reason


@pytest.mark.parametrize("stamp, kind", [(0.0, "stamp_zero"), (8.0, "stamp_old"), (15.0, "stamp_future")])
def test_bad_stamps_are_refused(stamp, kind):
    runner = runner_with(FORWARD)
    with pytest.raises(InputError) as error:
        runner.on_frame(frame(stamp), 10.0)
    assert error.value.kind == kind
    assert runner.tick(10.0).proposal == ZERO


def test_low_confidence_proposes_no_motion_but_reports_the_decision():
    runner = runner_with(Decision(Action.FORWARD, 0.3, "unsure", 0.3, 0.0), min_confidence=0.5)
    runner.on_frame(frame(10.0), 10.0)
    result = runner.tick(10.0)
    assert result.decision.action == Action.FORWARD and result.proposal == ZERO


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_non_finite_policy_output_is_zeroed_and_counted(bad):
    runner = runner_with(Decision(Action.FORWARD, 0.9, "broken", bad, 0.0))
    runner.on_frame(frame(10.0), 10.0)
    assert runner.tick(10.0).proposal == ZERO and runner.nonfinite_outputs == 1


def test_policy_runs_once_per_new_frame():
    runner = runner_with(FORWARD)
    runner.on_frame(frame(10.0), 10.0)
    assert runner.tick(10.0).fresh and not runner.tick(10.05).fresh
    runner.on_frame(frame(10.06), 10.06)
    assert runner.tick(10.07).fresh
    assert runner.policy.calls == 2


def test_a_new_command_is_decided_on_the_held_frame_at_once():
    runner = runner_with(FORWARD)
    runner.on_frame(frame(10.0), 10.0)
    assert runner.tick(10.0).fresh and not runner.tick(10.01).fresh
    runner.on_command("go to the blue box", 10.02)
    assert runner.tick(10.02).fresh and runner.policy.calls == 2
    runner.on_command("qwerty uiop", 10.03)
    result = runner.tick(10.03)
    assert result.fresh and result.decision.action == Action.NOT_UNDERSTOOD and result.proposal == ZERO
    assert runner.policy.calls == 2  # nonsense never reaches the policy


def test_commands_are_rate_limited_but_stop_always_passes():
    runner = PolicyRunner(FusionNodeConfig(), make_policy("baseline"), InputLimits(max_commands_per_second=2.0))
    runner.on_command("go to the red ball", 1.0)
    runner.on_command("go to the blue box", 1.0)
    with pytest.raises(InputError):
        runner.on_command("go to the green cone", 1.0)
    assert runner.on_command("stop", 1.0).text == "stop"
    assert runner.commands.get().value[0].text == "stop"


def test_end_to_end_with_the_baseline():
    scene = SyntheticScene(parse_scene("red ball 2 0.3"))
    runner = PolicyRunner(FusionNodeConfig(), make_policy("baseline"))
    runner.on_command("go to the red ball", 5.0)
    runner.on_frame(Frame(scene.render(), 5.0), 5.0)
    result = runner.tick(5.01)
    assert result.grounding.target.label == "red ball"
    assert result.decision.action in (Action.TURN_LEFT, Action.FORWARD)
    assert result.proposal.angular > 0


def test_camera_info_reaches_the_policy_with_each_frame():
    import math

    import numpy as np

    from mm_robot.core.camera_model import CameraModel
    from mm_robot.core.records import Frame
    from mm_robot.policies.runner import FusionNodeConfig, PolicyRunner

    class Seeing:
        name = "seeing"
        frames: list = []

        def select_action(self, observation):
            from mm_robot.core.records import Action, Decision, PolicyOutput
            self.frames.append(observation.frame)
            return PolicyOutput(None, Decision(Action.IDLE, 1.0, "looked"))

        def reset(self):
            pass

    policy = Seeing()
    runner = PolicyRunner(FusionNodeConfig(), policy)
    runner.on_camera_info(CameraModel.from_hfov(640, 480, math.radians(90.0)))
    runner.on_frame(Frame(np.zeros((240, 320, 3), np.uint8), 10.0), 10.0)
    runner.tick(10.01)
    lens = policy.frames[-1].camera
    assert lens is not None and (lens.width, lens.height) == (320, 240)
    assert math.degrees(lens.hfov) == pytest.approx(90.0)
