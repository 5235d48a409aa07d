"""Camera sources behind one interface: synthetic scene, device, file or stream."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Protocol

import cv2
import numpy as np

from ..core.config import setting
from .synthetic_scene import DEFAULT_SCENE, SyntheticScene, parse_scene
from .video import VideoSource


@dataclass(frozen=True)
class CameraConfig:
    source: str = setting("synthetic", "'synthetic', a device index ('0'), a video file path or a "
                          "stream URL.", read_only=True)
    rate_hz: float = setting(15.0, "Frames published per second.", low=0.5, high=120.0)
    width: int = setting(320, "Published image width (px); frames are resized to it.", low=16, high=4096)
    height: int = setting(240, "Published image height (px).", low=16, high=4096)
    hfov_deg: float = setting(60.0, "Horizontal field of view (degrees), for camera_info.", low=10.0,
                              high=170.0)
    frame_id: str = setting("camera_optical_frame", "frame_id of the images.")
    publish_compressed: bool = setting(False, "Also publish camera/image_raw/compressed (JPEG).")
    jpeg_quality: int = setting(80, "JPEG quality of the compressed stream.", low=1, high=100)
    synthetic_scene: str = setting(DEFAULT_SCENE, "Synthetic objects: 'colour shape x y [radius]; ...' "
                                   "(metres; the camera starts at the origin looking along +x).")
    synthetic_drive: bool = setting(True, "Synthetic mode: move the camera by the cmd_vel it hears, "
                                    "like a robot would.")


class FrameSource(Protocol):
    last_error: str
    failed_attempts: int  # failed open attempts (and lost streams), not reads without a frame

    def read(self, now: float) -> Optional[np.ndarray]: ...

    def close(self) -> None: ...


class SyntheticSource:
    """Renders the synthetic scene; ``drive`` moves it like a robot base."""

    def __init__(self, config: CameraConfig):
        self.scene = SyntheticScene(parse_scene(config.synthetic_scene), width=config.width,
                                    height=config.height, hfov=math.radians(config.hfov_deg))
        self.last_error = ""
        self.failed_attempts = 0

    def read(self, now: float) -> Optional[np.ndarray]:
        return self.scene.render()

    def drive(self, linear: float, angular: float, dt: float) -> None:
        self.scene.step(linear, angular, dt)

    def close(self) -> None:
        pass


class ResizingVideoSource(VideoSource):
    def __init__(self, config: CameraConfig):
        super().__init__(config.source, width=config.width, height=config.height)
        self.target = (config.width, config.height)

    def read(self, now: float) -> Optional[np.ndarray]:
        frame = super().read(now)
        if frame is not None and (frame.shape[1], frame.shape[0]) != self.target:
            frame = cv2.resize(frame, self.target, interpolation=cv2.INTER_AREA)
        return frame


def make_source(config: CameraConfig) -> SyntheticSource | ResizingVideoSource:
    """Build the configured source; a bad synthetic scene raises ValueError at startup."""
    if config.source == "synthetic":
        return SyntheticSource(config)
    return ResizingVideoSource(config)
