"""Success criteria: judge a run from its trace of samples.

The same code judges a lockstep run (episode.py) and a real-time run (the sim node): feed
:class:`Sample` records to a :class:`Judge`, ask :meth:`Judge.done` whether the run can end,
and take :meth:`Judge.result`. Rules per ``expect`` (docs/scenarios.md):

* ``reach`` — at the end the robot is stationary, within ``reach_distance`` (clearance) of
  one of ``targets`` and facing it (|bearing| ≤ ``facing_tolerance``), having settled there
  before ``time_limit``; with ``visit`` (a sequence), it first came within ``reach_distance`` of
  each of those objects in order.
* ``stop`` — the robot was moving before the last stop command, is stationary within
  ``stop_within`` s after it, and stays stationary to the end.
* ``not_found`` — the policy reports ``not_found`` before ``time_limit`` and the robot is
  stationary at the end.
* always, with ``avoid_contact`` — the robot never touches a non-target object or a wall.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Optional

from .scenario import Criteria, Scenario
from .truth import GroundTruth

RESULT_SCHEMA = "mm_robot/sim_result/1"


@dataclass(frozen=True)
class Sample:
    """The robot at one instant. ``targets``: target name -> (clearance m, bearing rad);
    ``action``: the policy's latest reported decision (e.g. "forward", "not_found")."""

    t: float
    x: float
    y: float
    yaw: float
    linear: float
    angular: float
    touching: tuple[str, ...] = ()
    targets: dict[str, tuple[float, float]] = field(default_factory=dict)
    action: Optional[str] = None
    visits: dict[str, float] = field(default_factory=dict)  # criteria.visit name -> clearance (m)


def sample_from_truth(truth: GroundTruth, criteria: Criteria, action: Optional[str] = None) -> Sample:
    """A :class:`Sample` from the world's ground truth."""
    targets = {name: (truth.object(name).clearance, truth.object(name).bearing) for name in criteria.targets}
    visits = {name: truth.object(name).clearance for name in criteria.visit}
    return Sample(truth.time, truth.robot.x, truth.robot.y, truth.robot.yaw, truth.linear, truth.angular,
                  truth.touching, targets, action, visits)


@dataclass
class EpisodeResult:
    """Outcome of one run; ``to_json`` is the result file."""

    scenario: str
    expect: str
    success: bool
    reasons: list[str]
    time: float
    settle_time: Optional[float]
    path_length: float
    final_distance: Optional[float]
    final_bearing: Optional[float]
    final_target: Optional[str]
    collisions: int
    touched: list[str]
    reported: Optional[str]
    samples: int

    def to_json(self) -> dict:
        data = asdict(self)
        data["schema"] = RESULT_SCHEMA
        for key in ("time", "settle_time", "path_length", "final_distance", "final_bearing"):
            if data[key] is not None:
                data[key] = round(float(data[key]), 4)
        return data


