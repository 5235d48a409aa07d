"""The oracle expert: drives to the named object using the simulator's ground truth.

It implements the :class:`~mm_robot.policies.base.Policy` interface (``name``,
``select_action``, ``reset``) and additionally reads ground truth through a callable
(normally ``world.ground_truth``, after ``world.render()``), so it can label training data
and serve as the upper bar in evaluation.

Which object a command means comes from the scenario when it says (``Command.goal``, attached
by the simulator: the command's own ``goal``, or the criteria's targets for the last command), so
the oracle bounds every category whatever the wording; only without one does it read the words
(:func:`mm_robot.core.commands.parse`) and resolve their plan on ground truth (relations,
ordinals, exclusion: :func:`mm_robot.core.plan.resolve`). Behaviour, per command:

* no command / not understood (and no goal) -> ``idle``; a stop word -> ``stop`` (zero velocity).
* a sequence ("go to A and then B", or a goal of several steps) goes to each step's object in
  turn; the decision's ``plan`` says which step is active.
* "go to <colour> <shape>": among matching objects *in view* (≥ ``min_pixels`` visible) it
  locks onto the nearest — that is the documented answer to an ambiguous command — and
  turns toward it, drives when it is roughly ahead, slows down on approach and reports
  ``arrived`` within ``goal_clearance`` when facing it.
* "go to the beeping one" (a sound word, ``Intent.sound``): only objects that make a sound match
  (ground truth: the scene's sounding objects), with the colour and shape when named.
* nothing matching in view -> ``search``: turn left in place (what a camera-only policy can
  learn too); for a sound command, turn toward the sound (the side its source is on, which a
  stereo microphone pair tells). A locked target that left the view is searched for on the side
  it left by.
* after a full turn (``search_turn_limit``) without seeing a match -> ``not_found``, zero
  velocity, until the next command.
* distractors closer than ``avoid_clearance`` in front push the heading away from them.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace
from typing import Callable, Optional

from ..core.commands import Intent, parse
from ..core.config import setting
from ..core.plan import Reference, Thing, resolve
from ..core.records import (
    Action,
    Candidate,
    Command,
    Decision,
    Grounding,
    Observation,
    PolicyOutput,
)
from ..sim.spec import CameraSpec
from ..sim.truth import GroundTruth, ObjectTruth


@dataclass(frozen=True)
class OracleConfig:
    cruise_speed: float = setting(0.4, "Forward speed far from the goal (m/s).", low=0.0, high=2.0)
    approach_gain: float = setting(0.8, "Forward speed per metre of clearance left (1/s).", low=0.0, high=10.0)
    min_speed: float = setting(0.06, "Slowest forward speed before arriving (m/s).", low=0.0, high=1.0)
    turn_gain: float = setting(2.0, "Angular speed per radian of bearing (1/s).", low=0.0, high=10.0)
    max_turn: float = setting(1.0, "Largest turn rate (rad/s).", low=0.0, high=4.0)
    drive_bearing: float = setting(0.35, "Drive forward only when the target is within this bearing (rad).",
                                   low=0.01, high=1.5)
    goal_clearance: float = setting(0.45, "Arrive at this gap between robot and target (m).", low=0.0, high=3.0)
    facing_tolerance: float = setting(0.12, "Arrive only when facing within this bearing (rad).",
                                      low=0.01, high=1.0)
    search_turn: float = setting(0.7, "Turn rate while searching (rad/s).", low=0.05, high=4.0)
    search_turn_limit: float = setting(2 * math.pi + 0.3, "Turn this far without a match -> not_found (rad).",
                                       low=1.0, high=20.0)
    min_pixels: int = setting(30, "Visible pixels for an object to count as in view.", low=1, high=100000)
    avoid_clearance: float = setting(0.35, "Distractors closer than this in front deflect the path (m).",
                                     low=0.0, high=3.0)
    avoid_gain: float = setting(2.5, "Turn rate per metre of intrusion (rad/s/m).", low=0.0, high=20.0)


@dataclass
class OracleExpert:
    """Ground-truth expert. ``truth`` returns the current :class:`GroundTruth` (with boxes of
    the frame the policy is being asked about)."""

    truth: Callable[[], GroundTruth]
    camera: CameraSpec = field(default_factory=CameraSpec)
    config: OracleConfig = field(default_factory=OracleConfig)
    name: str = "oracle"

    def __post_init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self._command_key: Optional[tuple[str, float]] = None
        self._intent = Intent("unknown")
        self._goal: Optional[tuple[tuple[str, ...], ...]] = None
        self._step = 0
        self._locked: Optional[str] = None
        self._searched = 0.0
        self._last_yaw: Optional[float] = None
        self._not_found = False
        self._arrived = False

    # -- Policy interface ----------------------------------------------------------------------
    def select_action(self, observation: Observation) -> PolicyOutput:
        started = time.perf_counter()
        out = self.act(self.truth(), observation.command, observation.frame.stamp,
                       observation.frame.frame_id)
        latency = (time.perf_counter() - started) * 1000.0
        return PolicyOutput(out.grounding, replace(out.decision, latency_ms=latency))

    # -- the expert ----------------------------------------------------------------------------
    def act(self, truth: GroundTruth, command: Optional[Command], stamp: float = 0.0,
            frame_id: str = "camera") -> PolicyOutput:
        """Decide from ground truth. Deterministic given the same sequence of inputs."""
        cfg = self.config
        if command is None:
            return self._out(None, Action.IDLE, "no command", stamp)
        key = (command.text, command.stamp)
        if key != self._command_key:
            self._command_key = key
            self._intent, self._goal, self._step = parse(command.text), command.goal, 0
            if self._goal is not None and self._intent.kind == "unknown":
                self._intent = Intent("goto")  # the scenario says what it means; wording is not its bound
            self._start_step()
        yaw = truth.robot.yaw
        if self._last_yaw is not None:
            self._searched += abs(math.remainder(yaw - self._last_yaw, 2 * math.pi))
        self._last_yaw = yaw
        intent = self._intent
        if intent.kind == "stop":
            return self._out(None, Action.STOP, "stop command", stamp)
        if intent.kind == "unknown":
            return self._out(None, Action.IDLE, f"command not understood: {command.text!r}", stamp)
        reference = intent.step(self._step)
        matches, visible = self._candidates(truth, reference)
        # Once locked, the object stays the target even if the words would no longer single it out
        # from here (a relation seen from closer up).
        locked = next((o for o in truth.objects if o.name == self._locked), None)
        if locked is None and visible:
            locked = visible[0]
            self._locked = locked.name
        grounding = self._grounding(truth, command.text, {o.name for o in matches}, locked, stamp, frame_id)
        label = reference.label or intent.label or " or ".join(o.name for o in matches) or "target"
        if locked is None:
            if self._not_found or self._searched >= cfg.search_turn_limit:
                self._not_found = True
                return self._out(grounding, Action.NOT_FOUND, f"no {label} after a full turn", stamp)
            if matches and reference.head.sound:  # heard but not seen: turn toward the sound
                heard = min(matches, key=lambda o: o.distance)
                return self._out(grounding, Action.SEARCH, f"turning toward the sound of {label}",
                                 stamp, 0.0, math.copysign(cfg.search_turn, heard.bearing))
            return self._out(grounding, Action.SEARCH, f"looking for {label}", stamp, 0.0, cfg.search_turn)
        self._searched = 0.0
        if not self._in_view(locked):
            turn = math.copysign(cfg.search_turn, locked.bearing)
            return self._out(grounding, Action.SEARCH, f"{locked.label} left the view", stamp, 0.0, turn)
        out = self._drive(truth, locked, grounding, stamp)
        if out.decision.action == Action.ARRIVED and self._step + 1 < self._steps:
            self._step += 1  # a sequence: the next step starts with a search
            self._start_step()
        return out

    @property
    def _steps(self) -> int:
        return len(self._goal) if self._goal is not None else self._intent.steps

    def _start_step(self) -> None:
        self._locked, self._searched, self._not_found, self._arrived = None, 0.0, False, False
        self._last_yaw = None

    def _candidates(self, truth: GroundTruth, reference: Reference) -> tuple[list[ObjectTruth], list[ObjectTruth]]:
        """(the objects the active step may mean, those of them in view, best first). From the
        scenario's goal when the command carries one; else from the words' plan resolved on
        ground truth (a plain description over every object, so a sound is heard out of view; a
        relation, ordinal or exclusion over the objects in view)."""
        if self._goal is not None:
            names = self._goal[self._step] if self._step < len(self._goal) else ()
            matches = [o for o in truth.objects if o.name in names]
        elif reference.form == "plain":
            matches = [o for o in truth.objects if reference.head.matches(_thing(o))]
        else:
            in_view = {o.name: o for o in truth.objects if self._in_view(o)}
            matches = [in_view[t.key] for t in resolve(reference, [_thing(o) for o in in_view.values()])]
            return matches, matches
        visible = sorted((o for o in matches if self._in_view(o)), key=lambda o: o.distance)
        return matches, visible

    def _drive(self, truth: GroundTruth, target: ObjectTruth, grounding: Grounding, stamp: float) -> PolicyOutput:
        cfg = self.config
        bearing, gap = target.bearing, target.clearance
        close = gap <= cfg.goal_clearance + (0.1 if self._arrived else 0.0)
        facing = abs(bearing) <= cfg.facing_tolerance * (1.5 if self._arrived else 1.0)
        if close and facing:
            self._arrived = True
            return self._out(grounding, Action.ARRIVED, f"at {target.label} ({gap:.2f} m)", stamp)
        self._arrived = False
        angular = _clamp(cfg.turn_gain * bearing, cfg.max_turn)
        if close or abs(bearing) > cfg.drive_bearing:
            action = Action.TURN_LEFT if bearing > 0 else Action.TURN_RIGHT
            return self._out(grounding, action, f"{target.label} at {math.degrees(bearing):+.0f} deg",
                             stamp, 0.0, angular)
        linear = min(cfg.cruise_speed, max(cfg.min_speed, cfg.approach_gain * (gap - cfg.goal_clearance)))
        linear *= max(0.0, math.cos(bearing))
        for other in truth.objects:
            if other.name == target.name or other.clearance >= cfg.avoid_clearance:
                continue
            if abs(other.bearing) < math.radians(70) and other.distance < target.distance:
                push = cfg.avoid_gain * (cfg.avoid_clearance - other.clearance)
                angular = _clamp(angular - math.copysign(push, other.bearing), cfg.max_turn)
                linear *= 0.5
        return self._out(grounding, Action.FORWARD, f"{target.label} ahead, {gap:.2f} m", stamp, linear, angular)

    # -- helpers -------------------------------------------------------------------------------
    def _in_view(self, obj: ObjectTruth) -> bool:
        return obj.box is not None and obj.box.pixels >= self.config.min_pixels

    def _grounding(self, truth: GroundTruth, phrase: str, names: set[str], target: Optional[ObjectTruth],
                   stamp: float, frame_id: str) -> Grounding:
        """Grounding label: every object in view is a candidate; score 1 for the objects the
        active step may mean, 0 otherwise; the target is the locked object when it is in view."""
        width, height = truth.image_size
        lens = self.camera.intrinsics.for_size(width, height)
        candidates = []
        chosen = None
        for obj in truth.objects:
            if not self._in_view(obj):
                continue
            cand = Candidate(obj.label, 1.0 if obj.name in names else 0.0, obj.box.as_tuple(),
                             lens.bearing(obj.box.centre[0]))
            candidates.append(cand)
            if target is not None and obj.name == target.name:
                chosen = cand
        return Grounding(phrase, chosen, tuple(candidates), stamp, frame_id, (width, height),
                         1.0 if chosen is not None else 0.0)

    def _out(self, grounding: Optional[Grounding], action: Action, reason: str, stamp: float,
             linear: float = 0.0, angular: float = 0.0) -> PolicyOutput:
        plan = self._intent.plan.to_json(self._step) if self._intent.plan is not None else None
        if plan is not None and self._goal is not None:
            plan["goal"] = [list(step) for step in self._goal]  # the scenario's answer, for diagnosis
        return PolicyOutput(grounding, Decision(action, 1.0, reason, float(linear), float(angular),
                                                stamp=stamp, policy=self.name, plan=plan))


def _thing(obj: ObjectTruth) -> Thing:
    return Thing(obj.name, obj.colour, obj.shape, obj.bearing, obj.distance, obj.size, obj.sound is not None)


def _clamp(value: float, limit: float) -> float:
    return max(-limit, min(limit, value))


def oracle_policy(world, **config) -> OracleExpert:
    """The expert bound to a simulated ``world``'s ground truth (registered as "oracle");
    ``config``: :class:`OracleConfig` fields."""
    return OracleExpert(world.ground_truth, world.scene.camera, OracleConfig(**config))
