"""sim_node: the MuJoCo simulator as a ROS node (replaces camera and base).

Publishes ``camera/image_raw`` + ``camera/camera_info`` (sensor QoS), ``odom``, ``/clock``,
``sim/ground_truth`` (JSON), the scenario's typed commands on ``command`` and, when the scene has
sound (parameter ``audio``), what the robot's stereo microphone pair hears on ``audio/raw`` (one
chunk per step, 16 kHz, 2 channels) + the latched ``audio/info``; consumes ``cmd_vel``
(Twist, or TwistStamped by parameter), ``decision`` (for what the robot reports, and
lockstep pacing) and ``perception/grounding`` (video overlay). All logic lives in
:class:`mm_robot.sim.session.SimSession`; at the end it writes result.json, the camera video
and trajectory.png. Run the graph with ``use_sim_time:=true``.

The sim node is the clock, so its own timer runs on the steady clock. All callbacks share
the node's default (mutually exclusive) callback group: the session is never used by two
threads at once.
"""

from __future__ import annotations

import json

import rclpy
from geometry_msgs.msg import Twist, TwistStamped
from nav_msgs.msg import Odometry
from rclpy.clock import Clock, ClockType
from rclpy.node import Node
from rosgraph_msgs.msg import Clock as ClockMsg
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import String

from ..core.config import ConfigError
from ..core.counters import ErrorLog
from ..core.records import Frame
from ..core.validation import InputError, parse_json_object
from ..ros import qos
from ..ros.conversions import (
    audio_info_json,
    camera_info_for,
    chunk_to_audio,
    frame_to_image,
    odometry_msg,
    twist_from_msg,
)
from ..ros.diagnostics import ERROR, WARN, Health, start_diagnostics
from ..ros.node_main import run_node
from ..ros.params import declare_config, watch_config
from ..ros.time import to_stamp
from ..sim.pacing import StepPacer
from ..sim.scenario import ScenarioError
from ..sim.session import Advance, SimNodeConfig, SimSession
from ..sim.spec import Pose2D
from ..sim.voice import SynthesisError

COMMAND_MATCH_WAIT = 5.0  # s of wall time the first step waits for command readers to match


