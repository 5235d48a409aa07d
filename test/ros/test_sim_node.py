"""sim_node with real DDS: scenario playback, lockstep pacing, sensors, odometry, clock,
result/video/trajectory outputs, TwistStamped input and clean shutdown."""

from __future__ import annotations

import json
import math
import signal
import threading
import time

import pytest
import yaml
from diagnostic_msgs.msg import DiagnosticArray
from geometry_msgs.msg import Twist, TwistStamped
from nav_msgs.msg import Odometry
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import String

from mm_robot.bringup.graph import NodeSpec
from mm_robot.ros import qos
from mm_robot.ros.probe import BackgroundNode, start_graph

pytestmark = pytest.mark.ros
pytest.importorskip("mujoco")

SCENARIO = {
    "schema": "mm_robot/scenario/1", "name": "ros_goto",
    "scene": {"arena_size": 6, "robot": {"x": 0, "y": 0, "yaw": 0},
              "randomise": {"seed": 4},
              "objects": [{"name": "ball", "colour": "red", "shape": "ball", "x": 1.7, "y": 0.3},
                          {"name": "box", "colour": "blue", "shape": "box", "x": 1.2, "y": -1.3}]},
    "timeline": [{"t": 0.3, "text": "go to the red ball"}],
    "criteria": {"expect": "reach", "targets": ["ball"], "time_limit": 25},
}


class SimProbe:
    """Test-side node. With ``drive=True`` it plays the policy: steers toward the red ball from
    sim/ground_truth and answers every frame with a decision stamped with that frame's time."""

    def __init__(self, domain_id: int, drive: bool, stamped: bool = False) -> None:
        self._background = BackgroundNode("sim_probe", domain_id)
        self.node = self._background.node
        self.lock = threading.Lock()
        self.images, self.infos, self.odoms, self.clocks, self.commands, self.truths = [], [], [], [], [], []
        self.diagnostics: list[dict] = []
        self.drive = drive
        n = self.node
        n.create_subscription(Image, "camera/image_raw", lambda m: self._add(self.images, m), qos.SENSOR)
        n.create_subscription(CameraInfo, "camera/camera_info", lambda m: self._add(self.infos, m), qos.SENSOR)
        n.create_subscription(Odometry, "odom", lambda m: self._add(self.odoms, m), qos.RELIABLE)
        n.create_subscription(Clock, "/clock", lambda m: self._add(self.clocks, m), qos.RELIABLE)
        n.create_subscription(String, "command", lambda m: self._add(self.commands, m.data), qos.RELIABLE)
        n.create_subscription(String, "sim/ground_truth", self._on_truth, qos.RELIABLE)
        n.create_subscription(DiagnosticArray, "/diagnostics", self._on_diagnostics, 10)
        self.cmd_pub = n.create_publisher(TwistStamped if stamped else Twist, "cmd_vel", qos.COMMAND_VELOCITY)
        self.decision_pub = n.create_publisher(String, "decision", qos.RELIABLE)
        self._background.start()

    def _add(self, bucket: list, item) -> None:
        with self.lock:
            bucket.append(item)

    def _on_diagnostics(self, msg: DiagnosticArray) -> None:
        for status in msg.status:
            if status.name.endswith("sim_node"):
                self._add(self.diagnostics, {kv.key: kv.value for kv in status.values})

    def diagnostic(self, key: str):
        """Latest sim_node diagnostic value of ``key`` (call under ``lock``)."""
        return self.diagnostics[-1].get(key) if self.diagnostics else None

    def _on_truth(self, msg: String) -> None:
        truth = json.loads(msg.data)
        self._add(self.truths, truth)
        if not self.drive:
            return
        linear = angular = 0.0
        action = "idle"
        if self.commands:
            ball = next(o for o in truth["objects"] if o["label"] == "red ball")
            bearing, gap = ball["bearing"], ball["clearance"]
            if gap <= 0.45 and abs(bearing) < 0.15:
                action = "arrived"
            else:
                angular = max(-1.0, min(1.0, 2.0 * bearing))
                linear = 0.3 if abs(bearing) < 0.3 and gap > 0.45 else 0.0
                action = "forward" if linear else "turn"
        twist = Twist()
        twist.linear.x, twist.angular.z = linear, angular
        self.cmd_pub.publish(twist)
        self.decision_pub.publish(String(data=json.dumps({"action": action, "stamp": truth["time"]})))

    def send(self, linear: float, angular: float) -> None:
        msg = TwistStamped()
        msg.twist.linear.x, msg.twist.angular.z = linear, angular
        self.cmd_pub.publish(msg)

    def count(self, bucket: list) -> int:
        with self.lock:
            return len(bucket)

    def wait_for(self, predicate, timeout: float) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self.lock:
                if predicate():
                    return True
            time.sleep(0.02)
        return False

    def close(self) -> None:
        self._background.close()


