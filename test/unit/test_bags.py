"""Bags (mm_robot.bags): rosbag2 MCAP written with rosbags reads back byte-exact with rclpy's CDR,
through rosbags and through the mcap library; the replay comparison's rules."""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest
from conftest import require

from mm_robot.bags.compare import FrameDecision, agree, compare, frame_decisions, iou, summary
from mm_robot.bags.store import BagError, BagMessage, BagWriter, bag_topics, decode, decode_text, read_bag, write_bag

serialization = pytest.importorskip("rclpy.serialization")


def _messages():
    from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
    from geometry_msgs.msg import Twist
    from sensor_msgs.msg import CameraInfo, Image
    from std_msgs.msg import String
    image = Image(height=4, width=6, encoding="rgb8", step=18,
                  data=np.random.default_rng(0).integers(0, 256, 72, dtype=np.uint8).tobytes())
    image.header.stamp.sec, image.header.stamp.nanosec, image.header.frame_id = 12, 345, "camera_optical_frame"
    info = CameraInfo(width=6, height=4, distortion_model="plumb_bob", d=[0.0] * 5)
    info.k[0], info.k[4], info.k[8] = 5.2, 5.2, 1.0
    twist = Twist()
    twist.linear.x, twist.angular.z = 0.25, -0.5
    status = DiagnosticStatus(level=b"\x01", name="fusion_node", message="ok",
                              values=[KeyValue(key="ticks", value="3")])
    return [("/camera/image_raw", "sensor_msgs/msg/Image", image), ("/camera/camera_info",
            "sensor_msgs/msg/CameraInfo", info), ("/cmd_vel", "geometry_msgs/msg/Twist", twist),
            ("/decision", "std_msgs/msg/String", String(data=json.dumps({"action": "forward", "note": "é"}))),
            ("/diagnostics", "diagnostic_msgs/msg/DiagnosticArray", DiagnosticArray(status=[status]))]


@pytest.fixture
def bag(tmp_path):
    originals = _messages()
    messages = [BagMessage(topic, msgtype, 1_000 + i, serialization.serialize_message(msg))
                for i, (topic, msgtype, msg) in enumerate(originals)]
    path = write_bag(tmp_path / "bag", messages, {"/camera/image_raw": "sensor"})
    return path, originals, messages


def test_rosbags_reads_back_rclpys_cdr_byte_for_byte(bag):
    path, originals, written = bag
    read = list(read_bag(path))
    assert [(m.topic, m.msgtype, m.time_ns) for m in read] == [(m.topic, m.msgtype, m.time_ns) for m in written]
    assert [m.data for m in read] == [m.data for m in written]
    for message, (_topic, _type, original) in zip(read, originals):
        assert serialization.deserialize_message(message.data, type(original)) == original
    assert decode(read[0]).header.frame_id == "camera_optical_frame"
    assert json.loads(decode_text(read[3]))["note"] == "é"
    assert bag_topics(path)["/camera/image_raw"] == ("sensor_msgs/msg/Image", 1)


def test_the_mcap_library_reads_the_same_bytes_and_decodes_them(bag):
    require(importlib.util.find_spec("mcap_ros2") is not None,
            "mcap-ros2-support is not installed (pip install -e '.[test]'; scripts/setup.sh does it)")
    import mcap.reader as mcap_reader
    import mcap_ros2.decoder as decoder
    path, originals, written = bag
    files = list(path.glob("*.mcap"))
    assert len(files) == 1 and (path / "metadata.yaml").is_file()  # rosbag2's layout
    with open(files[0], "rb") as stream:
        reader = mcap_reader.make_reader(stream, decoder_factories=[decoder.DecoderFactory()])
        assert reader.get_header().profile == "ros2"
        assert {c.compression for c in reader.get_summary().chunk_indexes} == {"zstd"}
        decoded = list(reader.iter_decoded_messages())
    assert [m.data for _s, _c, m, _d in decoded] == [m.data for m in written]
    assert [c.message_encoding for _s, c, _m, _d in decoded] == ["cdr"] * len(written)
    image = decoded[0][3]
    assert bytes(image.data) == bytes(originals[0][2].data) and image.header.stamp.nanosec == 345
    assert decoded[2][3].angular.z == -0.5
    assert decoded[4][3].status[0].values[0].key == "ticks"


