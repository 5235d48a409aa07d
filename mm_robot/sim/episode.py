"""Run a scenario in lockstep: render, ask the policy, filter, step — no ROS, no clocks.

Per tick (``control_dt`` of sim time; default 1/15 s, the fusion and sim nodes' rate): play
due commands, render the camera and (when the scenario has sound) what the microphones heard
since the last tick, call the policy, pass its proposal through the same
:class:`~mm_robot.core.safety.SafetyFilter` the robot uses (stop words, caps, ramps), record
a sample for the judge, step the world. Used for the oracle's success rate, for evaluating
any :class:`Policy`, and (via ``on_tick``) for data generation.

There is no speech recogniser here: a command that is only spoken reaches the policy as its
exact words (``Command.source == "speech"``) when the utterance ends, as an ideal recogniser
would deliver it. Through the ROS graph it reaches the policy only through a recogniser.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Optional, Union

from ..core.records import AudioChunk, Command, Frame, Observation, PolicyOutput, Twist2D
from ..core.safety import SafetyConfig, SafetyFilter
from .criteria import EpisodeResult, Judge, Sample, sample_from_truth
from .scenario import Scenario
from .soundtrack import Soundtrack
from .truth import GroundTruth
from .world import View, World


@dataclass(frozen=True)
class Tick:
    """Everything about one control tick (for recorders and data generators).

    ``view.rgb``: (H, W, 3) uint8; ``command``: the command in force (None before the first);
    ``output``: the policy's grounding and decision; ``twist``: what the safety filter let
    through to the base; ``audio``: what the microphones heard since the last tick ((frames, 2)
    float32; None without sound).
    """

    view: View
    truth: GroundTruth
    command: Optional[Command]
    output: PolicyOutput
    twist: Twist2D
    safety_state: str
    audio: Optional[AudioChunk] = None


if TYPE_CHECKING:  # the simulator does not depend on the policies; policies (the oracle) depend on it
    from ..policies.base import Policy

PolicyFactory = Callable[[World], "Policy"]


class CommandInbox:
    """The commands that reach the policy: typed ones at their time; spoken ones start sounding at
    their time and, when not also typed, arrive as their words when the utterance ends."""

    def __init__(self, scenario: Scenario, soundtrack: Optional[Soundtrack]) -> None:
        self.scenario, self.soundtrack = scenario, soundtrack
        self._played_until = -1.0
        self._pending: list[Command] = []  # spoken-only commands, stamped with their end

    def due(self, now: float) -> list[Command]:
        """Commands arriving at scenario time ``now`` (in order)."""
        arrived = []
        for timed in self.scenario.commands_between(self._played_until, now + 1e-9):
            if timed.spoken and self.soundtrack is not None:
                self.soundtrack.play(timed, timed.t)
            goal = self.scenario.goal_for(timed)  # ground truth, for the oracle only
            if timed.typed:
                arrived.append(Command(timed.text, timed.t, goal=goal))
            else:
                spoken_for = self.soundtrack.duration(timed) if self.soundtrack is not None else 0.0
                self._pending.append(Command(timed.text, timed.t + spoken_for, source="speech", goal=goal))
        self._played_until = now + 1e-9
        arrived += [c for c in self._pending if c.stamp <= now + 1e-9]
        self._pending = [c for c in self._pending if c.stamp > now + 1e-9]
        return arrived


def run_episode(scenario: Scenario, policy: Union["Policy", PolicyFactory],
                control_dt: float = 1.0 / 15.0, safety: Optional[SafetyConfig] = SafetyConfig(),
                on_tick: Optional[Callable[[Tick], None]] = None, world: Optional[World] = None,
                hear: Optional[bool] = None) -> tuple[EpisodeResult, list[Sample]]:
    """Run ``scenario`` until the judge is done or the time limit; return (result, samples).

    ``policy`` is a Policy, or a factory taking the World (the oracle needs ground truth).
    ``safety=None`` sends the policy's velocities to the base unfiltered. A ``world`` given
    by the caller is reset and left open; otherwise one is made and closed here. ``hear``:
    render the microphones for the policy and ``on_tick`` (default: when the scenario has sound).
    """
    own_world = world is None
    world = world or World(scenario.scene)
    try:
        world.reset()
        active = policy(world) if callable(policy) and not hasattr(policy, "select_action") else policy
        active.reset()
        filt = SafetyFilter(safety) if safety is not None else None
        judge = Judge(scenario)
        soundtrack = Soundtrack.of(scenario) if (scenario.has_sound if hear is None else hear) else None
        inbox = CommandInbox(scenario, soundtrack)
        command: Optional[Command] = None
        lens = world.scene.camera.intrinsics  # what sim_node's camera_info announces
        while True:
            now = world.time
            for command in inbox.due(now):
                if filt is not None:
                    filt.on_command(command.text, now)
            audio = _heard(soundtrack, world, now)
            view = world.render()
            truth = world.ground_truth(view)
            output = active.select_action(Observation(Frame(view.rgb, now, camera=lens), command, audio, now=now))
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
                on_tick(Tick(view, truth, command, output, twist, state, audio))
            if judge.done():
                break
            world.step(twist.linear, twist.angular, control_dt)
        return judge.result(), judge.samples
    finally:
        if own_world:
            world.close()


def _heard(soundtrack: Optional[Soundtrack], world: World, now: float) -> Optional[AudioChunk]:
    """What the microphones heard since the last tick (None without sound, or before any sample)."""
    if soundtrack is None:
        return None
    start = soundtrack.time
    samples = soundtrack.render(world.pose, now)
    return AudioChunk(samples, soundtrack.rate, start) if samples.shape[0] else None
