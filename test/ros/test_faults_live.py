"""Fault injection on the live graph, real DDS (R1-R3, R8, R9, R12, R19, convention 12).

Floods of junk with a stop in the middle, random text with the fusion policy, a stalled, a
killed fusion node, a stopped camera, images stamped in the future and the past, decisions
nested a thousand deep. Each asserts: zero ``cmd_vel`` within 0.6 s, no motion on stale data or
junk, and motion again on the next valid command.

CI runs one trial of each; ``MM_ROBOT_FAULT_TRIALS=20 MM_ROBOT_RANDOM_TEXTS=10000`` runs the long
version. The latencies themselves are measured by ``scripts/bench_safety.py`` (README).
"""

from __future__ import annotations

import json
import os
import random
import signal
import string
import subprocess
import sys
import time

import numpy as np
import pytest
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import String

from mm_robot.bringup.graph import NodeSpec
from mm_robot.core.records import Frame
from mm_robot.ros import qos
from mm_robot.ros.conversions import camera_info_for, frame_to_image
from mm_robot.ros.probe import Probe, start_graph
from mm_robot.sources.synthetic_scene import SyntheticScene, parse_scene

pytestmark = pytest.mark.ros

TRIALS = int(os.environ.get("MM_ROBOT_FAULT_TRIALS", "1"))
RANDOM_TEXTS = int(os.environ.get("MM_ROBOT_RANDOM_TEXTS", "300"))
ZERO_WITHIN = 0.6
SCENE = "red ball 3.0 0.5; blue box 3.0 -1.0"  # the ball left of centre: "go" means a left turn


@pytest.fixture(scope="module")
def graph(module_domain_id):
    """The camera does not move with cmd_vel, so a go command turns the robot for as long as it lasts."""
    specs = [NodeSpec("safety_controller_node", "safety_controller_node"),
             NodeSpec("camera_node", "camera_node", {"synthetic_scene": SCENE, "synthetic_drive": False}),
             NodeSpec("fusion_node", "fusion_node", {"policy": "fusion", "use_audio": False})]
    supervisor = start_graph(specs)
    probe = Probe(module_domain_id)
    assert probe.wait_for(lambda: len(probe.decisions) > 5 and probe.command_pub.get_subscription_count() >= 2,
                          60.0), "graph did not come up"
    yield supervisor, probe
    probe.close()
    supervisor.stop()


def process(supervisor, name: str) -> subprocess.Popen:
    return next(r.process for r in supervisor.running if r.spec.name == name)


def moves(sample) -> bool:
    return sample.linear != 0.0 or sample.angular != 0.0


def go(probe: Probe, timeout: float = 20.0) -> float:
    t0 = probe.say("go to the red ball")
    assert probe.wait_for(lambda: any(s.time >= t0 and moves(s) for s in probe.cmd_vel), timeout), \
        "no motion on a valid go command"
    return t0


def assert_zero_within(probe: Probe, t0: float, what: str, bound: float = ZERO_WITHIN) -> float:
    delay = probe.first_zero_after(t0, 3.0)
    assert delay is not None and delay <= bound, f"{what}: first zero after {delay} s"
    return t0 + delay


def assert_still(probe: Probe, since: float, until: float, what: str) -> None:
    probe.wait_for(lambda: any(s.time > until for s in probe.cmd_vel), until - time.monotonic() + 2.0)
    moving = [s for s in probe.samples_since(since) if s.time <= until and moves(s)]
    assert not moving, f"{what}: moved {len(moving)} times, first {moving[0]}"


def flood(domain: int, kind: str, seconds: float, stop_at: float | None, seed: int) -> subprocess.Popen:
    args = [sys.executable, "-m", "mm_robot.ros.flood", "--rate", "2000", "--seconds", str(seconds),
            "--kind", kind, "--seed", str(seed)] + (["--stop-at", str(stop_at)] if stop_at is not None else [])
    return subprocess.Popen(args, env=dict(os.environ, ROS_DOMAIN_ID=str(domain)), stdout=subprocess.PIPE, text=True)


