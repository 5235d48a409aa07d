"""Message conversions: round trips and malformed messages (convention 5, R6, R7)."""

import math

import numpy as np
import pytest
from geometry_msgs.msg import TwistStamped
from sensor_msgs.msg import CompressedImage, Image

from mm_robot.core.records import AudioChunk, Frame, Twist2D
from mm_robot.core.validation import InputLimits
from mm_robot.ros.conversions import (
    ConversionError,
    audio_info_json,
    audio_to_chunk,
    box_to_roi,
    camera_info_for,
    chunk_to_audio,
    compressed_to_frame,
    frame_to_compressed,
    frame_to_image,
    image_to_frame,
    parse_audio_info,
    twist_from_msg,
    twist_stamped_to_msg,
    twist_to_msg,
)
from mm_robot.ros.time import to_seconds, to_stamp

LIMITS = InputLimits()


def random_frame(h=24, w=32, seed=0) -> Frame:
    rng = np.random.default_rng(seed)
    return Frame(rng.integers(0, 256, (h, w, 3), dtype=np.uint8), 1234.5, "cam")


@pytest.mark.parametrize("encoding", ["rgb8", "bgr8"])
def test_image_round_trip(encoding):
    frame = random_frame()
    back = image_to_frame(frame_to_image(frame, encoding), LIMITS)
    np.testing.assert_array_equal(back.image, frame.image)
    assert back.stamp == pytest.approx(frame.stamp) and back.frame_id == "cam"


def test_padded_rows_and_mono_are_read():
    msg = Image(height=2, width=3, encoding="mono8", step=4)
    msg.data = bytes([1, 2, 3, 0, 4, 5, 6, 0])
    frame = image_to_frame(msg, LIMITS)
    assert frame.image.shape == (2, 3, 3)
    np.testing.assert_array_equal(frame.image[..., 0], [[1, 2, 3], [4, 5, 6]])


@pytest.mark.parametrize("mutate", [
    lambda m: setattr(m, "encoding", "16UC1"),
    lambda m: setattr(m, "step", m.step - 1),
    lambda m: setattr(m, "height", m.height + 1),
    lambda m: setattr(m, "width", 0),
    lambda m: setattr(m, "data", bytes(10)),
])
def test_malformed_images_raise_conversion_error(mutate):
    msg = frame_to_image(random_frame())
    mutate(msg)
    with pytest.raises(ConversionError):
        image_to_frame(msg, LIMITS)


def test_compressed_round_trip_and_garbage():
    frame = Frame(np.full((24, 32, 3), (200, 30, 30), np.uint8), 5.0, "cam")
    back = compressed_to_frame(frame_to_compressed(frame, 95), LIMITS)
    assert np.abs(back.image.astype(int) - frame.image).mean() < 4
    garbage = CompressedImage(format="jpeg")
    garbage.data = b"not a jpeg at all"
    with pytest.raises(ConversionError):
        compressed_to_frame(garbage, LIMITS)


@pytest.mark.parametrize("fmt, tolerance", [("f32", 0.0), ("s16", 1e-4)])
def test_audio_round_trip(fmt, tolerance):
    samples = np.linspace(-0.9, 0.9, 800, dtype=np.float32).reshape(400, 2)
    msg = chunk_to_audio(AudioChunk(samples, 16000, 3.25, "mic"), fmt)
    back = audio_to_chunk(msg, 16000, LIMITS)
    assert back.samples.shape == (400, 2) and back.stamp == pytest.approx(3.25)
    np.testing.assert_allclose(back.samples, samples, atol=tolerance)


def test_bad_audio_is_rejected():
    msg = chunk_to_audio(AudioChunk(np.zeros((100, 1), np.float32), 16000, 1.0))
    nan = chunk_to_audio(AudioChunk(np.full((100, 1), np.nan, np.float32), 16000, 1.0))
    odd = chunk_to_audio(AudioChunk(np.zeros((100, 1), np.float32), 16000, 1.0))
    odd.data = bytes(401)
    wrong = chunk_to_audio(AudioChunk(np.zeros((100, 1), np.float32), 16000, 1.0))
    wrong.encoding = "64FC1"
    for bad in (nan, odd, wrong):
        with pytest.raises(ConversionError):
            audio_to_chunk(bad, 16000, LIMITS)
    with pytest.raises(ConversionError):
        audio_to_chunk(msg, 100, LIMITS)


def test_audio_info_round_trip_and_errors():
    info = parse_audio_info(audio_info_json(16000, 1, "f32", 1600, "mic"))
    assert info["rate"] == 16000 and info["channels"] == 1
    for text in ("{", '{"rate": "fast"}', '{"rate": 5}'):
        with pytest.raises(ConversionError):
            parse_audio_info(text)


def test_twist_conversions_keep_unused_axes_zero():
    msg = twist_to_msg(Twist2D(0.4, -0.2))
    assert (msg.linear.y, msg.linear.z, msg.angular.x, msg.angular.y) == (0.0, 0.0, 0.0, 0.0)
    assert twist_from_msg(msg) == Twist2D(0.4, -0.2)
    stamped = twist_stamped_to_msg(Twist2D(0.1, 0.2), 7.5, "base_link")
    assert isinstance(stamped, TwistStamped) and twist_from_msg(stamped) == Twist2D(0.1, 0.2)
    assert to_seconds(stamped.header.stamp) == pytest.approx(7.5)


def test_stamp_round_trip():
    for t in (0.0, 1.5, 1795905812.846432372, 3.9999999999):
        assert to_seconds(to_stamp(t)) == pytest.approx(t, abs=1e-9)


def test_camera_info_and_roi():
    info = camera_info_for(random_frame(240, 320), math.radians(60))
    assert info.k[0] == pytest.approx(160 / math.tan(math.radians(30)))
    roi = box_to_roi((-5, 10, 400, 50), 320, 240)
    assert (roi.x_offset, roi.y_offset, roi.width, roi.height) == (0, 10, 320, 40)


def test_odometry_is_relative_to_the_start_pose():
    from types import SimpleNamespace as Pose

    from mm_robot.ros.conversions import odometry_msg
    msg = odometry_msg(Pose(x=1.0, y=2.0, yaw=math.pi / 2), Pose(x=1.0, y=1.0, yaw=math.pi / 2), 0.3, -0.1, 12.5)
    assert msg.header.frame_id == "odom" and msg.child_frame_id == "base_link"
    assert msg.pose.pose.position.x == pytest.approx(1.0) and msg.pose.pose.position.y == pytest.approx(0.0, abs=1e-9)
    assert msg.pose.pose.orientation.w == pytest.approx(1.0)  # same heading as at the start
    assert (msg.twist.twist.linear.x, msg.twist.twist.angular.z) == (0.3, -0.1)


def test_grounding_markers_point_at_the_target_or_say_not_in_view():
    from mm_robot.core.records import Candidate, Grounding
    from mm_robot.ros.conversions import grounding_to_markers
    target = Candidate("red ball", 0.9, (10, 10, 50, 50), 0.3)
    seen = grounding_to_markers(Grounding("red ball", target, (target,), 5.0, "cam", (320, 240), 0.9))
    arrow, text = seen.markers
    assert arrow.action == arrow.ADD and "red ball" in text.text and arrow.header.frame_id == "cam"
    unseen = grounding_to_markers(Grounding("red ball", None, (), 5.0, "cam", (320, 240), 0.1))
    assert unseen.markers[0].action == unseen.markers[0].DELETE and "not in view" in unseen.markers[1].text
