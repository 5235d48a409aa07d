"""The sim node's logic without ROS: one world, one scenario, command playback, judging and
outputs. ``mm_robot/nodes/sim_node.py`` only moves messages in and out of a
:class:`SimSession`.

Per tick (``1 / rate_hz`` s of sim time): :meth:`SimSession.advance` steps the world with
the latest ``cmd_vel`` (zero once it is older than ``cmd_vel_timeout``), returns the
scenario commands that fell due (spoken ones start sounding), renders the camera and what the
microphone pair heard during the step, and feeds the judge; the node publishes the results.
:meth:`SimSession.finish` writes result JSON, video and trajectory.

Two clocks: *sim time* (``world.time``, every stamp and ``/clock``) starts at one step, so
no message is ever stamped zero (R2 rejects zero stamps); *scenario time* starts when
:meth:`SimSession.start` is called — the node calls it once the policy is alive (its first
decision), so no command of the timeline is played to a graph that is still starting.
Timeline times, criteria and results are in scenario time.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, Optional

from ..core.config import setting, validate
from ..core.records import AudioChunk
from .criteria import EpisodeResult, Judge, Sample, sample_from_truth
from .generate import random_scene
from .recording import VideoRecorder, draw_grounding, plot_trajectory, write_result
from .scenario import Scenario, TimedCommand, load_scenario
from .soundtrack import Soundtrack
from .truth import GroundTruth
from .world import View, World


@dataclass(frozen=True)
class SimNodeConfig:
    scenario: str = setting("", "Scenario YAML to run (docs/scenarios.md); empty = a random scene from "
                            "'seed' with no command timeline.", read_only=True)
    seed: int = setting(0, "Seed of the random scene when no scenario is given.", low=0, high=2 ** 31 - 1,
                        read_only=True)
    mode: str = setting("realtime", "'realtime': step on a wall-clock timer; 'lockstep': step only once "
                        "a decision for the latest frame arrived (or lockstep_timeout passed).",
                        choices=("realtime", "lockstep"), read_only=True)
    rate_hz: float = setting(15.0, "Camera frames and sim steps per second of sim time.", low=1.0, high=100.0,
                             read_only=True)
    real_time_factor: float = setting(1.0, "Realtime mode: sim seconds per wall second.", low=0.05, high=20.0)
    cmd_vel_stamped: bool = setting(False, "Subscribe to geometry_msgs/TwistStamped instead of Twist.",
                                    read_only=True)
    cmd_vel_timeout: float = setting(0.5, "The base stops when cmd_vel is older than this (s of sim time).",
                                     low=0.05, high=5.0)
    lockstep_timeout: float = setting(2.0, "Lockstep: wall seconds to wait for a decision before stepping "
                                      "anyway.", low=0.01, high=60.0)
    lockstep_lag: int = setting(1, "Lockstep: step once a decision on a frame at most this many steps "
                                "older than the latest arrived (timer-driven policies see the clock before "
                                "the image).", low=0, high=10, read_only=True)
    startup_timeout: float = setting(20.0, "Start the scenario at the first decision, or after this many "
                                     "wall seconds without one.", low=0.0, high=600.0, read_only=True)
    output_dir: str = setting("runs/sim", "Directory for result.json, the camera video and trajectory.png "
                              "(a sub-directory per scenario); empty = write nothing.", read_only=True)
    video: str = setting("mp4", "Camera video format.", choices=("mp4", "gif", "none"), read_only=True)
    command_readers: int = setting(0, "The first command waits (at most 5 s of wall time) until at least this "
                                   "many command readers have matched, besides every one already discovered: "
                                   "a recorder beside the graph may be discovered too late otherwise.",
                                   low=0, high=100, read_only=True)
    exit_on_done: bool = setting(True, "Exit once the scenario's outcome is decided.", read_only=True)
    frame_id: str = setting("camera_optical_frame", "frame_id of images and camera info.", read_only=True)
    audio: str = setting("auto", "Publish what the robot's stereo microphone pair hears (audio/raw, 16 kHz, "
                         "one chunk per step): 'auto' = when the scenario has sound (a sounding object, "
                         "background noise or a spoken command), 'on', 'off'.", choices=("auto", "on", "off"),
                         read_only=True)
    audio_frame_id: str = setting("microphone", "frame_id of the audio chunks.", read_only=True)


@dataclass(frozen=True)
class Advance:
    """One tick's results. ``view.rgb``: (H, W, 3) uint8; ``commands``: scenario commands that
    fell due (publish the ``typed`` ones); ``done``: the judge has decided (or the time limit
    passed); ``audio``: what the microphones heard during the step, (frames, 2) float32 stamped
    with its first frame's sim time (None without sound, and on the first step)."""

    time: float
    view: View
    truth: GroundTruth
    commands: tuple[TimedCommand, ...]
    done: bool
    scenario_time: Optional[float] = None  # None before start()
    audio: Optional[AudioChunk] = None


