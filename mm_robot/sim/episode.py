"""Run a scenario in lockstep: render, ask the policy, filter, step — no ROS, no clocks.

Per tick (``control_dt`` of sim time; default 1/15 s, the fusion and sim nodes' rate): play
due commands, render the camera, call the policy, pass its proposal through the same
:class:`~mm_robot.core.safety.SafetyFilter` the robot uses (stop words, caps, ramps), record
a sample for the judge, step the world. Used for the oracle's success rate, for evaluating
any :class:`Policy`, and (via ``on_tick``) for data generation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Optional, Union

from ..core.records import Command, Frame, Observation, PolicyOutput, Twist2D
from ..core.safety import SafetyConfig, SafetyFilter
from .criteria import EpisodeResult, Judge, Sample, sample_from_truth
from .scenario import Scenario
from .truth import GroundTruth
from .world import View, World


@dataclass(frozen=True)
class Tick:
    """Everything about one control tick (for recorders and data generators).

    ``view.rgb``: (H, W, 3) uint8; ``command``: the command in force (None before the first);
    ``output``: the policy's grounding and decision; ``twist``: what the safety filter let
    through to the base.
    """

    view: View
    truth: GroundTruth
    command: Optional[Command]
    output: PolicyOutput
    twist: Twist2D
    safety_state: str


if TYPE_CHECKING:  # the simulator does not depend on the policies; policies (the oracle) depend on it
    from ..policies.base import Policy

PolicyFactory = Callable[[World], "Policy"]


def run_episode(scenario: Scenario, policy: Union["Policy", PolicyFactory],
                control_dt: float = 1.0 / 15.0, safety: Optional[SafetyConfig] = SafetyConfig(),
                on_tick: Optional[Callable[[Tick], None]] = None,
                world: Optional[World] = None) -> tuple[EpisodeResult, list[Sample]]:
    """Run ``scenario`` until the judge is done or the time limit; return (result, samples).

    ``policy`` is a Policy, or a factory taking the World (the oracle needs ground truth).
    ``safety=None`` sends the policy's velocities to the base unfiltered. A ``world`` given
    by the caller is reset and left open; otherwise one is made and closed here.
    """
    own_world = world is None
    world = world or World(scenario.scene)
    try:
        world.reset()
        active = policy(world) if callable(policy) and not hasattr(policy, "select_action") else policy
        active.reset()
        filt = SafetyFilter(safety) if safety is not None else None
        judge = Judge(scenario)
        command: Optional[Command] = None
        played_until = -1.0
        while True:
            now = world.time
            for timed in scenario.commands_between(played_until, now + 1e-9):
                command = Command(timed.text, timed.t)
                if filt is not None:
                    filt.on_command(timed.text, now)
            played_until = now + 1e-9
            view = world.render()
            truth = world.ground_truth(view)
            output = active.select_action(Observation(Frame(view.rgb, now), command, now=now))
            decision = output.decision
            if filt is not None:
                filt.on_heartbeat("camera", now)
                filt.on_heartbeat("fusion", now)
                filt.on_proposal(decision.linear, decision.angular, now)
                gated = filt.update(now)
                twist, state = gated.twist, gated.state
            else:
                twist, state = Twist2D(decision.linear, decision.angular), "unfiltered"
            judge.add(sample_from_truth(truth, scenario.criteria, decision.action.value))
            if on_tick is not None:
                on_tick(Tick(view, truth, command, output, twist, state))
            if judge.done():
                break
            world.step(twist.linear, twist.angular, control_dt)
        return judge.result(), judge.samples
    finally:
        if own_world:
            world.close()
