"""Latency through the live graph over DDS: ``fusion_node`` + ``safety_controller_node`` only.

A probe in this process (its own rclpy context) is the camera and the user: it publishes a
320x240 ``camera/image_raw`` + ``camera/camera_info`` at 30 Hz, says "go to the red ball", and
swaps the red ball from one side of the view to the other every second. It records, with
wall-clock receive times, every ``decision``, ``perception/grounding``, ``cmd_vel_proposal``
and ``cmd_vel``. From those:

* image -> decision / proposal / cmd_vel: from the stamp of the first image showing the ball on
  its new side to the first message whose angular velocity turns toward that side;
* proposal -> cmd_vel (the safety path alone) for the same swaps;
* image -> grounding for every frame (the grounding carries its image's stamp);
* new command -> first grounding naming its object, the first command after start-up included;
* stop / e-stop / camera silent -> first zero ``cmd_vel``;
* CPU share (of one core) and resident memory of each node over the run.
"""

from __future__ import annotations

import json
import math
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np
from geometry_msgs.msg import Twist
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import Bool, String
from std_srvs.srv import Trigger

from ..bringup.graph import GraphOptions, NodeSpec
from ..bringup.supervisor import Supervisor
from ..core.processes import ProcessSampler
from ..core.records import Frame
from ..sources.synthetic_scene import SyntheticScene, parse_scene
from . import qos
from .conversions import camera_info_for, frame_to_image
from .probe import BackgroundNode
from .time import to_stamp

SCENE = "red ball 2.5 {y}; blue box 3.5 0.0"
SWITCH_COMMANDS = (
    ("go to the blue box", "blue box"),
    ("drive to the red ball", "red ball"),
    ("find the blue box please", "blue box"),
    ("please go to the red ball", "red ball"),
    ("head to the blue box", "blue box"),
    ("move towards the red ball", "red ball"),
)


@dataclass
class Recorded:
    """Everything the probe saw; times are ``time.time()`` seconds (the clock of image stamps)."""

    frames: list[tuple[float, int]] = field(default_factory=list)  # (stamp, side: +1 left, -1 right)
    decisions: list[tuple[float, dict]] = field(default_factory=list)
    groundings: list[tuple[float, dict]] = field(default_factory=list)
    proposals: list[tuple[float, float]] = field(default_factory=list)  # (received, angular)
    cmd_vel: list[tuple[float, float, float]] = field(default_factory=list)  # (received, linear, angular)