def finished(flooder: subprocess.Popen) -> dict:
    out, _ = flooder.communicate(timeout=60)
    return json.loads(out.strip().splitlines()[-1])


def _random_text(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.4:
        return "".join(rng.choice(string.printable[:95]) for _ in range(rng.randint(1, 80)))
    if kind < 0.8:
        return " ".join("".join(rng.choice("bcdfghjklmnprstvwz") + rng.choice("aeiou")
                                for _ in range(rng.randint(1, 4))) for _ in range(rng.randint(1, 8)))
    return "".join(chr(rng.randint(0x20, 0x2FFF)) for _ in range(rng.randint(1, 30)))


def test_random_text_never_moves_the_robot(graph):
    """First in the module: no command yet, no stop latched, so only the command language stands
    between the junk and the wheels (the fusion policy, a red ball in plain view)."""
    _, probe = graph
    rng = random.Random(2)
    t0 = time.monotonic()
    start = len(probe.decisions)
    for _ in range(RANDOM_TEXTS):
        probe.say(_random_text(rng))
        time.sleep(0.005)
    assert_still(probe, t0, time.monotonic() + 1.0, "random text")
    with probe.lock:
        recent = probe.decisions[start:]
    assert recent and not any(d["linear"] or d["angular"] for d in recent)
    assert any(d["action"] == "not_understood" for d in recent)
    assert probe.wait_for(lambda: int(probe.latest_diagnostic("fusion_node")[3]
                                      .get("commands_not_understood", 0)) > 0, 5.0)


@pytest.mark.parametrize("kind", ["invalid", "plausible"])
def test_a_stop_inside_a_flood_is_never_lost(graph, module_domain_id, kind):
    _, probe = graph
    for trial in range(TRIALS):
        go(probe)
        flooder = flood(module_domain_id, kind, seconds=2.5, stop_at=1.0, seed=trial)
        report = finished(flooder)
        assert report["stop_sent"] is not None and report["rate"] > 1000, report
        zero = assert_zero_within(probe, report["stop_sent"], f"{kind} flood, trial {trial}")
        assert_still(probe, zero, report["end"] + 1.0, "junk after the stop released it")
        go(probe)  # a valid go command releases the stop


def test_a_stop_from_a_second_publisher_inside_a_flood(graph, module_domain_id):
    _, probe = graph
    for trial in range(TRIALS):
        go(probe)
        flooder = flood(module_domain_id, "invalid", seconds=2.0, stop_at=None, seed=10 + trial)
        time.sleep(1.2)
        t_stop = probe.say("stop")
        report = finished(flooder)
        zero = assert_zero_within(probe, t_stop, f"second publisher, trial {trial}")
        assert_still(probe, zero, report["end"] + 1.0, "after the stop")
        go(probe)


def test_decisions_nested_a_thousand_deep_are_counted_not_raised(graph):
    supervisor, probe = graph
    publisher = probe.node.create_publisher(String, "decision", qos.RELIABLE)
    deep = "[" * 5000 + "]" * 5000

    def counts():
        entry = probe.latest_diagnostic("safety_controller_node")
        return entry[3] if entry else {}

    deadline = time.monotonic() + 15.0
    while "errors.decision.json_depth" not in counts() and time.monotonic() < deadline:
        publisher.publish(String(data=deep))
        publisher.publish(String(data='{"stamp": ' + "[" * 2000 + "]" * 2000 + "}"))
        time.sleep(0.2)
    assert "errors.decision.json_depth" in counts(), counts()
    assert process(supervisor, "safety_controller_node").poll() is None
    t_stop = probe.say("stop")
    assert_zero_within(probe, t_stop, "stop after nested JSON")


def test_a_command_publisher_with_incompatible_qos_is_an_error_on_diagnostics(graph):
    """A best-effort publisher cannot reach a reliable subscription: say so, do not fail silently (R10)."""
    from rclpy.event_handler import PublisherEventCallbacks
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    _, probe = graph
    publisher = probe.node.create_publisher(
        String, "command", QoSProfile(depth=10, reliability=ReliabilityPolicy.BEST_EFFORT),
        event_callbacks=PublisherEventCallbacks(incompatible_qos=lambda info: None))  # the test knows
    try:
        for node in ("safety_controller_node", "fusion_node"):
            assert probe.wait_for(lambda node=node: (probe.latest_diagnostic(node) or (0, 0, "", {}))[3]
                                  .get("errors.command.qos_incompatible") is not None
                                  and probe.latest_diagnostic(node)[1] == 2, 10.0), probe.latest_diagnostic(node)
    finally:
        probe.node.destroy_publisher(publisher)


def test_a_stalled_fusion_node_stops_the_robot_and_a_resumed_one_moves_it_again(graph):
    supervisor, probe = graph
    fusion = process(supervisor, "fusion_node")
    for trial in range(TRIALS):
        go(probe)
        fusion.send_signal(signal.SIGSTOP)
        t_stall = time.monotonic()
        try:
            zero = assert_zero_within(probe, t_stall, f"fusion stalled, trial {trial}")
            assert_still(probe, zero, zero + 1.5, "while fusion is stalled")
        finally:
            fusion.send_signal(signal.SIGCONT)
        go(probe)


def test_a_stopped_camera_stops_the_robot(graph):
    supervisor, probe = graph
    camera = process(supervisor, "camera_node")
    for trial in range(TRIALS):
        go(probe)
        camera.send_signal(signal.SIGSTOP)
        t_stop = time.monotonic()
        try:
            zero = assert_zero_within(probe, t_stop, f"camera stopped, trial {trial}")
            assert_still(probe, zero, zero + 1.5, "while the camera is stopped")
        finally:
            camera.send_signal(signal.SIGCONT)
        go(probe)


def test_a_killed_fusion_node_stops_the_robot(graph):
    """Last: the graph does not recover from it."""
    supervisor, probe = graph
    go(probe)
    process(supervisor, "fusion_node").send_signal(signal.SIGKILL)
    t_kill = time.monotonic()
    zero = assert_zero_within(probe, t_kill, "fusion killed")
    assert_still(probe, zero, zero + 2.0, "after fusion died")


def test_images_stamped_in_the_future_or_the_past_never_move_the_robot(domain_id):
    """The probe is the camera: frames and camera_info stamped 2 s ago or 5 s ahead are refused;
    fresh ones drive; a stale one mid-motion stops the robot."""
    specs = [NodeSpec("safety_controller_node", "safety_controller_node"),
             NodeSpec("fusion_node", "fusion_node", {"policy": "baseline", "use_audio": False})]
    supervisor = start_graph(specs)
    probe = Probe(domain_id)
    image_pub = probe.node.create_publisher(Image, "camera/image_raw", qos.SENSOR_PUB)
    info_pub = probe.node.create_publisher(CameraInfo, "camera/camera_info", qos.SENSOR_PUB)
    view = SyntheticScene(parse_scene(SCENE)).render()

    def send(offset: float, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            stamp = probe.node.get_clock().now().nanoseconds * 1e-9 + offset
            frame = Frame(view, stamp, "camera_optical_frame")
            image_pub.publish(frame_to_image(frame))
            info_pub.publish(camera_info_for(frame, np.radians(60.0)))
            time.sleep(1 / 15)

    try:
        assert probe.wait_for(lambda: image_pub.get_subscription_count() > 0
                              and probe.command_pub.get_subscription_count() >= 2, 30.0)
        t0 = probe.say("go to the red ball")
        for offset in (-2.0, 5.0):
            send(offset, 2.0)
        assert_still(probe, t0, time.monotonic(), "images stamped in the past or the future")
        send(0.0, 1.0)
        t_go = go(probe)
        send(0.0, 0.5)
        assert any(moves(s) for s in probe.samples_since(t_go)), "fresh frames did not drive"
        t_stale = time.monotonic()
        send(-2.0, 1.5)
        zero = assert_zero_within(probe, t_stale, "frames turned stale mid-motion")
        assert_still(probe, zero, time.monotonic(), "on stale frames")
    finally:
        probe.close()
        supervisor.stop()
