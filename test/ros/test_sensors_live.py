"""Live sensor paths: microphone_node's self-describing audio, and JPEG transport into fusion_node."""

import json
import time

import pytest
from sensor_msgs.msg import Image
from std_msgs.msg import String

from mm_robot.bringup.graph import NodeSpec
from mm_robot.core.validation import InputLimits
from mm_robot.ros import qos
from mm_robot.ros.conversions import audio_to_chunk, parse_audio_info
from mm_robot.ros.probe import Probe, start_graph

pytestmark = pytest.mark.ros


def test_microphone_publishes_latched_info_and_decodable_chunks(domain_id):
    supervisor = start_graph([NodeSpec("microphone_node", "microphone_node",
                                       {"rate": 16000, "channels": 2, "chunk_seconds": 0.05,
                                        "sample_format": "s16"})])
    probe = Probe(domain_id)
    infos, chunks = [], []
    try:
        probe.node.create_subscription(String, "audio/info", lambda m: infos.append(m.data), qos.LATCHED)
        probe.node.create_subscription(Image, "audio/raw", lambda m: chunks.append(m), qos.SENSOR)
        assert probe.wait_for(lambda: infos and len(chunks) >= 5, 20.0)
        info = parse_audio_info(infos[0])
        assert (info["rate"], info["channels"], info["format"], info["chunk_frames"]) == (16000, 2, "s16", 800)
        chunk = audio_to_chunk(chunks[-1], info["rate"], InputLimits())
        assert chunk.samples.shape == (800, 2) and chunk.duration == pytest.approx(0.05)
        now = probe.node.get_clock().now().nanoseconds * 1e-9
        assert 0 < now - chunk.stamp < 2.0
    finally:
        probe.close()
        supervisor.stop()


def test_fusion_grounds_from_compressed_images(domain_id):
    supervisor = start_graph([
        NodeSpec("camera_node", "camera_node", {"publish_compressed": True, "synthetic_drive": False,
                                                "synthetic_scene": "red ball 2.5 0.5; blue box 3 -1"}),
        NodeSpec("fusion_node", "fusion_node", {"image_transport": "compressed", "use_audio": False})])
    probe = Probe(domain_id)
    groundings = []
    try:
        probe.node.create_subscription(String, "perception/grounding",
                                       lambda m: groundings.append(json.loads(m.data)), qos.RELIABLE)
        assert probe.wait_for(lambda: probe.command_pub.get_subscription_count() > 0
                              and len(probe.decisions) > 3, 30.0)
        time.sleep(0.5)
        probe.say("go to the red ball")
        assert probe.wait_for(lambda: any(g["target"] for g in groundings), 10.0)
        target = next(g for g in groundings if g["target"])
        assert target["target"]["label"] == "red ball" and target["target"]["bearing"] > 0
        assert target["schema"] == "mm_robot/grounding/1" and target["frame_id"] == "camera_optical_frame"
    finally:
        probe.close()
        supervisor.stop()


def test_unavailable_camera_counts_open_attempts_not_ticks(domain_id, tmp_path):
    """15 Hz ticks, but opens are retried after 0.5, 1, 2, 4 s: ~4 attempts in 4 s, not ~60 errors."""
    supervisor = start_graph([NodeSpec("camera_node", "camera_node",
                                       {"source": str(tmp_path / "no_such_camera.avi"), "rate_hz": 15.0})])
    probe = Probe(domain_id)
    try:
        def capture_errors() -> int:
            entry = probe.latest_diagnostic("camera_node")
            return int(entry[3]["capture_errors"]) if entry else 0

        assert probe.wait_for(lambda: capture_errors() >= 2, 20.0), "no failed open attempts reported"
        first_seen = time.monotonic()
        time.sleep(2.5)
        errors = capture_errors()
        entry = probe.latest_diagnostic("camera_node")
        assert entry[1] == 2 and "cannot open" in entry[2]  # ERROR: no frames at all
        # By now the node has ticked ~60 times; with 0.5/1/2/4 s backoff it made at most 5 attempts.
        assert 3 <= errors <= 5, f"{errors} capture errors {time.monotonic() - first_seen:.1f} s later"
    finally:
        probe.close()
        supervisor.stop()
