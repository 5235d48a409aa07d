"""A pinhole camera model from ``camera_info`` (K and the image size): bearings of image columns.

Policies turn pixel columns into bearings with the camera's own intrinsics, so a 45° or a 100°
lens steers as well as the 60° one the package was first written for. ``K`` is the row-major
3x3 intrinsic matrix of ``sensor_msgs/CameraInfo`` (fx, 0, cx, 0, fy, cy, 0, 0, 1). When a frame
comes without intrinsics (a video file, a test image) the policies fall back to
:data:`DEFAULT_HFOV`, the field of view every camera source of this package announces by default.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

DEFAULT_HFOV = math.radians(60.0)


class CameraModelError(ValueError):
    """Intrinsics that describe no usable camera (non-finite, non-positive focal length, ...)."""


@dataclass(frozen=True)
class CameraModel:
    """Pinhole intrinsics in pixels for images of ``width`` x ``height``."""

    fx: float
    fy: float
    cx: float
    cy: float
    width: int
    height: int

    @classmethod
    def from_hfov(cls, width: int, height: int, hfov: float = DEFAULT_HFOV) -> "CameraModel":
        """Square pixels, principal point at the centre, horizontal field of view ``hfov`` (rad)."""
        if not (math.isfinite(hfov) and 0.0 < hfov < math.pi):
            raise CameraModelError(f"horizontal field of view {hfov!r} rad outside (0, pi)")
        focal = (width / 2.0) / math.tan(hfov / 2.0)
        return cls(focal, focal, width / 2.0, height / 2.0, int(width), int(height)).validate()

    @classmethod
    def from_k(cls, k: Sequence[float], width: int, height: int) -> "CameraModel":
        """From ``camera_info``'s K (9 numbers, row-major) and image size."""
        values = [float(v) for v in k]
        if len(values) != 9:
            raise CameraModelError(f"K has {len(values)} numbers, expected 9")
        return cls(values[0], values[4], values[2], values[5], int(width), int(height)).validate()

    def validate(self) -> "CameraModel":
        if not (0 < self.width <= 16384 and 0 < self.height <= 16384):
            raise CameraModelError(f"image size {self.width}x{self.height} outside 1..16384")
        numbers = (self.fx, self.fy, self.cx, self.cy)
        if not all(math.isfinite(v) for v in numbers) or self.fx <= 0.0 or self.fy <= 0.0:
            raise CameraModelError(f"focal lengths must be finite and positive (fx={self.fx}, fy={self.fy})")
        return self

    @property
    def hfov(self) -> float:
        """Horizontal field of view (rad) spanned by the image's columns."""
        return math.atan2(self.cx, self.fx) + math.atan2(self.width - self.cx, self.fx)

    def bearing(self, x_pixel: float) -> float:
        """Bearing of an image column in radians, positive to the left (REP 103)."""
        return math.atan2(self.cx - x_pixel, self.fx)

    def for_size(self, width: int, height: int) -> "CameraModel":
        """The same lens for an image resized to ``width`` x ``height`` (e.g. a scaled stream)."""
        if (width, height) == (self.width, self.height):
            return self
        sx, sy = width / self.width, height / self.height
        return CameraModel(self.fx * sx, self.fy * sy, self.cx * sx, self.cy * sy, int(width), int(height))


def camera_for(width: int, height: int, model: "CameraModel | None" = None,
               fallback_hfov: float = DEFAULT_HFOV) -> CameraModel:
    """``model`` fitted to a ``width`` x ``height`` image, or a centred lens of ``fallback_hfov``
    when the frame came without intrinsics."""
    if model is not None:
        return model.for_size(width, height)
    return CameraModel.from_hfov(width, height, fallback_hfov)