class DecisionLog:
    """The run's decisions and groundings as JSON lines (``decisions.jsonl``, ``groundings.jsonl``
    in the run's directory), each stamped with the sim and scenario time it arrived at, so a
    failure can be read back step by step. Without a directory it writes nothing."""

    def __init__(self, directory: Optional[Path]) -> None:
        self.directory = directory
        self._files: dict[str, IO[str]] = {}
        self.paths: dict[str, str] = {}

    def write(self, kind: str, data: dict, sim_time: float, scenario_time: Optional[float]) -> None:
        if self.directory is None:
            return
        if kind not in self._files:
            self.directory.mkdir(parents=True, exist_ok=True)
            path = self.directory / f"{kind}s.jsonl"
            self._files[kind] = open(path, "w", encoding="utf-8")
            self.paths[f"{kind}s"] = str(path)
        record = {"sim_time": round(sim_time, 4),
                  "scenario_time": None if scenario_time is None else round(scenario_time, 4), **data}
        self._files[kind].write(json.dumps(record) + "\n")

    def close(self) -> None:
        for handle in self._files.values():
            handle.close()
        self._files.clear()


class SimSession:
    """A world plus the bookkeeping of one run."""

    def __init__(self, config: SimNodeConfig, scenario: Optional[Scenario] = None) -> None:
        self.config = validate(config)
        if scenario is None and config.scenario:
            scenario = load_scenario(config.scenario)
        self.scenario = scenario
        scene = scenario.scene if scenario else random_scene(config.seed)[0]
        self.name = scenario.name if scenario else f"random_{config.seed}"
        self.world = World(scene)
        self.dt = 1.0 / config.rate_hz
        has_sound = scenario is not None and scenario.has_sound
        hear = config.audio == "on" or (config.audio == "auto" and has_sound)
        # Audio starts with the first step's end, so no chunk is ever stamped zero (R2).
        self.soundtrack: Optional[Soundtrack] = None
        if hear:
            self.soundtrack = (Soundtrack.of(scenario, self.dt) if scenario is not None
                               else Soundtrack(scene, start_time=self.dt))
        self.judge = Judge(scenario) if scenario else None
        self.samples: list[Sample] = []
        self.command = (0.0, 0.0)
        self.command_time = -math.inf
        self.invalid_cmd_vel = 0
        self.lockstep_misses = 0  # lockstep steps taken without a decision for the latest frame
        self.action: Optional[str] = None
        self.decision_stamp = -math.inf
        self.grounding: Optional[dict] = None
        self.ticks = 0
        self.started_at: Optional[float] = None  # sim time at which scenario time is 0
        self._played_until = -1.0
        self.result: Optional[EpisodeResult] = None
        self.outputs: dict[str, str] = {}
        self._finished = False
        self._started_wall = time.monotonic()
        out = Path(config.output_dir) / self.name if config.output_dir else None
        self.out_dir = out
        self.recorder = (VideoRecorder(out / f"camera.{config.video}", config.rate_hz)
                         if out is not None and config.video != "none" else None)
        self.decision_counts: dict[str, int] = {}  # action -> decisions received with it
        self.logs = DecisionLog(out)

    # -- inputs ---------------------------------------------------------------------------
    def on_cmd_vel(self, linear: float, angular: float) -> bool:
        """Latest velocity command; a non-finite one is counted and stops the base."""
        if not (math.isfinite(linear) and math.isfinite(angular)):
            self.invalid_cmd_vel += 1
            self.command, self.command_time = (0.0, 0.0), self.world.time
            return False
        self.command, self.command_time = (float(linear), float(angular)), self.world.time
        return True

    def on_decision(self, data: dict) -> None:
        """A ``decision`` JSON (Decision.to_json): its action is what the robot reports."""
        action = data.get("action")
        if isinstance(action, str):
            self.action = action
            self.decision_counts[action] = self.decision_counts.get(action, 0) + 1
        self.logs.write("decision", data, self.world.time, self.scenario_time)
        stamp = data.get("stamp")
        if isinstance(stamp, (int, float)) and math.isfinite(stamp):
            self.decision_stamp = max(self.decision_stamp, float(stamp))

    def on_grounding(self, data: dict) -> None:
        self.grounding = data
        self.logs.write("grounding", data, self.world.time, self.scenario_time)

    def decided_on(self, stamp: float, lag: int = 0) -> bool:
        """Has a decision on the frame stamped ``stamp``, or at most ``lag`` steps older, arrived?"""
        return self.decision_stamp >= stamp - lag * self.dt - 1e-6

    def start(self) -> None:
        """Scenario time starts now (idempotent)."""
        if self.started_at is None:
            self.started_at = self.world.time

    @property
    def started(self) -> bool:
        return self.started_at is not None

    @property
    def scenario_time(self) -> Optional[float]:
        return None if self.started_at is None else self.world.time - self.started_at

    # -- ticking --------------------------------------------------------------------------
    @property
    def base_command(self) -> tuple[float, float]:
        """What the base executes now: the latest cmd_vel unless it is stale."""
        if self.world.time - self.command_time > self.config.cmd_vel_timeout:
            return (0.0, 0.0)
        return self.command

    def advance(self) -> Advance:
        """Step, play due commands (once started), render, judge."""
        self.world.step(*self.base_command, self.dt)
        self.ticks += 1
        now = self.world.time
        view = self.world.render()
        truth = self.world.ground_truth(view)
        t = self.scenario_time
        due: tuple[TimedCommand, ...] = ()
        done = False
        if t is not None:
            if self.scenario is not None:
                due = tuple(self.scenario.commands_between(self._played_until, t + 1e-9))
            self._played_until = t + 1e-9
            if self.soundtrack is not None:
                for command in due:
                    if command.spoken:
                        self.soundtrack.play(command, self.started_at + command.t)
            if self.judge is not None:
                sample = replace(sample_from_truth(truth, self.scenario.criteria, self.action), t=t)
                self.judge.add(sample)
                done = self.judge.done()
            else:
                sample = Sample(t, truth.robot.x, truth.robot.y, truth.robot.yaw, truth.linear, truth.angular,
                                truth.touching, {}, self.action)
            self.samples.append(sample)
        if self.recorder is not None:
            clock = f"t={t:5.1f}s" if t is not None else "waiting"
            caption = f"{clock} {self.action or '-'} v={truth.linear:+.2f} w={truth.angular:+.2f}"
            self.recorder.add(draw_grounding(view.rgb, self.grounding, caption))
        return Advance(now, view, truth, due, done, t, self._hear(now))

    def _hear(self, now: float) -> Optional[AudioChunk]:
        """What the pair heard since the last step, or None (no sound, or no samples yet)."""
        if self.soundtrack is None:
            return None
        start = self.soundtrack.time
        samples = self.soundtrack.render(self.world.pose, now)
        if samples.shape[0] == 0:
            return None
        return AudioChunk(samples, self.soundtrack.rate, start, self.config.audio_frame_id)

    # -- the end --------------------------------------------------------------------------
    def finish(self) -> Optional[EpisodeResult]:
        """Judge, write the outputs (once), close the world. Returns the result (None without
        a scenario)."""
        if self._finished:
            return self.result
        self._finished = True
        if self.judge is not None and self.judge.samples:
            self.result = self.judge.result()
            if not self.judge.done():
                self.result.success = False
                self.result.reasons.append(f"run ended at t={self.scenario_time:.1f}s, before the outcome "
                                           "was decided")
        if self.recorder is not None:
            path = self.recorder.close()
            if path is not None:
                self.outputs["video"] = str(path)
        if self.out_dir is not None and self.samples:
            targets = self.scenario.criteria.targets if self.scenario else ()
            self.outputs["trajectory"] = str(plot_trajectory(self.world.scene, self.samples,
                                                             self.out_dir / "trajectory.png", self.result,
                                                             targets, title=self.name))
            if self.result is not None:
                extra = {"mode": self.config.mode, "sim_time_offset": round(self.started_at or 0.0, 4),
                         "wall_s": round(time.monotonic() - self._started_wall, 2),
                         "invalid_cmd_vel": self.invalid_cmd_vel, "lockstep_misses": self.lockstep_misses,
                         "decisions": dict(sorted(self.decision_counts.items())),
                         "outputs": dict(self.outputs, **self.logs.paths)}
                self.outputs["result"] = str(write_result(self.result, self.out_dir / "result.json", extra))
        self.logs.close()
        self.world.close()
        return self.result
