"""Conversions between ROS messages and mm_robot records (convention 5).

Every function validates before it converts and raises :class:`ConversionError`
(an :class:`~mm_robot.core.validation.InputError`) on malformed input. Pixel data is
read through numpy views over the message bytes: no per-pixel Python loops.

Audio format (``audio/raw``): a ``sensor_msgs/Image`` used as a typed container,
one row of "pixels", one pixel per audio frame and one channel per microphone:
``height=1``, ``width=frames``, ``encoding="32FC<channels>"`` (float32 in [-1, 1])
or ``"16SC<channels>"`` (int16), ``step=frames*channels*bytes``,
``header.stamp`` = capture time of the first frame, ``header.frame_id`` = the
microphone frame. The sample rate and the rest are on the latched ``audio/info``
topic (``std_msgs/String`` JSON, see :func:`audio_info_json`).
"""

from __future__ import annotations

import json
import math
import re

import cv2
import numpy as np
from geometry_msgs.msg import Twist, TwistStamped
from nav_msgs.msg import Odometry
from sensor_msgs.msg import CameraInfo, CompressedImage, Image, RegionOfInterest
from visualization_msgs.msg import Marker, MarkerArray

from ..core.camera_model import CameraModel, CameraModelError
from ..core.records import AudioChunk, Frame, Grounding, Twist2D
from ..core.validation import InputError, InputLimits, check_audio, check_image_layout, parse_json_object
from .time import to_seconds, to_stamp

try:  # only in a full ROS install: vision_msgs is not a wheel
    from vision_msgs.msg import Detection2D, Detection2DArray, ObjectHypothesisWithPose
except ImportError:  # pragma: no cover - depends on the install
    Detection2DArray = None

AUDIO_SCHEMA = "mm_robot/audio/1"


class ConversionError(InputError):
    """A message could not be converted; ``kind`` names the rule it broke."""


def image_to_frame(msg: Image, limits: InputLimits) -> Frame:
    """sensor_msgs/Image -> Frame with an (H, W, 3) RGB uint8 array."""
    data = msg.data
    nbytes = len(data)
    try:
        channels, _ = check_image_layout(msg.encoding, msg.width, msg.height, msg.step, nbytes, limits)
    except InputError as error:
        raise ConversionError(error.kind, str(error)) from None
    buffer = np.frombuffer(data, dtype=np.uint8)
    # (H, step) -> crop padding -> (H, W, C)
    pixels = buffer.reshape(msg.height, msg.step)[:, : msg.width * channels]
    pixels = pixels.reshape(msg.height, msg.width, channels)
    rgb = _to_rgb(pixels, msg.encoding)
    return Frame(rgb, to_seconds(msg.header.stamp), msg.header.frame_id)


def _to_rgb(pixels: np.ndarray, encoding: str) -> np.ndarray:
    if encoding == "rgb8":
        return np.ascontiguousarray(pixels)
    code = {"bgr8": cv2.COLOR_BGR2RGB, "rgba8": cv2.COLOR_RGBA2RGB, "bgra8": cv2.COLOR_BGRA2RGB,
            "mono8": cv2.COLOR_GRAY2RGB}[encoding]
    return cv2.cvtColor(np.ascontiguousarray(pixels), code)


def compressed_to_frame(msg: CompressedImage, limits: InputLimits) -> Frame:
    """sensor_msgs/CompressedImage (JPEG/PNG) -> Frame; size-checked before and after decoding."""
    nbytes = len(msg.data)
    if nbytes == 0 or nbytes > limits.max_image_bytes:
        raise ConversionError("size", f"compressed payload of {nbytes} B outside 1..{limits.max_image_bytes}")
    encoded = np.frombuffer(msg.data, dtype=np.uint8)
    bgr = cv2.imdecode(encoded, cv2.IMREAD_COLOR)
    if bgr is None:
        raise ConversionError("decode", f"could not decode compressed image (format {msg.format!r})")
    height, width = bgr.shape[:2]
    if width > limits.max_image_width or height > limits.max_image_height:
        raise ConversionError("size", f"decoded image {width}x{height} exceeds the limits")
    return Frame(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), to_seconds(msg.header.stamp), msg.header.frame_id)


def frame_to_image(frame: Frame, encoding: str = "rgb8") -> Image:
    """Frame -> sensor_msgs/Image (rgb8 or bgr8)."""
    pixels = frame.image if encoding == "rgb8" else cv2.cvtColor(frame.image, cv2.COLOR_RGB2BGR)
    msg = Image()
    msg.header.stamp = to_stamp(frame.stamp)
    msg.header.frame_id = frame.frame_id
    msg.height, msg.width = int(pixels.shape[0]), int(pixels.shape[1])
    msg.encoding = encoding
    msg.is_bigendian = 0
    msg.step = msg.width * 3
    msg.data = np.ascontiguousarray(pixels).tobytes()  # bytes assignment is the fast path
    return msg


