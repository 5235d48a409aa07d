"""A picture of what a model gets wrong: the in-view samples of a split it failed to ground.

Each tile is one sample at ``scale``× with the true box in green, the model's box in red, and
the command, presence and IoU written above it. A table says *how often*; this says *why*
(an occluded corner, a sliver at the image edge, a look-alike chosen instead).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from .dataset import SplitData

TRUE_BGR = (0, 220, 0)
PREDICTED_BGR = (40, 40, 255)
CAPTION_HEIGHT = 14


def misses(pred: dict[str, np.ndarray], data: SplitData) -> np.ndarray:
    """Indices of in-view samples not grounded (presence < 0.5 or IoU < 0.5), in order."""
    hit = (pred["presence"] >= 0.5) & (pred["iou"] >= 0.5)
    return np.nonzero((data.present > 0.5) & ~hit)[0]


def _tile(image: np.ndarray, true_box: np.ndarray, box: np.ndarray, caption: str, scale: int) -> np.ndarray:
    h, w = image.shape[:2]
    big = cv2.resize(np.ascontiguousarray(image[..., ::-1]), (w * scale, h * scale), interpolation=cv2.INTER_NEAREST)
    size = np.array([w, h, w, h]) * scale
    for b, colour in ((true_box, TRUE_BGR), (box, PREDICTED_BGR)):
        x0, y0, x1, y1 = np.clip(np.round(np.asarray(b) * size), 0, size - 1).astype(int)
        cv2.rectangle(big, (x0, y0), (x1, y1), colour, 1)
    band = np.zeros((CAPTION_HEIGHT, big.shape[1], 3), np.uint8)
    cv2.putText(band, caption, (2, CAPTION_HEIGHT - 4), cv2.FONT_HERSHEY_SIMPLEX, 0.33, (255, 255, 255), 1,
                cv2.LINE_AA)
    return np.vstack([band, big])


def draw_misses(pred: dict[str, np.ndarray], data: SplitData, path: str | Path, limit: int = 24,
                columns: int = 4, scale: int = 3) -> int:
    """Write a grid of up to ``limit`` missed samples to ``path`` (PNG); returns how many were
    missed in all (nothing is written when none was)."""
    missed = misses(pred, data)
    if not len(missed):
        return 0
    tiles = [_tile(data.images[i], data.boxes[i], pred["box"][i],
                   f"{data.texts[i][:34]}  p={pred['presence'][i]:.2f} iou={pred['iou'][i]:.2f}", scale)
             for i in missed[:limit]]
    tiles += [np.zeros_like(tiles[0])] * (-len(tiles) % columns)
    rows = [np.hstack(tiles[k:k + columns]) for k in range(0, len(tiles), columns)]
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), np.vstack(rows)):
        raise OSError(f"could not write {path}")
    return len(missed)
