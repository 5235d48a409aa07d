"""camera_node: publishes camera/image_raw + camera/camera_info (and optionally JPEG)."""

from __future__ import annotations

import math
import time

from geometry_msgs.msg import Twist
from rclpy.node import Node
from sensor_msgs.msg import CameraInfo, CompressedImage, Image

from ..core.config import ConfigError
from ..core.counters import ErrorLog
from ..core.records import Frame
from ..ros import qos
from ..ros.conversions import camera_info_for, frame_to_compressed, frame_to_image, twist_from_msg
from ..ros.diagnostics import ERROR, WARN, Health, start_diagnostics
from ..ros.node_main import run_node
from ..ros.params import declare_config
from ..ros.time import now_seconds
from ..sources.camera import CameraConfig, SyntheticSource, make_source


class CameraNode(Node):
    def __init__(self) -> None:
        super().__init__("camera_node")
        self.config: CameraConfig = declare_config(self, CameraConfig)
        try:
            self.source = make_source(self.config)
        except ValueError as error:
            raise ConfigError(f"camera_node: {error}") from None
        self.errors = ErrorLog(self.get_logger().warning)
        self.image_pub = self.create_publisher(Image, "camera/image_raw", qos.SENSOR_PUB)
        self.info_pub = self.create_publisher(CameraInfo, "camera/camera_info", qos.SENSOR_PUB)
        self.jpeg_pub = (self.create_publisher(CompressedImage, "camera/image_raw/compressed", qos.SENSOR_PUB)
                         if self.config.publish_compressed else None)
        self.published = 0
        self._failures_reported = 0
        self._last_drive = None
        if isinstance(self.source, SyntheticSource) and self.config.synthetic_drive:
            self.create_subscription(Twist, "cmd_vel", self._on_cmd_vel, qos.COMMAND_VELOCITY)
        self.create_timer(1.0 / self.config.rate_hz, self._tick)
        start_diagnostics(self, self._health)
        self.get_logger().info(f"camera source {self.config.source!r} at {self.config.rate_hz} Hz")

    def _on_cmd_vel(self, msg: Twist) -> None:
        """Move the synthetic camera by the velocity held since the previous message."""
        now = time.monotonic()
        if self._last_drive is not None:
            held, since = self._last_drive
            self.source.drive(held.linear, held.angular, min(0.2, now - since))
        twist = twist_from_msg(msg)
        if math.isfinite(twist.linear) and math.isfinite(twist.angular):
            self._last_drive = (twist, now)

    def _tick(self) -> None:
        now = now_seconds(self)
        image = self.source.read(time.monotonic())
        if image is None:
            # Count open attempts, not ticks: while the source backs off, reads make no attempt.
            while self._failures_reported < self.source.failed_attempts:
                self._failures_reported += 1
                self.errors.report("capture", self.source.last_error or "no frame", now)
            return
        frame = Frame(image, now, self.config.frame_id)
        self.image_pub.publish(frame_to_image(frame))
        self.info_pub.publish(camera_info_for(frame, math.radians(self.config.hfov_deg)))
        if self.jpeg_pub is not None:
            self.jpeg_pub.publish(frame_to_compressed(frame, self.config.jpeg_quality))
        self.published += 1

    def _health(self) -> Health:
        health = Health(values={"source": self.config.source, "frames_published": self.published,
                                "capture_errors": self.errors.total})
        if self.errors.counts and self.published == 0:
            health.raise_to(ERROR, self.source.last_error or "no frames")
        elif self.source.last_error:
            health.raise_to(WARN, self.source.last_error)
        return health

    def shutdown_hook(self) -> None:
        self.source.close()


def main(args=None) -> int:
    return run_node(CameraNode, args)


if __name__ == "__main__":
    raise SystemExit(main())
