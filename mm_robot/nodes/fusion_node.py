"""fusion_node: latest image, audio and command in; grounding, decision and a velocity proposal out.

Subscriptions validate and store (convention 3); the policy then runs at once, in the callback
that brought the new frame or command, on one thread (rclpy's events executor: wait and
dispatch in C++). Frames that arrive during an inference wait in the depth-1 sensor queue,
where a newer one replaces an older one, so only the latest frame is ever decided on and
nothing queues (R11); a timer is the watchdog. On rclpy's multi-threaded executor, with the
policy in its own callback group behind a guard condition, the same node spent 0.7 of a core on
dispatch at 30 Hz and the image -> cmd_vel p99 was 0.5 s (11 ms now; README, `mm-robot bench`).
The safety controller, another process, keeps the robot's watchdog while an inference blocks (R3).
A managed (lifecycle) node: it loads its model on ``configure`` and publishes only while active.
Commands are read in order from a draining keep-all subscription, so a stop is
never lost behind junk; text that is not understood is counted and answered with a
``not_understood`` decision, never handed to the model (R8, convention 12).
"""

from __future__ import annotations

import gc
import json
import threading

from geometry_msgs.msg import Twist
from rclpy.duration import Duration
from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn
from sensor_msgs.msg import CameraInfo, CompressedImage, Image, RegionOfInterest
from std_msgs.msg import String
from visualization_msgs.msg import MarkerArray

from ..core.counters import ErrorLog
from ..core.lifecycle import ManagedNodeConfig
from ..core.records import Frame
from ..core.validation import InputError, InputLimits
from ..policies import load_policy
from ..policies.overlay import draw_overlay
from ..policies.runner import FusionNodeConfig, PolicyRunner, TickResult
from ..ros import qos
from ..ros.conversions import (
    Detection2DArray,
    audio_to_chunk,
    box_to_roi,
    camera_info_to_model,
    compressed_to_frame,
    frame_to_image,
    grounding_to_detections,
    grounding_to_markers,
    image_to_frame,
    parse_audio_info,
    twist_to_msg,
)
from ..ros.diagnostics import ERROR, WARN, Health, qos_events_for, raise_for_qos, start_diagnostics
from ..ros.drain import create_draining_subscription
from ..ros.managed import bring_up, destroy_entities
from ..ros.node_main import run_node
from ..ros.params import declare_config, watch_config
from ..ros.time import now_seconds