class Judge:
    """Incremental judge of one scenario run."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.criteria = scenario.criteria
        self.samples: list[Sample] = []
        self.path_length = 0.0
        self.touched: list[str] = []
        self.collisions = 0
        self._touching: set[str] = set()
        self._still_since: Optional[float] = None
        self._reported: Optional[str] = None
        self._not_found_time: Optional[float] = None
        self._moved_after_stop = False
        self._moved_before_stop = False
        self._stop_settled: Optional[float] = None
        self._last_command = scenario.timeline[-1].t
        self.visited = 0  # how many of criteria.visit were reached, in order

    # -- feeding -------------------------------------------------------------------------
    def add(self, s: Sample) -> None:
        c = self.criteria
        if self.samples:
            prev = self.samples[-1]
            self.path_length += math.hypot(s.x - prev.x, s.y - prev.y)
        self.samples.append(s)
        if self.visited < len(c.visit) and s.visits.get(c.visit[self.visited], math.inf) <= c.reach_distance:
            self.visited += 1
        fresh = set(s.touching) - self._touching
        self.collisions += len(fresh)
        for name in s.touching:
            if name not in self.touched:
                self.touched.append(name)
        self._touching = set(s.touching)
        still = abs(s.linear) <= c.stationary_linear and abs(s.angular) <= c.stationary_angular
        if still:
            if self._still_since is None:
                self._still_since = s.t
        else:
            self._still_since = None
        if s.action is not None:
            self._reported = s.action
            if s.action == "not_found" and self._not_found_time is None:
                self._not_found_time = s.t
        stop_t = self.scenario.stop_time
        if stop_t is not None and s.t < stop_t and not still:
            self._moved_before_stop = True
        if stop_t is not None and s.t >= stop_t:
            if still and self._stop_settled is None:
                self._stop_settled = s.t
            if not still and self._stop_settled is not None:
                self._moved_after_stop = True

    # -- queries -------------------------------------------------------------------------
    def still_for(self, now: float) -> float:
        return 0.0 if self._still_since is None else now - self._still_since

    def done(self) -> bool:
        """True when the outcome can no longer change (or the time limit has passed)."""
        if not self.samples:
            return False
        c, now = self.criteria, self.samples[-1].t
        if now >= c.time_limit:
            return True
        if now <= self._last_command:
            return False
        if c.expect == "stop":
            return now >= self.scenario.stop_time + c.stop_within + c.hold
        if c.expect == "not_found":
            return self._not_found_time is not None and self.still_for(now) >= c.hold
        return self.still_for(now) >= c.hold and self._still_since >= self._last_command

    def _best_target(self, s: Sample) -> tuple[Optional[str], Optional[float], Optional[float]]:
        """The target the robot reached (close and facing), else the nearest one."""
        if not s.targets:
            return None, None, None
        c = self.criteria
        reached = [n for n, (gap, bearing) in s.targets.items()
                   if gap <= c.reach_distance and abs(bearing) <= c.facing_tolerance]
        name = min(reached or s.targets, key=lambda n: s.targets[n][0])
        return name, s.targets[name][0], s.targets[name][1]

    def result(self) -> EpisodeResult:
        c, sc = self.criteria, self.scenario
        reasons: list[str] = []
        last = self.samples[-1] if self.samples else None
        now = last.t if last else 0.0
        settle = self._still_since
        target, distance, bearing = self._best_target(last) if last else (None, None, None)
        still_now = last is not None and self._still_since is not None
        if last is None:
            reasons.append("no samples")
        elif c.expect == "reach":
            if not still_now:
                reasons.append("robot still moving at the end")
            if distance is None or distance > c.reach_distance:
                reasons.append(f"not within {c.reach_distance:.2f} m of {' or '.join(c.targets)} "
                               f"(clearance {distance if distance is not None else float('nan'):.2f} m)")
            elif abs(bearing) > c.facing_tolerance:
                reasons.append(f"not facing {target} (bearing {math.degrees(bearing):+.0f} deg)")
            if settle is None or settle > c.time_limit:
                reasons.append(f"did not settle before the time limit {c.time_limit:.0f} s")
            if self.visited < len(c.visit):
                reasons.append(f"did not visit {c.visit[self.visited]} (step {self.visited + 1} of the "
                               f"sequence {' then '.join(c.visit)})")
        elif c.expect == "stop":
            stop_t = sc.stop_time
            if not self._moved_before_stop:
                reasons.append("never moved before the stop command (nothing was stopped)")
            if self._stop_settled is None or self._stop_settled > stop_t + c.stop_within:
                reasons.append(f"not stationary within {c.stop_within:.1f} s of the stop command")
            if self._moved_after_stop:
                reasons.append("moved again after stopping")
        elif c.expect == "not_found":
            if self._not_found_time is None:
                reasons.append("never reported not_found")
            if not still_now:
                reasons.append("robot still moving at the end")
        if c.avoid_contact:
            bad = [n for n in self.touched if n not in c.targets and n not in c.visit]
            if bad:
                reasons.append(f"touched {', '.join(bad)}")
        return EpisodeResult(sc.name, c.expect, not reasons, reasons, now, settle, self.path_length,
                             distance, bearing, target, self.collisions, list(self.touched),
                             self._reported, len(self.samples))


def evaluate(scenario: Scenario, samples: list[Sample]) -> EpisodeResult:
    """Judge a complete trace in one call."""
    judge = Judge(scenario)
    for s in samples:
        judge.add(s)
    return judge.result()
