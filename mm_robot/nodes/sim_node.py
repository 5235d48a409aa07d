"""sim_node: the MuJoCo simulator as a ROS node (replaces camera and base).

Publishes ``camera/image_raw`` + ``camera/camera_info`` (sensor QoS), ``odom``, ``/clock``,
``sim/ground_truth`` (JSON) and the scenario's timeline on ``command``; consumes ``cmd_vel``
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
import math

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
from ..ros import qos
from ..ros.conversions import camera_info_for, frame_to_image, twist_from_msg
from ..ros.diagnostics import ERROR, WARN, Health, start_diagnostics
from ..ros.node_main import run_node
from ..ros.params import declare_config, watch_config
from ..ros.time import to_stamp
from ..sim.scenario import ScenarioError
from ..sim.session import Advance, SimNodeConfig, SimSession

MAX_JSON_BYTES = 1 << 20


class SimNode(Node):
    def __init__(self) -> None:
        super().__init__("sim_node")
        # The simulator is the clock: its step timer runs on the steady clock whatever
        # use_sim_time says (with use_sim_time the node clock follows its own /clock).
        self.config: SimNodeConfig = declare_config(self, SimNodeConfig)
        watch_config(self, SimNodeConfig, lambda: self.config, self._apply)
        try:
            self.session = SimSession(self.config)
        except (ScenarioError, ValueError, OSError) as error:
            raise ConfigError(f"sim_node: {error}") from None
        self.errors = ErrorLog(self.get_logger().warning)
        self.image_pub = self.create_publisher(Image, "camera/image_raw", qos.SENSOR_PUB)
        self.info_pub = self.create_publisher(CameraInfo, "camera/camera_info", qos.SENSOR_PUB)
        self.odom_pub = self.create_publisher(Odometry, "odom", qos.RELIABLE)
        self.clock_pub = self.create_publisher(ClockMsg, "/clock", qos.RELIABLE)
        self.truth_pub = self.create_publisher(String, "sim/ground_truth", qos.RELIABLE)
        self.command_pub = self.create_publisher(String, "command", qos.RELIABLE)
        if self.config.cmd_vel_stamped:
            self.create_subscription(TwistStamped, "cmd_vel", self._on_cmd_vel, qos.COMMAND_VELOCITY)
        else:
            self.create_subscription(Twist, "cmd_vel", self._on_cmd_vel, qos.COMMAND_VELOCITY)
        self.create_subscription(String, "decision", self._on_decision, qos.RELIABLE)
        self.create_subscription(String, "perception/grounding", self._on_grounding, qos.RELIABLE)
        self.steady = Clock(clock_type=ClockType.STEADY_TIME)
        self.hfov = self.session.world.scene.camera.hfov
        start = self.session.world.scene.robot
        self._origin = (start.x, start.y, start.yaw)
        self._waiting_since = None
        self._born = self._wall()
        self._last_step_wall = -math.inf
        self._last: Advance | None = None
        self.done = False
        self.commands_played = 0
        if self.config.mode == "realtime":
            period = 1.0 / (self.config.rate_hz * self.config.real_time_factor)
        else:
            period = 0.002  # poll: step as soon as the decision on the last frame arrived
        self.timer = self.create_timer(period, self._tick, clock=self.steady)
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
            if len(msg.data) > MAX_JSON_BYTES:
                raise ValueError(f"{len(msg.data)} bytes")
            data = json.loads(msg.data)
            if not isinstance(data, dict):
                raise ValueError("not an object")
            return data
        except ValueError as error:
            self.errors.report(kind, f"bad {kind} JSON dropped: {error}", self._wall())
            return None

    def _wall(self) -> float:
        return self.steady.now().nanoseconds * 1e-9

    # -- ticking ------------------------------------------------------------------------------
    def _tick(self) -> None:
        if self.done:
            return
        s, cfg, wall = self.session, self.config, self._wall()
        if not s.started:
            alive = s.decision_stamp > -math.inf
            if s.scenario is None or alive or wall - self._born >= cfg.startup_timeout:
                if s.scenario is not None and not alive:
                    self.get_logger().warning(f"no decision within {cfg.startup_timeout:.1f} s: starting "
                                              "the scenario anyway")
                s.start()
        if cfg.mode == "lockstep" and s.started and self._last is not None:
            if not s.decided_on(self._last.time, cfg.lockstep_lag):
                if self._waiting_since is None:
                    self._waiting_since = wall
                if wall - self._waiting_since < cfg.lockstep_timeout:
                    return
                self.session.lockstep_misses += 1
            self._waiting_since = None
        elif cfg.mode == "lockstep" and wall - self._last_step_wall < 1.0 / cfg.rate_hz:
            return  # before the scenario starts, lockstep runs at real-time pace
        self._last_step_wall = wall
        tick = self.session.advance()
        self._last = tick
        self._publish(tick)
        if tick.done:
            self._finish()

    def _publish(self, tick: Advance) -> None:
        stamp = to_stamp(tick.time)
        self.clock_pub.publish(ClockMsg(clock=stamp))
        for command in tick.commands:
            self.command_pub.publish(String(data=command.text))
            self.commands_played += 1
            self.get_logger().info(f"t={command.t:.2f}s (sim {tick.time:.2f}s) command: {command.text!r}")
        frame = Frame(tick.view.rgb, tick.time, self.config.frame_id)
        self.image_pub.publish(frame_to_image(frame))
        self.info_pub.publish(camera_info_for(frame, self.hfov))
        self.odom_pub.publish(self._odometry(tick))
        self.truth_pub.publish(String(data=json.dumps(tick.truth.to_json())))

    def _odometry(self, tick: Advance) -> Odometry:
        """Pose relative to the start pose (the odom frame), velocity in the base frame."""
        ox, oy, oyaw = self._origin
        pose = tick.truth.robot
        dx, dy = pose.x - ox, pose.y - oy
        x = math.cos(oyaw) * dx + math.sin(oyaw) * dy
        y = -math.sin(oyaw) * dx + math.cos(oyaw) * dy
        yaw = math.remainder(pose.yaw - oyaw, 2 * math.pi)
        msg = Odometry()
        msg.header.stamp = to_stamp(tick.time)
        msg.header.frame_id = "odom"
        msg.child_frame_id = "base_link"
        msg.pose.pose.position.x, msg.pose.pose.position.y = x, y
        msg.pose.pose.orientation.z, msg.pose.pose.orientation.w = math.sin(yaw / 2), math.cos(yaw / 2)
        msg.twist.twist.linear.x = tick.truth.linear
        msg.twist.twist.angular.z = tick.truth.angular
        return msg

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
                                "dropped_messages": self.errors.total,
                                "collisions": s.world.collision_count})
        if s.invalid_cmd_vel:
            health.raise_to(WARN, f"{s.invalid_cmd_vel} non-finite cmd_vel")
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