class FusionNode(LifecycleNode):
    """A managed node (mm_robot.core.lifecycle): ``configure`` loads the policy and creates the
    inputs and outputs, ``activate`` starts deciding and publishing, ``deactivate`` sends a last
    zero proposal and stops (the safety controller then holds cmd_vel at zero), ``cleanup`` and
    ``shutdown`` release the model. Diagnostics run in every state."""

    def __init__(self) -> None:
        super().__init__("fusion_node")
        self.config: FusionNodeConfig = declare_config(self, FusionNodeConfig)
        self.limits: InputLimits = declare_config(self, InputLimits, prefix="limits.")
        self.managed: ManagedNodeConfig = declare_config(self, ManagedNodeConfig)
        watch_config(self, FusionNodeConfig, lambda: self.config, self._apply)
        self.errors = ErrorLog(self.get_logger().warning)
        self.audio_rate: int | None = None
        self.runner: PolicyRunner | None = None
        self.active = False
        self.failure = ""  # why the last configure failed
        self.ticks = 0
        self.tick_errors = 0
        # Transitions (lifecycle services) and ticks (policy group) run on different threads: a
        # transition waits for the tick in flight, so deactivate's zero is the last proposal.
        self.lock = threading.RLock()
        self._entities: list = []  # what configure created and cleanup destroys
        start_diagnostics(self, self._health)
        if self.managed.autostart:
            bring_up(self, lambda: self.failure)

    # -- life cycle ----------------------------------------------------------------------------
    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        options = ({"checkpoint": self.config.checkpoint, "num_threads": self.config.policy_threads,
                    "cache_size": self.config.command_cache_size, "zoom": self.config.zoom,
                    "allow_download": self.config.allow_model_download}
                   if self.config.policy == "fusion" else {})
        try:
            policy = load_policy(self.config.policy, self.get_logger().warning, **options)
        except (OSError, ValueError) as error:
            self.failure = f"fusion_node: cannot load policy {self.config.policy!r}: {error}"
            self.get_logger().error(self.failure)
            return TransitionCallbackReturn.FAILURE
        with self.lock:
            self.runner = PolicyRunner(self.config, policy, self.limits)
            self._create_inputs()
            self._create_outputs()
            self._entities.append(self.create_timer(1.0 / self.config.rate_hz, self._tick))
        self.get_logger().info(f"configured: policy {policy.name!r} on each new frame; watchdog at "
                               f"{self.config.rate_hz} Hz")
        return TransitionCallbackReturn.SUCCESS

    def _create_inputs(self) -> None:
        subscriptions = [(CompressedImage, "camera/image_raw/compressed", self._on_compressed, qos.SENSOR)
                         if self.config.image_transport == "compressed"
                         else (Image, "camera/image_raw", self._on_image, qos.SENSOR),
                         (CameraInfo, "camera/camera_info", self._on_camera_info, qos.SENSOR)]
        if self.config.use_audio:
            subscriptions += [(Image, "audio/raw", self._on_audio, qos.SENSOR),
                              (String, "audio/info", self._on_audio_info, qos.LATCHED)]
        for msg_type, topic, callback, profile in subscriptions:
            events = qos_events_for(self, self.errors, topic)
            self._entities.append(self.create_subscription(msg_type, topic, callback, profile,
                                                           event_callbacks=events))
        self._entities.append(create_draining_subscription(
            self, String, "command", lambda batch: [self._on_command(m) for m in batch],
            event_callbacks=qos_events_for(self, self.errors, "command", keep_all=True)))

    def _create_outputs(self) -> None:
        """Lifecycle publishers: they send only while the node is active."""
        publish = self.create_lifecycle_publisher
        self.grounding_pub = publish(String, "perception/grounding", qos.RELIABLE)
        self.roi_pub = publish(RegionOfInterest, "perception/target_roi", qos.RELIABLE)
        self.debug_pub = publish(Image, "perception/debug_image", qos.SENSOR_PUB)
        self.marker_pub = publish(MarkerArray, "perception/markers", qos.RELIABLE)
        self.decision_pub = publish(String, "decision", qos.RELIABLE)
        self.proposal_pub = publish(Twist, "cmd_vel_proposal", qos.COMMAND_VELOCITY)
        self.detections_pub = (publish(Detection2DArray, "perception/detections", qos.RELIABLE)
                               if Detection2DArray is not None else None)
        self._entities += [p for p in (self.grounding_pub, self.roi_pub, self.debug_pub, self.marker_pub,
                                       self.decision_pub, self.proposal_pub, self.detections_pub) if p is not None]

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        with self.lock:
            result = super().on_activate(state)  # enables the lifecycle publishers
            self.active = True
        self.get_logger().info("active: deciding and publishing")
        return result

    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        with self.lock:
            self._last_zero()
            self.active = False
            result = super().on_deactivate(state)
        self.get_logger().info("inactive: no proposals (the safety controller holds cmd_vel at zero)")
        return result

    def on_cleanup(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._release()
        self.get_logger().info("unconfigured: policy released")
        return TransitionCallbackReturn.SUCCESS

    def on_shutdown(self, state: LifecycleState) -> TransitionCallbackReturn:
        with self.lock:
            if self.active:
                self._last_zero()
                self.active = False
        self._release()
        return TransitionCallbackReturn.SUCCESS

    def on_error(self, state: LifecycleState) -> TransitionCallbackReturn:
        self.active = False
        self._release()
        return TransitionCallbackReturn.SUCCESS

    def _release(self) -> None:
        """Destroy what configure created and drop the policy (its model goes with it)."""
        with self.lock:
            destroy_entities(self, self._entities)
            self.runner = None
        gc.collect()

    def _last_zero(self) -> None:
        """A zero proposal, delivered, while the publisher is still enabled (R13)."""
        self.proposal_pub.publish(Twist())
        self.proposal_pub.wait_for_all_acked(Duration(seconds=1.0))

    def _apply(self, config: FusionNodeConfig) -> None:
        self.config = config
        if self.runner is not None:
            self.runner.config = config

    # -- inputs: validate, store, return ---------------------------------------------------
    def _guard(self, kind: str, handler, msg) -> None:
        if self.runner is None:  # a message in flight while cleanup released the policy
            return
        self.errors.guard(kind, handler, msg, now_seconds(self))

    def _on_image(self, msg: Image) -> None:
        self._guard("image", lambda m, now: self.runner.on_frame(image_to_frame(m, self.limits), now), msg)
        self._poke()

    def _on_camera_info(self, msg: CameraInfo) -> None:
        """Bearings come from the camera's own intrinsics (K, image size), not an assumed lens."""
        self._guard("camera_info", lambda m, now: self.runner.on_camera_info(camera_info_to_model(m)), msg)

    def _on_compressed(self, msg: CompressedImage) -> None:
        self._guard("image", lambda m, now: self.runner.on_frame(compressed_to_frame(m, self.limits), now),
                    msg)
        self._poke()

    def _on_command(self, msg: String) -> None:
        def handle(m, now):
            before = self.runner.not_understood
            command = self.runner.on_command(m.data, now)
            if self.runner.not_understood > before:
                self.errors.report("command.not_understood", self.runner.last_not_understood, now)
            else:
                self.get_logger().info(f"command: {command.text!r}")
        self._guard("command", handle, msg)
        self._poke()  # decide on the held frame now, not at the next one

    def _poke(self) -> None:
        """Decide now on what just arrived (an event, not a timer: convention 3)."""
        if self.runner is not None:
            self._tick(fresh_only=True)

    def _on_audio_info(self, msg: String) -> None:
        self._guard("audio_info", lambda m, now: setattr(self, "audio_rate", parse_audio_info(m.data)["rate"]),
                    msg)

    def _on_audio(self, msg: Image) -> None:
        def handle(m, now):
            if self.audio_rate is None:
                raise InputError("no_info", "audio/raw received before audio/info; dropped")
            self.runner.on_audio(audio_to_chunk(m, self.audio_rate, self.limits), now)
        self._guard("audio", handle, msg)

    # -- the policy: on each new frame or command (event), and as a watchdog (timer) -----------
    def _tick(self, fresh_only: bool = False) -> None:
        """Run the policy when there is something new; the timer's call (``fresh_only`` False)
        also publishes the held decision, so a silent camera turns into STOP decisions and zero
        proposals at the watchdog's rate (R1). Only while active."""
        with self.lock:
            if self.active and self.runner is not None:
                self._decide(fresh_only)

    def _decide(self, fresh_only: bool) -> None:
        now = now_seconds(self)
        try:
            result = self.runner.tick(now)
        except Exception as error:  # a failing model must stop the robot, not the node
            self.tick_errors += 1
            self.errors.report("policy", f"policy failed: {error!r}", now)
            self.proposal_pub.publish(Twist())
            return
        if fresh_only and not result.fresh:
            return
        self.ticks += 1
        self.proposal_pub.publish(twist_to_msg(result.proposal))
        decision = result.decision.to_json()
        decision["linear"], decision["angular"] = result.proposal.linear, result.proposal.angular
        decision["proposed_by_policy"] = {"linear": result.decision.linear, "angular": result.decision.angular}
        self.decision_pub.publish(String(data=json.dumps(decision)))
        if result.fresh:
            self._publish_perception(result)

    def _publish_perception(self, result: TickResult) -> None:
        grounding, frame = result.grounding, result.frame
        if grounding is not None:
            self.grounding_pub.publish(String(data=json.dumps(grounding.to_json())))
            if grounding.target is not None:
                self.roi_pub.publish(box_to_roi(grounding.target.box, *grounding.image_size))
            self.marker_pub.publish(grounding_to_markers(grounding))
            if self.detections_pub is not None:
                self.detections_pub.publish(grounding_to_detections(grounding))
        if self.config.publish_debug_image and frame is not None and self.debug_pub.get_subscription_count():
            image = draw_overlay(frame.image, grounding, result.decision)
            self.debug_pub.publish(frame_to_image(Frame(image, frame.stamp, frame.frame_id)))

    def _health(self) -> Health:
        now = now_seconds(self)
        runner = self.runner
        if runner is None:
            return Health(WARN, ["unconfigured: no policy loaded"], {"lifecycle": "unconfigured",
                                                                     "policy_errors": self.tick_errors})
        latencies = sorted(runner.inference_ms)
        health = Health(values={
            "policy": runner.policy.name,
            "image_rate_hz": runner.frames.rate(now), "image_age_s": runner.frames.age(now),
            "audio_rate_hz": runner.audio.rate(now),
            "inference_ms_median": latencies[len(latencies) // 2] if latencies else float("nan"),
            "ticks": self.ticks, "policy_errors": self.tick_errors,
            "nonfinite_outputs": runner.nonfinite_outputs, "input_errors": self.errors.total,
            "commands_not_understood": runner.not_understood, "last_not_understood": runner.last_not_understood,
            **{f"errors.{k}": v for k, v in self.errors.counts.items()},
        })
        if runner.frames.age(now) > self.config.max_input_age:
            health.raise_to(ERROR, "camera stale or missing")
        raise_for_qos(health, self.errors.counts)
        if self.tick_errors or runner.nonfinite_outputs:
            health.raise_to(ERROR, "policy errors or non-finite outputs")
        if self.errors.total:
            health.raise_to(WARN, f"{self.errors.total} malformed inputs dropped")
        health.values["lifecycle"] = "active" if self.active else "inactive"
        if not self.active:
            health.raise_to(WARN, "inactive: no decisions, no proposals")
        return health

    def shutdown_hook(self) -> None:
        """A last zero proposal, delivered before the process ends (R13); an inactive node sent
        its last zero when it was deactivated."""
        with self.lock:
            if self.active:
                self._last_zero()


def main(args=None) -> int:
    return run_node(FusionNode, args, events=True)


if __name__ == "__main__":
    raise SystemExit(main())