def frame_to_compressed(frame: Frame, quality: int = 80) -> CompressedImage:
    ok, encoded = cv2.imencode(".jpg", cv2.cvtColor(frame.image, cv2.COLOR_RGB2BGR),
                               [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise ConversionError("encode", "JPEG encoding failed")
    msg = CompressedImage()
    msg.header.stamp = to_stamp(frame.stamp)
    msg.header.frame_id = frame.frame_id
    msg.format = "rgb8; jpeg compressed bgr8"
    msg.data = encoded.tobytes()
    return msg


def camera_info_to_model(msg: CameraInfo) -> CameraModel:
    """The pinhole intrinsics of a ``camera_info`` (K, width, height); bad ones raise
    :class:`ConversionError`."""
    try:
        return CameraModel.from_k(list(msg.k), int(msg.width), int(msg.height))
    except CameraModelError as error:
        raise ConversionError("camera_info", str(error)) from None


def camera_info_for(frame: Frame, hfov: float) -> CameraInfo:
    """Pinhole CameraInfo for a frame from its horizontal field of view (radians)."""
    width, height = frame.width, frame.height
    focal = (width / 2.0) / math.tan(hfov / 2.0)
    cx, cy = width / 2.0, height / 2.0
    msg = CameraInfo()
    msg.header.stamp = to_stamp(frame.stamp)
    msg.header.frame_id = frame.frame_id
    msg.width, msg.height = width, height
    msg.distortion_model = "plumb_bob"
    msg.d = [0.0] * 5
    msg.k = [focal, 0.0, cx, 0.0, focal, cy, 0.0, 0.0, 1.0]
    msg.r = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]
    msg.p = [focal, 0.0, cx, 0.0, 0.0, focal, cy, 0.0, 0.0, 0.0, 1.0, 0.0]
    return msg


_AUDIO_ENCODING = re.compile(r"^(32F|16S)C([1-8])$")


def chunk_to_audio(chunk: AudioChunk, sample_format: str = "f32") -> Image:
    """AudioChunk -> audio/raw message (see the module docstring for the layout)."""
    frames, channels = chunk.samples.shape
    msg = Image()
    msg.header.stamp = to_stamp(chunk.stamp)
    msg.header.frame_id = chunk.frame_id
    msg.height, msg.width = 1, frames
    if sample_format == "s16":
        payload = (np.clip(chunk.samples, -1.0, 1.0) * 32767.0).astype("<i2")
        msg.encoding = f"16SC{channels}"
    else:
        payload = chunk.samples.astype("<f4")
        msg.encoding = f"32FC{channels}"
    msg.is_bigendian = 0
    msg.step = frames * channels * payload.itemsize
    msg.data = payload.tobytes()
    return msg


def audio_to_chunk(msg: Image, rate: int, limits: InputLimits) -> AudioChunk:
    """audio/raw message -> AudioChunk with float32 samples (frames, channels); validated (R7)."""
    match = _AUDIO_ENCODING.match(msg.encoding)
    if match is None:
        raise ConversionError("audio_format", f"unsupported audio encoding {msg.encoding!r}")
    dtype = np.dtype("<f4") if match.group(1) == "32F" else np.dtype("<i2")
    channels = int(match.group(2))
    nbytes = len(msg.data)
    if msg.height != 1 or msg.width == 0 or msg.step != msg.width * channels * dtype.itemsize \
            or nbytes != msg.step:
        raise ConversionError("audio_layout", f"audio layout height={msg.height} width={msg.width} "
                              f"step={msg.step} bytes={nbytes} is inconsistent with {msg.encoding}")
    samples = np.frombuffer(msg.data, dtype=dtype).reshape(msg.width, channels)  # (frames, channels)
    if dtype.kind == "i":
        samples = samples.astype(np.float32) / 32768.0
    try:
        samples = check_audio(samples, rate, limits)
    except InputError as error:
        raise ConversionError(error.kind, str(error)) from None
    return AudioChunk(samples, rate, to_seconds(msg.header.stamp), msg.header.frame_id)


def audio_info_json(rate: int, channels: int, sample_format: str, chunk_frames: int,
                    frame_id: str) -> str:
    """The latched audio/info document that makes audio/raw self-describing."""
    return json.dumps({"schema": AUDIO_SCHEMA, "rate": rate, "channels": channels,
                       "format": sample_format, "chunk_frames": chunk_frames, "frame_id": frame_id,
                       "layout": "sensor_msgs/Image, height=1, width=frames, encoding 32FC<ch>|16SC<ch>"})


def parse_audio_info(text: str) -> dict:
    """The audio/info document, size- and depth-checked before decoding; ``rate`` an int."""
    try:
        info = parse_json_object(text, {"rate": float}, max_bytes=4096)
    except InputError as error:
        raise ConversionError(error.kind, f"bad audio/info document: {error}") from None
    rate = info["rate"]
    if not 4000 <= rate <= 192000 or rate != int(rate):  # NaN and inf fail the range first
        raise ConversionError("audio_info", f"audio/info rate {rate} outside 4000..192000")
    info["rate"] = int(rate)
    return info


def twist_from_msg(msg: Twist | TwistStamped) -> Twist2D:
    twist = msg.twist if isinstance(msg, TwistStamped) else msg
    return Twist2D(float(twist.linear.x), float(twist.angular.z))


def twist_to_msg(twist: Twist2D) -> Twist:
    """Only linear.x and angular.z are ever non-zero: unused axes stay zero (R4)."""
    msg = Twist()
    msg.linear.x = float(twist.linear)
    msg.angular.z = float(twist.angular)
    return msg


def twist_stamped_to_msg(twist: Twist2D, stamp: float, frame_id: str) -> TwistStamped:
    msg = TwistStamped()
    msg.header.stamp = to_stamp(stamp)
    msg.header.frame_id = frame_id
    msg.twist = twist_to_msg(twist)
    return msg


def box_to_roi(box: tuple[int, int, int, int], width: int, height: int) -> RegionOfInterest:
    x0, y0 = max(0, int(box[0])), max(0, int(box[1]))
    x1, y1 = min(width, int(box[2])), min(height, int(box[3]))
    return RegionOfInterest(x_offset=x0, y_offset=y0, width=max(0, x1 - x0), height=max(0, y1 - y0),
                            do_rectify=False)


def odometry_msg(pose, origin, linear: float, angular: float, stamp: float) -> Odometry:
    """nav_msgs/Odometry of ``pose`` (x, y, yaw in the world) relative to ``origin`` (the start pose:
    the odom frame), with the base-frame velocity; frames ``odom`` -> ``base_link``."""
    dx, dy = pose.x - origin.x, pose.y - origin.y
    x = math.cos(origin.yaw) * dx + math.sin(origin.yaw) * dy
    y = -math.sin(origin.yaw) * dx + math.cos(origin.yaw) * dy
    yaw = math.remainder(pose.yaw - origin.yaw, 2 * math.pi)
    msg = Odometry()
    msg.header.stamp = to_stamp(stamp)
    msg.header.frame_id = "odom"
    msg.child_frame_id = "base_link"
    msg.pose.pose.position.x, msg.pose.pose.position.y = x, y
    msg.pose.pose.orientation.z, msg.pose.pose.orientation.w = math.sin(yaw / 2), math.cos(yaw / 2)
    msg.twist.twist.linear.x = float(linear)
    msg.twist.twist.angular.z = float(angular)
    return msg


def grounding_to_markers(grounding: Grounding) -> MarkerArray:
    """An arrow along the target's bearing and a text label, in the camera frame (RViz / Foxglove)."""
    array = MarkerArray()
    stamp = to_stamp(grounding.stamp)
    arrow = Marker(ns="mm_robot", id=0, type=Marker.ARROW)
    text = Marker(ns="mm_robot", id=1, type=Marker.TEXT_VIEW_FACING)
    for marker in (arrow, text):
        marker.header.stamp, marker.header.frame_id = stamp, grounding.frame_id
        marker.color.a = 1.0
    if grounding.target is None:
        arrow.action = Marker.DELETE
        text.text = f"'{grounding.phrase}': not in view"
    else:
        bearing = grounding.target.bearing  # optical frame: z forward, x right
        arrow.scale.x, arrow.scale.y, arrow.scale.z = 1.0, 0.05, 0.05
        arrow.pose.orientation.y = math.sin(-(math.pi / 2 - bearing) / 2)
        arrow.pose.orientation.w = math.cos(-(math.pi / 2 - bearing) / 2)
        arrow.color.g = 1.0
        text.text = f"{grounding.target.label} ({grounding.target.score:.2f})"
        text.pose.position.x, text.pose.position.z = -math.sin(bearing), math.cos(bearing)
    text.scale.z = 0.1
    text.color.r = text.color.g = text.color.b = 1.0
    array.markers = [arrow, text]
    return array


def grounding_to_detections(grounding: Grounding):  # pragma: no cover - needs vision_msgs
    """vision_msgs/Detection2DArray of every candidate; the target's class id is the phrase."""
    array = Detection2DArray()
    array.header.stamp, array.header.frame_id = to_stamp(grounding.stamp), grounding.frame_id
    for candidate in grounding.candidates:
        detection = Detection2D()
        detection.header = array.header
        x0, y0, x1, y1 = candidate.box
        detection.bbox.center.position.x, detection.bbox.center.position.y = (x0 + x1) / 2, (y0 + y1) / 2
        detection.bbox.size_x, detection.bbox.size_y = float(x1 - x0), float(y1 - y0)
        hypothesis = ObjectHypothesisWithPose()
        hypothesis.hypothesis.class_id = grounding.phrase if candidate is grounding.target else candidate.label
        hypothesis.hypothesis.score = float(candidate.score)
        detection.results = [hypothesis]
        array.detections.append(detection)
    return array