def wait_exit(process, timeout: float):
    try:
        return process.wait(timeout=timeout)
    except Exception:
        return None


def test_lockstep_run_reaches_the_ball_and_writes_the_outputs(domain_id, tmp_path):
    scenario = tmp_path / "ros_goto.yaml"
    scenario.write_text(yaml.safe_dump(SCENARIO))
    out = tmp_path / "out"
    probe = SimProbe(domain_id, drive=True)
    supervisor = start_graph([NodeSpec("sim_node", "sim_node", {
        "scenario": str(scenario), "mode": "lockstep", "rate_hz": 10.0, "output_dir": str(out),
        "video": "gif", "lockstep_timeout": 5.0})])
    try:
        process = supervisor.running[0].process
        code = wait_exit(process, 90.0)
        assert code == 0, f"sim_node did not finish the scenario (exit {code})"
    finally:
        supervisor.stop()
        probe.close()
    result = json.loads((out / "ros_goto" / "result.json").read_text())
    assert result["success"], result["reasons"]
    # The run may end before the first 1 Hz diagnostic: the result carries the count too.
    assert result["lockstep_misses"] == 0
    assert all(d["lockstep_misses"] == "0" for d in probe.diagnostics)
    assert result["mode"] == "lockstep" and result["reported"] == "arrived"
    assert result["final_distance"] <= 0.8 and result["collisions"] == 0
    assert (out / "ros_goto" / "camera.gif").stat().st_size > 1000
    assert (out / "ros_goto" / "trajectory.png").stat().st_size > 1000
    # The timeline was played once, at its time, on `command`.
    assert probe.commands == ["go to the red ball"]
    # Sensors: sized and calibrated like the scenario camera, stamped with sim time.
    image, info = probe.images[-1], probe.infos[-1]
    assert (image.width, image.height, image.encoding) == (320, 240, "rgb8")
    assert info.k[0] == pytest.approx(160.0 / math.tan(math.radians(30.0)), rel=1e-6)
    stamps = [c.clock.sec + c.clock.nanosec * 1e-9 for c in probe.clocks]
    assert stamps == sorted(stamps) and stamps[-1] > 2.0
    # One ground-truth message per 0.1 s step of sim time, none skipped.
    times = [t["time"] for t in probe.truths]
    assert all(b - a == pytest.approx(0.1, abs=1e-6) for a, b in zip(times, times[1:]))
    # Odometry starts at the origin of the odom frame and follows the drive toward +x.
    assert probe.odoms[0].pose.pose.position.x == pytest.approx(0.0, abs=1e-6)
    assert probe.odoms[-1].pose.pose.position.x > 0.5


def test_realtime_twist_stamped_moves_the_robot_and_sigint_writes_the_trajectory(domain_id, tmp_path):
    out = tmp_path / "out"
    probe = SimProbe(domain_id, drive=False, stamped=True)
    supervisor = start_graph([NodeSpec("sim_node", "sim_node", {
        "seed": 3, "mode": "realtime", "cmd_vel_stamped": True, "output_dir": str(out), "video": "none"})])
    try:
        assert probe.wait_for(lambda: len(probe.odoms) > 5, 30.0), "no odometry from sim_node"
        still = probe.odoms[-1].pose.pose.position.x
        end = time.monotonic() + 1.5
        while time.monotonic() < end:
            probe.send(0.3, 0.0)
            time.sleep(0.05)
        assert probe.wait_for(lambda: probe.odoms[-1].pose.pose.position.x > still + 0.15, 5.0), \
            "TwistStamped cmd_vel did not move the robot"
        # A non-finite cmd_vel stops the base and is counted; junk JSON on decision is dropped
        # and counted (1 + 3 dropped messages).
        probe.send(float("nan"), 0.0)
        for junk in ("{not json", "[1, 2]", "x" * 2_000_000):
            probe.decision_pub.publish(String(data=junk))
        assert probe.wait_for(lambda: probe.diagnostic("invalid_cmd_vel") == "1"
                              and probe.diagnostic("dropped_messages") == "4", 10.0), str(probe.diagnostics[-1:])
        # cmd_vel goes stale: the base stops by itself (0.5 s timeout) and stays put.
        time.sleep(1.5)
        with probe.lock:
            x_then = probe.odoms[-1].pose.pose.position.x
        time.sleep(0.6)
        with probe.lock:
            assert probe.odoms[-1].pose.pose.position.x == pytest.approx(x_then, abs=1e-6)
            assert probe.odoms[-1].twist.twist.linear.x == 0.0
        process = supervisor.running[0].process
        assert process.poll() is None, "sim_node died on bad input"
        process.send_signal(signal.SIGINT)
        assert wait_exit(process, 15.0) is not None, "sim_node ignored SIGINT"
    finally:
        supervisor.stop()
        probe.close()
    assert (out / "random_3" / "trajectory.png").stat().st_size > 1000
    assert not (out / "random_3" / "result.json").exists()  # no scenario, nothing to judge