class SimNode(Node):
    def __init__(self) -> None:
        super().__init__("sim_node")
        # The simulator is the clock: its step timer runs on the steady clock whatever
        # use_sim_time says (with use_sim_time the node clock follows its own /clock).
        self.config: SimNodeConfig = declare_config(self, SimNodeConfig)
        watch_config(self, SimNodeConfig, lambda: self.config, self._apply)
        try:
            self.session = SimSession(self.config)
        except (ScenarioError, ValueError, OSError, SynthesisError) as error:
            raise ConfigError(f"sim_node: {error}") from None
        self.errors = ErrorLog(self.get_logger().warning)
        self.image_pub = self.create_publisher(Image, "camera/image_raw", qos.SENSOR_PUB)
        self.info_pub = self.create_publisher(CameraInfo, "camera/camera_info", qos.SENSOR_PUB)
        self.odom_pub = self.create_publisher(Odometry, "odom", qos.RELIABLE)
        self.clock_pub = self.create_publisher(ClockMsg, "/clock", qos.RELIABLE)
        self.truth_pub = self.create_publisher(String, "sim/ground_truth", qos.RELIABLE)
        self.command_pub = self.create_publisher(String, "command", qos.RELIABLE)
        self.audio_pub = None
        self.audio_chunks = 0
        if self.session.soundtrack is not None:
            track = self.session.soundtrack
            self.audio_info_pub = self.create_publisher(String, "audio/info", qos.LATCHED)
            chunk_frames = int(round(track.rate / self.config.rate_hz))
            self.audio_info_pub.publish(String(data=audio_info_json(track.rate, 2, "f32", chunk_frames,
                                                                    self.config.audio_frame_id)))
            self.audio_pub = self.create_publisher(Image, "audio/raw", qos.SENSOR_PUB)
        if self.config.cmd_vel_stamped:
            self.create_subscription(TwistStamped, "cmd_vel", self._on_cmd_vel, qos.COMMAND_VELOCITY)
        else:
            self.create_subscription(Twist, "cmd_vel", self._on_cmd_vel, qos.COMMAND_VELOCITY)
        self.create_subscription(String, "decision", self._on_decision, qos.RELIABLE)
        self.create_subscription(String, "perception/grounding", self._on_grounding, qos.RELIABLE)
        self.steady = Clock(clock_type=ClockType.STEADY_TIME)
        self.hfov = self.session.world.scene.camera.hfov
        start = self.session.world.scene.robot
        self._origin = Pose2D(start.x, start.y, start.yaw)
        self.pacer = StepPacer(self.config, self._wall())
        self.done = False
        self.commands_played = 0
        self._matching_deadline: float | None = None  # set at the first step that is due
        self.timer = self.create_timer(self.pacer.period, self._tick, clock=self.steady)
        start_diagnostics(self, self._health)
        self.get_logger().info(f"simulating {self.session.name!r} in {self.config.mode} mode at "
                               f"{self.config.rate_hz} Hz")

    def _apply(self, config: SimNodeConfig) -> None:
        self.config = config
        self.session.config = config

    # -- inputs -------------------------------------------------------------------------------
    def _on_cmd_vel(self, msg) -> None:
        twist = twist_from_msg(msg)
        if not self.session.on_cmd_vel(twist.linear, twist.angular):
            self.errors.report("cmd_vel", "non-finite cmd_vel: base stopped", self._wall())

    def _on_decision(self, msg: String) -> None:
        data = self._json(msg, "decision")
        if data is not None:
            self.session.on_decision(data)

    def _on_grounding(self, msg: String) -> None:
        data = self._json(msg, "grounding")
        if data is not None:
            self.session.on_grounding(data)

    def _json(self, msg: String, kind: str):
        try:
            return parse_json_object(msg.data, {})
        except InputError as error:
            self.errors.report(f"{kind}.{error.kind}", f"bad {kind} dropped: {error}", self._wall())
            return None

    def _wall(self) -> float:
        return self.steady.now().nanoseconds * 1e-9

    # -- ticking ------------------------------------------------------------------------------
    def _tick(self) -> None:
        if self.done:
            return
        step, note = self.pacer.due(self.session, self._wall())
        if note:
            self.get_logger().warning(note)
        if not step or not self._command_readers_matched():
            return
        tick = self.session.advance()
        self.pacer.stepped(tick, self._wall())
        self._publish(tick)
        if tick.done:
            self._finish()

    def _command_readers_matched(self) -> bool:
        """Until the first command is played, time waits for every ``command`` reader the graph
        knows of to have matched this publisher: a reader still matching (a recorder started just
        before the graph, on a loaded machine) would otherwise miss the scenario's command; with
        ``command_readers`` it also waits for readers not discovered yet. A reader that never
        matches (incompatible QoS) holds it back 5 s at most."""
        now = self._wall()
        if self._matching_deadline is None:
            self._matching_deadline = now + COMMAND_MATCH_WAIT
        if self.commands_played or now > self._matching_deadline:
            return True
        wanted = max(self.count_subscribers(self.command_pub.topic_name), self.config.command_readers)
        return self.command_pub.get_subscription_count() >= wanted

    def _publish(self, tick: Advance) -> None:
        stamp = to_stamp(tick.time)
        self.clock_pub.publish(ClockMsg(clock=stamp))
        for command in tick.commands:
            if command.typed:
                self.command_pub.publish(String(data=command.text))
            self.commands_played += 1
            how = "typed" if not command.spoken else "spoken" if not command.typed else "typed and spoken"
            self.get_logger().info(f"t={command.t:.2f}s (sim {tick.time:.2f}s) command ({how}): "
                                   f"{command.text!r}")
        if tick.audio is not None and self.audio_pub is not None:
            self.audio_pub.publish(chunk_to_audio(tick.audio))
            self.audio_chunks += 1
        frame = Frame(tick.view.rgb, tick.time, self.config.frame_id)
        self.image_pub.publish(frame_to_image(frame))
        self.info_pub.publish(camera_info_for(frame, self.hfov))
        self.odom_pub.publish(odometry_msg(tick.truth.robot, self._origin, tick.truth.linear, tick.truth.angular,
                                           tick.time))
        self.truth_pub.publish(String(data=json.dumps(tick.truth.to_json())))

    def _finish(self) -> None:
        self.done = True
        result = self.session.finish()
        if result is not None:
            verdict = "SUCCESS" if result.success else "FAIL: " + "; ".join(result.reasons)
            self.get_logger().info(f"{result.scenario}: {verdict} at t={result.time:.1f}s; "
                                   f"outputs {self.session.outputs}")
        if self.config.exit_on_done:
            # Ends run_node's spin loop; it then destroys the node and exits with code 0.
            rclpy.try_shutdown(context=self.context)

    def _health(self) -> Health:
        s = self.session
        health = Health(values={"scenario": s.name, "mode": self.config.mode, "sim_time": round(s.world.time, 3),
                                "started": s.started,
                                "ticks": s.ticks, "commands_played": self.commands_played,
                                "lockstep_misses": s.lockstep_misses, "invalid_cmd_vel": s.invalid_cmd_vel,
                                "dropped_messages": self.errors.total, "audio_chunks": self.audio_chunks,
                                "audio_clipped": s.soundtrack.renderer.clipped if s.soundtrack else 0,
                                "collisions": s.world.collision_count})
        if s.invalid_cmd_vel:
            health.raise_to(WARN, f"{s.invalid_cmd_vel} non-finite cmd_vel")
        if s.soundtrack is not None and s.soundtrack.renderer.clipped:
            health.raise_to(WARN, f"{s.soundtrack.renderer.clipped} audio samples clipped")
        if self.errors.total:
            health.raise_to(WARN, f"{self.errors.total} bad messages dropped")
        if s.world.touching:
            health.raise_to(ERROR, f"robot touching {', '.join(s.world.touching)}")
        return health

    def shutdown_hook(self) -> None:
        """Write the outputs when stopped before the scenario ended (idempotent)."""
        if not self.done:
            self.done = True
            self.session.finish()


def main(args=None) -> int:
    return run_node(SimNode, args)


if __name__ == "__main__":
    raise SystemExit(main())
