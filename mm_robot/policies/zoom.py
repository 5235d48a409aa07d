"""Coarse to fine: magnified crops of a frame, for targets too small for the model's input.

At the model's 96 x 128 input a target 3 m away is a few pixels tall. The crops lie along the
middle band where a distant object stands on a level camera's image, and each is resized to the
model's input, which magnifies it (:data:`CROPS`). A box found in a crop is
mapped back to the frame; it counts only if it is small in the whole frame (a taller one is the
whole frame's to find) and clear of the crop's edges (a cut object can look like another shape:
a sliver of a box reads as a cylinder).
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from ..model.processing import resize_image

# Normalised (x0, y0, x1, y1): three half-size crops (2x), then five at 0.3 of the frame (3.3x),
# overlapping, along the band where a distant object stands. At 320 x 240 a target 10 px tall
# is about 13 px tall in the small crops' model input, where the shipped model finds it.
HALF_CROPS = tuple((x, 0.25, x + 0.5, 0.75) for x in (0.0, 0.25, 0.5))
CROPS = HALF_CROPS + tuple((x, 0.375, x + 0.3, 0.675) for x in (0.0, 0.175, 0.35, 0.525, 0.7))
MAX_HEIGHT = 0.15  # of the frame's height: taller targets are the whole frame's to find
EDGE = 0.03  # of a crop: a box this close to an edge of its crop is a cut object

Box = tuple[float, float, float, float]


def crops_of(width: int, height: int, crops: Sequence[Box] = CROPS) -> list[tuple[int, int, int, int]]:
    """The pixel windows (x0, y0, x1, y1) of ``crops`` in a ``width`` x ``height`` frame."""
    return [(int(x0 * width), int(y0 * height), int(x1 * width), int(y1 * height)) for x0, y0, x1, y1 in crops]


def magnified(image: np.ndarray, height: int, width: int, crops: Sequence[Box] = CROPS
              ) -> tuple[np.ndarray, list[tuple[int, int, int, int]]]:
    """(``crops`` resized to ``height`` x ``width``, as a (C, height, width, 3) batch; their windows)."""
    windows = crops_of(image.shape[1], image.shape[0], crops)
    return np.stack([resize_image(image[y0:y1, x0:x1], height, width) for x0, y0, x1, y1 in windows]), windows


def in_frame(window: tuple[int, int, int, int], box: Sequence[float], width: int, height: int) -> Optional[Box]:
    """A box found in a crop (normalised to the crop) as a normalised box of the frame, or None
    when it touches an edge of the crop (also where that is the frame's: a sliver at the frame's
    edge waits until the robot has turned) or is too tall to need the crop."""
    x0, y0, x1, y1 = window
    bx0, by0, bx1, by1 = (float(v) for v in box)
    cut = bx0 < EDGE or by0 < EDGE or bx1 > 1 - EDGE or by1 > 1 - EDGE
    framed = ((x0 + bx0 * (x1 - x0)) / width, (y0 + by0 * (y1 - y0)) / height,
              (x0 + bx1 * (x1 - x0)) / width, (y0 + by1 * (y1 - y0)) / height)
    return None if cut or framed[3] - framed[1] > MAX_HEIGHT else framed
