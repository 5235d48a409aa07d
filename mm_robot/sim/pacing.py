"""When the simulator takes its next step (ROS-free; ``sim_node`` asks on a fast timer).

* The scenario starts at the policy's first decision (so no timeline command is played to a
  graph still starting), or after ``startup_timeout`` wall seconds without one.
* ``realtime``: one step every ``1 / (rate_hz * real_time_factor)`` wall seconds (the timer's own
  period).
* ``lockstep``: one step as soon as a decision on the last frame (at most ``lockstep_lag`` steps
  older) has arrived, or after ``lockstep_timeout`` wall seconds without one (counted as a miss);
  before the scenario starts, at real-time pace.
"""

from __future__ import annotations

import math
from typing import Optional

from .session import Advance, SimNodeConfig, SimSession


class StepPacer:
    def __init__(self, config: SimNodeConfig, born: float) -> None:
        self.config = config
        self.born = born
        self._waiting_since: Optional[float] = None
        self._last_step = -math.inf
        self._last: Optional[Advance] = None

    def due(self, session: SimSession, wall: float) -> tuple[bool, Optional[str]]:
        """(whether to step now, a note for the log). Starts the scenario when it is time."""
        cfg, note = self.config, None
        if not session.started:
            alive = session.decision_stamp > -math.inf
            if session.scenario is None or alive or wall - self.born >= cfg.startup_timeout:
                if session.scenario is not None and not alive:
                    note = f"no decision within {cfg.startup_timeout:.1f} s: starting the scenario anyway"
                session.start()
        if cfg.mode != "lockstep":
            return True, note
        if not (session.started and self._last is not None):
            return wall - self._last_step >= 1.0 / cfg.rate_hz, note
        if not session.decided_on(self._last.time, cfg.lockstep_lag):
            if self._waiting_since is None:
                self._waiting_since = wall
            if wall - self._waiting_since < cfg.lockstep_timeout:
                return False, note
            session.lockstep_misses += 1
        self._waiting_since = None
        return True, note

    def stepped(self, tick: Advance, wall: float) -> None:
        self._last, self._last_step = tick, wall

    @property
    def period(self) -> float:
        """How often the node should ask (s): the step period in real time, a fast poll in lockstep."""
        if self.config.mode == "realtime":
            return 1.0 / (self.config.rate_hz * self.config.real_time_factor)
        return 0.002
