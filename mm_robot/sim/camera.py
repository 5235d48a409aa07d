"""Camera model and per-object boxes from MuJoCo's segmentation rendering.

Pixel convention: column ``u`` covers [u, u + 1); the optical centre is at
(width / 2, height / 2). Boxes are ``(x_min, y_min, x_max, y_max)`` with the max *exclusive*
(``x_max - x_min`` is the width in pixels), so the box centre ``(x_min + x_max) / 2`` is a
continuous coordinate that :func:`mm_robot.core.steering.bearing_of` reads directly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .spec import CameraSpec


@dataclass(frozen=True)
class Box:
    """A 2-D box in pixels (max exclusive) and how many pixels of the object are visible."""

    x_min: int
    y_min: int
    x_max: int
    y_max: int
    pixels: int

    @property
    def centre(self) -> tuple[float, float]:
        return (self.x_min + self.x_max) / 2.0, (self.y_min + self.y_max) / 2.0

    @property
    def width(self) -> int:
        return self.x_max - self.x_min

    @property
    def height(self) -> int:
        return self.y_max - self.y_min

    def as_tuple(self) -> tuple[int, int, int, int]:
        return (self.x_min, self.y_min, self.x_max, self.y_max)


def intrinsics(camera: CameraSpec) -> np.ndarray:
    """The 3×3 pinhole matrix K (fx = fy, principal point at the image centre)."""
    f = camera.focal
    return np.array([[f, 0.0, camera.width / 2.0], [0.0, f, camera.height / 2.0], [0.0, 0.0, 1.0]])


def camera_info(camera: CameraSpec, frame_id: str = "camera_optical") -> dict:
    """sensor_msgs/CameraInfo fields for an undistorted pinhole camera (plain data)."""
    k = intrinsics(camera)
    p = np.zeros((3, 4))
    p[:, :3] = k
    return {"width": camera.width, "height": camera.height, "distortion_model": "plumb_bob",
            "d": [0.0] * 5, "k": k.flatten().tolist(), "r": np.eye(3).flatten().tolist(),
            "p": p.flatten().tolist(), "frame_id": frame_id}


def project(camera: CameraSpec, forward: float, left: float, up: float) -> tuple[float, float] | None:
    """Pixel (u, v) of a point in the camera's body frame (x forward, y left, z up), or None
    when it is behind the camera."""
    if forward <= 1e-6:
        return None
    f = camera.focal
    return camera.width / 2.0 - f * left / forward, camera.height / 2.0 - f * up / forward


def boxes_from_labels(labels: np.ndarray, count: int, min_pixels: int = 1) -> dict[int, Box]:
    """Boxes of the labels 0..count-1 in a label image.

    ``labels``: (H, W) integer array, -1 for background. Labels with fewer than
    ``min_pixels`` pixels are left out.
    """
    boxes: dict[int, Box] = {}
    if count == 0:
        return boxes
    flat = labels.ravel()
    valid = flat >= 0
    pixel_counts = np.bincount(flat[valid], minlength=count)
    for index in np.nonzero(pixel_counts >= max(1, min_pixels))[0]:
        mask = labels == index
        rows = np.nonzero(mask.any(axis=1))[0]
        cols = np.nonzero(mask.any(axis=0))[0]
        boxes[int(index)] = Box(int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1,
                                int(pixel_counts[index]))
    return boxes


def geom_label_lookup(geom_to_label: dict[int, int], ngeom: int) -> np.ndarray:
    """An array mapping geom id -> label (-1 for unlabelled), with one extra slot at the end so
    that indexing with geom id -1 ("no geom") also gives -1. Shape (ngeom + 1,)."""
    table = np.full(ngeom + 1, -1, dtype=np.int32)
    for geom, label in geom_to_label.items():
        table[geom] = label
    return table


def horizontal_bearing(camera: CameraSpec, u: float) -> float:
    """Bearing (rad, positive left) of image column ``u``; same as steering.bearing_of."""
    return math.atan2(camera.width / 2.0 - u, camera.focal)
