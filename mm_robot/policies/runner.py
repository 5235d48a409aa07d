"""The fusion node's logic without ROS: latest inputs in, gated decisions out.

Subscriptions call ``on_*`` (validate, store, return fast); the node calls ``tick`` when a frame
or a command arrives and from its watchdog timer; the policy runs only on inputs it has not seen.
Whatever the policy says, the runner guarantees: stale or missing camera -> stop; a
command the command language does not understand -> ``not_understood`` and no motion,
without the policy ever seeing it (so no model guesses a target from noise); a stop
command -> stop, never rate-limited; low confidence -> no motion (R22); non-finite
output -> zero and an error (R5). Decisions carry the source image's stamp (R22).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Optional

from ..core.camera_model import CameraModel
from ..core.config import setting
from ..core.language import Understanding, understand
from ..core.latest import LatestSlot
from ..core.records import ZERO, Action, AudioChunk, Command, Decision, Frame, Grounding, Observation, Twist2D
from ..core.validation import InputError, InputLimits, RateGate, StampPolicy, check_command, check_stamp
from .base import Policy


@dataclass(frozen=True)
class FusionNodeConfig:
    policy: str = setting("fusion", "Policy name: 'fusion' (the trained multimodal model; 'baseline' when "
                          "torch is missing) or 'baseline' (OpenCV colour+shape).",
                          choices=("baseline", "fusion"), read_only=True)
    checkpoint: str = setting("", "Checkpoint directory for the fusion policy; empty = the shipped "
                              "default.", read_only=True)
    policy_threads: int = setting(1, "Torch intra-op threads of the fusion policy (1 keeps the other "
                                  "callbacks responsive on a small CPU).", low=1, high=64, read_only=True)
    command_cache_size: int = setting(256, "Commands whose encodings the fusion policy keeps (least recently "
                                      "used out): bounds memory however many distinct commands arrive.",
                                      low=1, high=100000, read_only=True)
    allow_model_download: bool = setting(False, "Let a checkpoint that names a model-hub id download it; "
                                         "off: local files only.", read_only=True)
    zoom: bool = setting(True, "Fusion policy: look for a target the whole frame misses (small, far, or cut "
                         "by the image edge) in magnified crops of the frame.", read_only=True)
    rate_hz: float = setting(15.0, "Watchdog checks per second (the policy itself runs on each new frame or "
                             "command): with no fresh frame, STOP decisions and zero proposals at this rate.",
                             low=0.5, high=100.0)
    max_input_age: float = setting(0.5, "Camera frames older than this stop the robot (s).", low=0.01,
                                   high=10.0)
    max_future: float = setting(0.1, "Frames stamped further in the future are rejected (s).", low=0.0,
                                high=5.0)
    min_confidence: float = setting(0.5, "Decisions below this confidence propose no motion.", low=0.0,
                                    high=1.0)
    image_transport: str = setting("raw", "Subscribe to 'raw' images or 'compressed' JPEG.",
                                   choices=("raw", "compressed"), read_only=True)
    use_audio: bool = setting(True, "Subscribe to audio/raw and give the latest chunk to the policy.",
                              read_only=True)
    publish_debug_image: bool = setting(True, "Publish the annotated perception/debug_image.")


@dataclass(frozen=True)
class TickResult:
    grounding: Optional[Grounding]
    decision: Decision
    proposal: Twist2D
    fresh: bool  # True when the policy ran on a new frame this tick
    frame: Optional[Frame] = None


class PolicyRunner:
    def __init__(self, config: FusionNodeConfig, policy: Policy, limits: InputLimits = InputLimits()):
        self.config = config
        self.policy = policy
        self.limits = limits
        self.frames: LatestSlot[Frame] = LatestSlot()
        self.commands: LatestSlot[tuple[Command, Understanding]] = LatestSlot()  # one slot: atomic pair
        self.not_understood = 0
        self.last_not_understood = ""
        self.audio: LatestSlot[AudioChunk] = LatestSlot()
        self._command_gate = RateGate(limits.max_commands_per_second)
        self._last_inputs: tuple = ()  # (frame stamp, held command) of the last result
        self._last: Optional[TickResult] = None
        self.nonfinite_outputs = 0
        self.inference_ms: list[float] = []
        self.camera: Optional[CameraModel] = None  # the latest camera_info's intrinsics

    @property
    def stamps(self) -> StampPolicy:
        return StampPolicy(self.config.max_input_age, self.config.max_future)

    def on_camera_info(self, camera: CameraModel) -> None:
        """The camera's intrinsics (camera_info): later frames carry them to the policy."""
        self.camera = camera

    def on_frame(self, frame: Frame, now: float) -> None:
        check_stamp(frame.stamp, now, self.stamps)
        if frame.camera is None and self.camera is not None:
            frame = dataclasses.replace(frame, camera=self.camera.for_size(frame.width, frame.height))
        self.frames.put(frame, frame.stamp, now)

    def on_audio(self, chunk: AudioChunk, now: float) -> None:
        check_stamp(chunk.stamp, now, StampPolicy(max(2.0, self.config.max_input_age), self.config.max_future))
        self.audio.put(chunk, chunk.stamp, now)

    def on_command(self, raw: str | bytes, now: float, source: str = "text") -> Command:
        """Validate and read a command; a go command is rate-limited, a stop never is, and text
        that is not understood replaces the held command (the robot stops and says why)."""
        text = check_command(raw, self.limits)
        reading = understand(text)
        if reading.is_go and not self._command_gate.allow(now):
            raise InputError("command_rate", f"more than {self.limits.max_commands_per_second:g} "
                             "commands per second; dropped")
        if not reading.understood:
            self.not_understood += 1
            self.last_not_understood = f"{text[:60]!r}: {reading.reason}"
        command = Command(reading.mend(text), now, source)
        self.commands.put((command, reading), now, now)
        return command

    def tick(self, now: float) -> TickResult:
        held = self.frames.get()
        if held is None or now - held.stamp > self.config.max_input_age:
            reason = "no camera frame yet" if held is None else f"camera frame {now - held.stamp:.2f} s old"
            decision = Decision(Action.STOP, 1.0, reason, stamp=held.stamp if held else now,
                                policy=self.policy.name)
            return self._remember(TickResult(None, decision, ZERO, False))
        held_command = self.commands.get()
        if self._last is not None and (held.stamp, held_command) == self._last_inputs:
            return TickResult(self._last.grounding, self._last.decision, self._last.proposal, False,
                              held.value)
        self._last_inputs = (held.stamp, held_command)
        command, reading = held_command.value if held_command else (None, None)
        if reading is not None and reading.kind != "goto":
            action = Action.STOP if reading.kind == "stop" else Action.NOT_UNDERSTOOD
            reason = "stop command" if reading.kind == "stop" else f"command not understood: {reading.reason}"
            decision = Decision(action, 1.0, reason, stamp=held.stamp, policy=self.policy.name)
            return self._remember(TickResult(None, decision, ZERO, True, held.value))
        audio = self.audio.get()
        observation = Observation(held.value, command, audio.value if audio else None, now)
        output = self.policy.select_action(observation)
        self.inference_ms.append(output.decision.latency_ms)
        del self.inference_ms[:-200]
        decision = dataclasses.replace(output.decision, stamp=held.stamp)
        return self._remember(TickResult(output.grounding, decision, self._gate(decision), True, held.value))

    def _gate(self, decision: Decision) -> Twist2D:
        if not (math.isfinite(decision.linear) and math.isfinite(decision.angular)):
            self.nonfinite_outputs += 1
            return ZERO
        if not decision.action.moves or decision.confidence < self.config.min_confidence:
            return ZERO
        return Twist2D(decision.linear, decision.angular)

    def _remember(self, result: TickResult) -> TickResult:
        self._last = result
        return result