def test_lockstep_waits_for_decisions(domain_id, tmp_path):
    """Nobody answers: after the first, every step first waits lockstep_timeout for a decision
    (a miss); with a probe that answers (the first test) there are no misses."""
    scenario = tmp_path / "ros_goto.yaml"
    scenario.write_text(yaml.safe_dump(SCENARIO))
    probe = SimProbe(domain_id, drive=False)
    supervisor = start_graph([NodeSpec("sim_node", "sim_node", {
        "scenario": str(scenario), "mode": "lockstep", "rate_hz": 10.0, "lockstep_timeout": 0.2,
        "lockstep_lag": 0, "startup_timeout": 0.0, "output_dir": ""})])
    try:
        process = supervisor.running[0].process
        assert probe.wait_for(lambda: int(probe.diagnostic("lockstep_misses") or 0) >= 3, 30.0), \
            f"no lockstep misses reported (exit code {process.poll()})"
        with probe.lock:
            latest = probe.diagnostics[-1]
        assert int(latest["ticks"]) - int(latest["lockstep_misses"]) <= 2, latest
    finally:
        supervisor.stop()
        probe.close()


def test_bad_scenario_is_a_configuration_error(domain_id, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(dict(SCENARIO, criteria={"expect": "reach", "time_limit": 10})))
    supervisor = start_graph([NodeSpec("sim_node", "sim_node", {"scenario": str(bad)})])
    try:
        assert wait_exit(supervisor.running[0].process, 30.0) == 2
    finally:
        supervisor.stop()


def test_sim_node_publishes_what_the_microphones_hear(domain_id, tmp_path):
    """A beeping object to the robot's left: audio/raw decodes as 2 channels at the audio/info
    rate, chunk after chunk on sim time, and the left channel is the louder."""
    import numpy as np

    from mm_robot.core.validation import InputLimits
    from mm_robot.ros.conversions import audio_to_chunk, parse_audio_info
    scenario = tmp_path / "beeping.yaml"
    beeping = {"name": "beeper", "colour": "red", "shape": "ball", "x": 0.5, "y": 1.6,
               "sound": {"kind": "beep", "pitch_hz": 1200, "period_s": 0.3, "duty": 0.5}}
    scenario.write_text(yaml.safe_dump(dict(SCENARIO, name="beeping", scene=dict(
        SCENARIO["scene"], objects=SCENARIO["scene"]["objects"] + [beeping]))))
    probe = BackgroundNode("audio_probe", domain_id)
    chunks, infos = [], []
    probe.node.create_subscription(Image, "audio/raw", chunks.append, qos.SENSOR)
    probe.node.create_subscription(String, "audio/info", lambda m: infos.append(m.data), qos.LATCHED)
    probe.start()
    supervisor = start_graph([NodeSpec("sim_node", "sim_node", {
        "scenario": str(scenario), "mode": "realtime", "output_dir": "", "video": "none"})])
    try:
        end = time.monotonic() + 40.0
        while time.monotonic() < end and (len(chunks) < 20 or not infos):
            time.sleep(0.05)
        assert infos and len(chunks) >= 20, f"{len(infos)} audio/info, {len(chunks)} audio/raw"
    finally:
        supervisor.stop()
        probe.close()
    info = parse_audio_info(infos[-1])
    assert (info["rate"], info["channels"], info["format"]) == (16000, 2, "f32")
    decoded = [audio_to_chunk(m, info["rate"], InputLimits()) for m in chunks[:20]]
    assert all(c.samples.shape[1] == 2 and c.samples.shape[0] in (1066, 1067) for c in decoded)
    stamps = [c.stamp for c in decoded]
    assert all(0 < b - a < 0.2 for a, b in zip(stamps, stamps[1:]))  # consecutive steps of sim time
    samples = np.concatenate([c.samples for c in decoded]).astype(np.float64)
    left, right = np.sqrt(np.mean(samples ** 2, axis=0))
    assert 20 * np.log10(left / right) > 3.0