class GraphProbe:
    """Camera + user + recorder for one graph run. :meth:`close` when done."""

    def __init__(self, domain_id: int, width: int = 320, height: int = 240, rate_hz: float = 30.0) -> None:
        self.rate_hz = rate_hz
        hfov = math.radians(60.0)
        self.messages = {}
        for side in (1, -1):
            scene = SyntheticScene(
                parse_scene(SCENE.format(y=0.8 * side)), width=width, height=height, hfov=hfov
            )
            frame = Frame(scene.render(), 0.0, "camera_optical_frame")
            self.messages[side] = (frame_to_image(frame), camera_info_for(frame, hfov))
        self.side = 1
        self.camera_on = True
        self.seen = Recorded()
        self.lock = threading.Lock()
        self._background = BackgroundNode("bench_probe", domain_id)
        node = self.node = self._background.node
        self.image_pub = node.create_publisher(Image, "camera/image_raw", qos.SENSOR_PUB)
        self.info_pub = node.create_publisher(CameraInfo, "camera/camera_info", qos.SENSOR_PUB)
        self.command_pub = node.create_publisher(String, "command", qos.RELIABLE)
        self.estop_pub = node.create_publisher(Bool, "estop", qos.LATCHED)
        node.create_subscription(String, "decision", self._record("decisions", json.loads), qos.RELIABLE)
        node.create_subscription(
            String, "perception/grounding", self._record("groundings", json.loads), qos.RELIABLE
        )
        node.create_subscription(Twist, "cmd_vel_proposal", self._on_proposal, qos.COMMAND_VELOCITY)
        node.create_subscription(Twist, "cmd_vel", self._on_cmd_vel, qos.COMMAND_VELOCITY)
        self._running = True
        self._camera = threading.Thread(target=self._publish_camera, daemon=True)
        self._background.start()
        self._camera.start()

    def _record(self, name: str, parse: Callable[[str], dict]):
        def callback(msg: String) -> None:
            received = time.time()
            with self.lock:
                getattr(self.seen, name).append((received, parse(msg.data)))

        return callback

    def _on_proposal(self, msg: Twist) -> None:
        received = time.time()
        with self.lock:
            self.seen.proposals.append((received, msg.angular.z))

    def _on_cmd_vel(self, msg: Twist) -> None:
        received = time.time()
        with self.lock:
            self.seen.cmd_vel.append((received, msg.linear.x, msg.angular.z))

    def _publish_camera(self) -> None:
        period = 1.0 / self.rate_hz
        tick = time.monotonic()
        while self._running:
            tick += period
            time.sleep(max(0.0, tick - time.monotonic()))
            if not self.camera_on:
                continue
            side = self.side
            image, info = self.messages[side]
            stamp = time.time()
            image.header.stamp = info.header.stamp = to_stamp(stamp)
            self.image_pub.publish(image)
            self.info_pub.publish(info)
            with self.lock:
                self.seen.frames.append((stamp, side))

    def say(self, text: str) -> float:
        self.command_pub.publish(String(data=text))
        return time.time()

    def estop(self, engaged: bool) -> float:
        self.estop_pub.publish(Bool(data=engaged))
        return time.time()

    def reset_estop(self, timeout: float = 5.0) -> bool:
        client = self.node.create_client(Trigger, "estop/reset")
        if not client.wait_for_service(timeout_sec=timeout):
            return False
        future = client.call_async(Trigger.Request())
        return self.wait_for(future.done, timeout)

    def wait_for(self, predicate: Callable[[], bool], timeout: float) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self.lock:
                if predicate():
                    return True
            time.sleep(0.01)
        return False

    def moving_since(self, t: float) -> Callable[[], bool]:
        return lambda: any(r >= t and (lin or ang) for r, lin, ang in self.seen.cmd_vel)

    def first_zero_after(self, t: float, timeout: float) -> Optional[float]:
        found = self.wait_for(
            lambda: any(r >= t and lin == 0 == ang for r, lin, ang in self.seen.cmd_vel), timeout
        )
        if not found:
            return None
        with self.lock:
            return next(r for r, lin, ang in self.seen.cmd_vel if r >= t and lin == 0 == ang) - t

    def close(self) -> None:
        self._running = False
        self._camera.join(timeout=2.0)
        self._background.close()


def swap_latencies(seen: Recorded) -> tuple[int, dict[str, list[float]]]:
    """The number of swaps (first frame with the ball on its new side), and per stream the
    seconds from each swap to the first decision, proposal and cmd_vel turning toward the new
    side (swaps a stream never answered are left out), and proposal -> cmd_vel."""
    swaps = [
        (stamp, side) for (stamp, side), (_, before) in zip(seen.frames[1:], seen.frames) if side != before
    ]
    out: dict[str, list[float]] = {
        "image_to_decision": [],
        "image_to_proposal": [],
        "image_to_cmd_vel": [],
        "proposal_to_cmd_vel": [],
    }
    streams = {
        "decision": [(r, float(d.get("angular", 0.0))) for r, d in seen.decisions],
        "proposal": seen.proposals,
        "cmd_vel": [(r, ang) for r, _, ang in seen.cmd_vel],
    }
    for i, (start, side) in enumerate(swaps):
        end = swaps[i + 1][0] if i + 1 < len(swaps) else math.inf
        first = {
            name: next((r for r, ang in stream if start <= r < end and ang * side > 0), None)
            for name, stream in streams.items()
        }
        for name, t in first.items():
            if t is not None:
                out[f"image_to_{name}"].append(t - start)
        if first["proposal"] is not None and first["cmd_vel"] is not None:
            out["proposal_to_cmd_vel"].append(first["cmd_vel"] - first["proposal"])
    return len(swaps), out


def summary_ms(seconds: list[float]) -> dict:
    if not seconds:
        return {"n": 0}
    ms = np.asarray(seconds) * 1e3
    return {
        "n": int(ms.size),
        **{f"p{q}": round(float(np.percentile(ms, q)), 1) for q in (50, 90, 99)},
        "max": round(float(ms.max()), 1),
    }