def test_a_bag_is_never_overwritten_and_a_non_bag_is_refused(bag, tmp_path):
    path, _, _ = bag
    with pytest.raises(BagError, match="exists"):
        BagWriter(path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(BagError, match="not a rosbag2 bag"):
        list(read_bag(tmp_path / "empty"))
    with BagWriter(tmp_path / "other") as writer, pytest.raises(BagError, match="type store"):
        writer.add_topic("/x", "nope_msgs/msg/Nothing")


def _decision(stamp, action, reason="red ball at +3 deg"):
    return json.dumps({"stamp": stamp, "action": action, "reason": reason})


def _grounding(stamp, box):
    return json.dumps({"stamp": stamp, "target": {"box": box} if box else None})


def test_iou():
    assert iou([0, 0, 10, 10], [0, 0, 10, 10]) == 1.0
    assert iou([0, 0, 10, 10], [5, 0, 15, 10]) == pytest.approx(50 / 150)
    assert iou([0, 0, 10, 10], [20, 20, 30, 30]) == 0.0


def test_frames_match_by_stamp_and_the_last_decision_on_a_frame_counts():
    frames = frame_decisions(
        [_decision(1.0, "idle"), _decision(1.0, "forward"), _decision(2.0, "stop", "camera frame 0.60 s old"),
         _decision(3.0, "stop", "no camera frame yet"), "not json", _decision(1.0000001, "forward")],
        [_grounding(1.0, [1, 2, 3, 4]), "[]"])
    assert list(frames.values()) == [FrameDecision(1.0000001, "forward", (1, 2, 3, 4), "red ball at +3 deg")]


def test_agreement_needs_the_same_action_and_a_close_box():
    a = FrameDecision(1.0, "forward", (0, 0, 100, 100))
    assert agree(a, FrameDecision(1.0, "forward", (0, 0, 100, 95)))  # IoU 0.95
    assert not agree(a, FrameDecision(1.0, "forward", (0, 0, 100, 85)))  # IoU 0.85
    assert not agree(a, FrameDecision(1.0, "search", (0, 0, 100, 100)))
    assert not agree(a, FrameDecision(1.0, "forward", None))
    assert agree(FrameDecision(1.0, "search", None), FrameDecision(1.0, "search", None))


def test_compare_reports_agreement_coverage_and_the_first_divergence():
    recorded = frame_decisions([_decision(t, "forward") for t in (1.0, 2.0, 3.0, 4.0)],
                               [_grounding(t, [0, 0, 10, 10]) for t in (1.0, 2.0, 3.0, 4.0)])
    replayed = frame_decisions([_decision(1.0, "forward"), _decision(3.0, "search"), _decision(4.0, "forward"),
                                _decision(5.0, "forward")],
                               [_grounding(1.0, [0, 0, 10, 10]), _grounding(4.0, [0, 0, 10, 10])])
    report = compare(recorded, replayed)
    assert (report["recorded_frames"], report["matched_frames"], report["agreeing_frames"]) == (4, 3, 2)
    assert report["agreement"] == pytest.approx(2 / 3) and report["coverage"] == 0.75
    assert report["first_divergence"]["stamp"] == 3.0
    assert report["first_divergence"]["replayed"]["action"] == "search"
    assert "first divergence at stamp 3.000" in summary(report)
    assert compare(recorded, recorded)["first_divergence"] is None
    partial = compare(recorded, replayed, sent=[1.0, 3.0, 4.0])  # the bag missed the image of 2.0
    assert (partial["recorded_frames"], partial["recorded_without_image"], partial["coverage"]) == (3, 1, 1.0)
