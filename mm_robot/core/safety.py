"""The safety filter: the last word on every velocity the base receives.

Pure and clock-free: callers pass ``now`` (seconds). The rules, each tested by
name in ``test/unit/test_safety.py``:

* a proposal, a heartbeat (camera, fusion) older than ``input_timeout`` -> zero (R1)
* a latched e-stop -> zero until an explicit reset, then a proposal and required inputs newer
  than the reset (R12)
* a stop command -> zero until a go command that the command language understands with at least
  ``release_confidence``, then a proposal and required inputs (camera, fusion) newer than it:
  text that is not understood never releases a stop
* non-finite proposals are rejected -> zero (R5)
* speeds are clamped to the configured caps, which cannot exceed the hard limits (R4)
* speeding up is rate-limited; braking toward zero is immediate
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from .config import setting, validate
from .language import MIN_CONFIDENCE, is_stop, understand
from .records import ZERO, Twist2D

# Hard limits: the ceiling of every configurable cap. Not a parameter (R4).
HARD_MAX_LINEAR = 2.0  # m/s
HARD_MAX_ANGULAR = 4.0  # rad/s
HARD_MAX_LINEAR_ACCEL = 5.0  # m/s^2
HARD_MAX_ANGULAR_ACCEL = 10.0  # rad/s^2


@dataclass(frozen=True)
class SafetyConfig:
    max_linear: float = setting(0.5, "Linear speed cap (m/s).", low=0.0, high=HARD_MAX_LINEAR)
    max_angular: float = setting(1.5, "Angular speed cap (rad/s).", low=0.0, high=HARD_MAX_ANGULAR)
    max_linear_accel: float = setting(1.0, "Linear acceleration cap when speeding up (m/s^2).",
                                      low=0.01, high=HARD_MAX_LINEAR_ACCEL)
    max_angular_accel: float = setting(4.0, "Angular acceleration cap when speeding up (rad/s^2).",
                                       low=0.01, high=HARD_MAX_ANGULAR_ACCEL)
    input_timeout: float = setting(0.5, "Zero velocity when the proposal or a required input is "
                                   "older than this (s). Zero is not 'off'.", low=0.05, high=5.0)
    allow_reverse: bool = setting(False, "Allow negative linear velocity.")
    release_confidence: float = setting(MIN_CONFIDENCE, "A stop is released only by a go command read with "
                                        "at least this confidence (mm_robot.core.language).", low=0.1,
                                        high=1.0)


@dataclass(frozen=True)
class SafetyNodeConfig:
    rate_hz: float = setting(50.0, "cmd_vel publish rate (Hz).", low=5.0, high=500.0, read_only=True)
    stamped: bool = setting(False, "Publish geometry_msgs/TwistStamped (Jazzy diff_drive_controller) "
                            "instead of Twist.", read_only=True)
    frame_id: str = setting("base_link", "frame_id of TwistStamped output.", read_only=True)
    require_camera: bool = setting(True, "Zero velocity when camera/camera_info goes stale.", read_only=True)
    max_future: float = setting(0.1, "Heartbeats stamped further in the future are ignored (s).", low=0.0,
                                high=5.0)
    nice: int = setting(0, "Scheduling nice value of this node's process (-20 highest .. 19); below 0 a stop "
                        "waits less behind other processes for a core. Needs CAP_SYS_NICE below 0; refused "
                        "with a warning otherwise.", low=-20, high=19, read_only=True)


@dataclass
class SafetyOutput:
    twist: Twist2D
    state: str  # "ok", "idle", "estop", "stop_command", "stale", "invalid"
    detail: str = ""


@dataclass
class _Heartbeat:
    last: float = -math.inf


@dataclass
class SafetyFilter:
    """Stateful filter; feed it events, then call :meth:`update` at a fixed rate."""

    config: SafetyConfig = field(default_factory=SafetyConfig)
    required: tuple[str, ...] = ("camera", "fusion")

    def __post_init__(self) -> None:
        validate(self.config)
        self._heartbeats = {name: _Heartbeat() for name in self.required}
        self._proposal: Twist2D = ZERO
        self._proposal_time = -math.inf
        self._output: Twist2D = ZERO
        self._last_update: float | None = None
        self._estop = False
        self._estop_reset_time = -math.inf
        self._stopped_by_command = False
        self._release_time = -math.inf
        self.invalid_proposals = 0
        self.ignored_commands = 0  # not understood, or too unsure to release a stop

    # -- events ---------------------------------------------------------------------------
    def on_proposal(self, linear: float, angular: float, now: float) -> bool:
        """Store a proposal; returns False (and counts it) when it is not finite."""
        if not (math.isfinite(linear) and math.isfinite(angular)):
            self.invalid_proposals += 1
            self._proposal, self._proposal_time = ZERO, -math.inf
            return False
        self._proposal, self._proposal_time = Twist2D(float(linear), float(angular)), now
        return True

    def on_heartbeat(self, name: str, stamp: float) -> None:
        """Record that input ``name`` produced data stamped ``stamp``."""
        if name in self._heartbeats:
            self._heartbeats[name].last = max(self._heartbeats[name].last, stamp)

    def on_command(self, text: str, now: float) -> str:
        """Read one command; returns what it did: "stop", "release", "ignored" or "none"."""
        return self.on_commands([text], now)[-1]

    def on_commands(self, texts: list[str], now: float) -> list[str]:
        """Read commands that arrived together, oldest first, as if one by one; returns what each
        did. Only the last stop and what follows it can matter, so a stop is found first, with
        the cheap stop-word check, and only the texts after it are read in full."""
        effects = ["none"] * len(texts)
        stops = [i for i, text in enumerate(texts) if is_stop(text)]
        start = 0
        if stops:
            for i in stops:
                effects[i] = "stop"
            self._stopped_by_command = True
            start = stops[-1] + 1
        if not self._stopped_by_command:
            return effects  # nothing to release: a go command changes nothing here
        for i in range(start, len(texts)):
            reading = understand(texts[i])
            if reading.is_go and reading.confidence >= self.config.release_confidence:
                effects[i] = "release"
                self._stopped_by_command = False
                self._release_time = now
                break
            effects[i] = "ignored"
            self.ignored_commands += 1
        return effects

    def latch_stop(self) -> None:
        """Hold zero as a stop command does, until an understood go command releases it: for a stop
        seen before the rest of its batch is read, and for commands the middleware lost (a reliable
        reader saw a gap; any of them may have been a stop: fail safe, convention 12)."""
        self._stopped_by_command = True

    def on_estop(self, engaged: bool) -> None:
        """``True`` latches; ``False`` alone never releases (use :meth:`reset_estop`)."""
        if engaged:
            self._estop = True

    def reset_estop(self, now: float) -> None:
        self._estop = False
        self._estop_reset_time = now

    def configure(self, config: SafetyConfig) -> None:
        self.config = validate(config)

    # -- state ----------------------------------------------------------------------------
    @property
    def estop_engaged(self) -> bool:
        return self._estop

    @property
    def output(self) -> Twist2D:
        return self._output

    def _gate(self, now: float) -> SafetyOutput | None:
        """Reason to output zero, or None when the proposal may pass."""
        timeout = self.config.input_timeout
        if self._estop:
            return SafetyOutput(ZERO, "estop", "e-stop latched; call estop/reset")
        if self._stopped_by_command:
            return SafetyOutput(ZERO, "stop_command", "stop command received")
        since = max(self._estop_reset_time, self._release_time)
        if self._proposal_time <= since:
            return SafetyOutput(ZERO, "idle", "waiting for a fresh proposal")
        stale = [name for name, beat in self._heartbeats.items() if beat.last <= since > -math.inf]
        if stale:
            return SafetyOutput(ZERO, "idle", f"waiting for {stale[0]} input newer than the release")
        if now - self._proposal_time > timeout:
            return SafetyOutput(ZERO, "stale", f"proposal older than {timeout:.2f} s")
        for name, beat in self._heartbeats.items():
            if now - beat.last > timeout:
                return SafetyOutput(ZERO, "stale", f"{name} older than {timeout:.2f} s")
        return None

    def update(self, now: float) -> SafetyOutput:
        """The velocity to publish now. Always finite, always within the caps."""
        dt = 0.0 if self._last_update is None else max(0.0, now - self._last_update)
        self._last_update = now
        gated = self._gate(now)
        if gated is not None:
            self._output = ZERO
            return gated
        cfg = self.config
        linear_cap = min(cfg.max_linear, HARD_MAX_LINEAR)
        angular_cap = min(cfg.max_angular, HARD_MAX_ANGULAR)
        target_linear = _clamp(self._proposal.linear, 0.0 if not cfg.allow_reverse else -linear_cap,
                               linear_cap)
        target_angular = _clamp(self._proposal.angular, -angular_cap, angular_cap)
        self._output = Twist2D(
            _ramp(self._output.linear, target_linear, min(cfg.max_linear_accel, HARD_MAX_LINEAR_ACCEL) * dt),
            _ramp(self._output.angular, target_angular,
                  min(cfg.max_angular_accel, HARD_MAX_ANGULAR_ACCEL) * dt),
        )
        return SafetyOutput(self._output, "ok")


def _clamp(value: float, low: float, high: float) -> float:
    return min(max(value, low), high)


def _ramp(current: float, target: float, max_step: float) -> float:
    """Move toward ``target``: braking toward zero is immediate, speeding up is limited."""
    if current * target < 0.0:
        current = 0.0  # reversing: brake to zero at once, then accelerate
    if abs(target) <= abs(current):
        return target
    step = _clamp(target - current, -max_step, max_step)
    return current + step