def _command_latency(probe: GraphProbe, text: str, label: str, timeout: float) -> Optional[float]:
    """Say ``text``; seconds to the first grounding naming ``label``."""
    t = probe.say(text)

    def hit() -> bool:
        return any(r >= t and label in str(g.get("phrase", "")) for r, g in probe.seen.groundings)
    if not probe.wait_for(hit, timeout):
        return None
    with probe.lock:
        return next(r for r, g in probe.seen.groundings if r >= t and label in str(g.get("phrase", ""))) - t


def _safety_trials(probe: GraphProbe, trials: int) -> dict[str, list[float]]:
    """stop word, e-stop, camera silent -> first zero cmd_vel, each from motion toward the ball."""
    out: dict[str, list[float]] = {"stop": [], "estop": [], "camera_silent": []}
    for _ in range(trials):
        for kind in out:
            if not probe.wait_for(probe.moving_since(probe.say("go to the red ball")), 10.0):
                continue
            time.sleep(0.3)
            if kind == "stop":
                t = probe.say("stop")
            elif kind == "estop":
                t = probe.estop(True)
            else:
                probe.camera_on = False
                t = time.time()
            delay = probe.first_zero_after(t, 3.0)
            if delay is not None:
                out[kind].append(delay)
            if kind == "estop":
                probe.estop(False)
                probe.reset_estop()
            probe.camera_on = True
            time.sleep(0.3)
    return out


def run_policy(
    policy: str,
    domain_id: int,
    swaps: int,
    trials: int,
    log_path,
    checkpoint: str = "",
    startup_timeout: float = 90.0,
) -> dict:
    """One graph (safety controller + fusion node running ``policy``), measured as the module says."""
    specs = [
        NodeSpec("safety_controller_node", "safety_controller_node"),
        NodeSpec(
            "fusion_node",
            "fusion_node",
            {"policy": policy, "use_audio": False, **({"checkpoint": checkpoint} if checkpoint else {})},
        ),
    ]
    import os

    env = {**os.environ, "ROS_DOMAIN_ID": str(domain_id)}
    with open(log_path, "w") as log:
        supervisor = Supervisor(specs, GraphOptions(), log=lambda _: None, env=env, output=log)
        supervisor.start()
        probe = GraphProbe(domain_id)
        sampler = ProcessSampler({r.spec.name: r.process.pid for r in supervisor.running})
        try:
            started = time.time()
            if not probe.wait_for(lambda: len(probe.seen.decisions) > 3, startup_timeout):
                raise RuntimeError(
                    f"fusion_node ({policy}) sent no decision in {startup_timeout:.0f} s; see {log_path}"
                )
            result: dict = {"policy": policy, "ready_s": round(time.time() - started, 1)}
            probe.wait_for(lambda: probe.node.count_publishers("perception/grounding") > 0, 10.0)
            time.sleep(1.0)  # the grounding writer matches our reader: its first message is not lost
            first = _command_latency(probe, "go to the red ball", "red ball", 10.0)
            sampler.start()
            for _ in range(swaps):
                time.sleep(1.0)
                probe.side = -probe.side
            time.sleep(0.5)
            result["resources"] = sampler.stop()
            later = [_command_latency(probe, text, label, 5.0) for text, label in SWITCH_COMMANDS]
            with probe.lock:
                n_swaps, swaps_seen = swap_latencies(probe.seen)
                stamps = [(r - float(g["stamp"])) for r, g in probe.seen.groundings if g.get("stamp")]
                sent = len(probe.seen.frames)
            safety = _safety_trials(probe, trials)
        finally:
            probe.close()
            supervisor.stop()
    result["swaps"] = n_swaps
    result["latency_ms"] = {k: summary_ms(v) for k, v in swaps_seen.items()}
    result["latency_ms"]["image_to_grounding"] = summary_ms(stamps)
    result["raw_s"] = {k: [round(x, 4) for x in v] for k, v in swaps_seen.items()}
    result["command_to_grounding_ms"] = {
        "first_after_start": None if first is None else round(first * 1e3, 1),
        "later": summary_ms([t for t in later if t is not None]),
        "missed": sum(t is None for t in later),
    }
    result["safety_ms"] = {k: summary_ms(v) for k, v in safety.items()}
    result["frames_published"] = sent
    return result
