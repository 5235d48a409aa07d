"""Draw grounding results onto an image (debug image topic, sim videos)."""

from __future__ import annotations

from typing import Optional

import cv2
import numpy as np

from ..core.records import Decision, Grounding


def draw_overlay(image: np.ndarray, grounding: Optional[Grounding], decision: Optional[Decision]) -> np.ndarray:
    """Return a copy of ``image`` (H, W, 3 RGB) with candidates, the target and the decision."""
    canvas = image.copy()
    if grounding is not None:
        for candidate in grounding.candidates:
            x0, y0, x1, y1 = candidate.box
            cv2.rectangle(canvas, (x0, y0), (x1, y1), (200, 200, 200), 1)
        if grounding.target is not None:
            x0, y0, x1, y1 = grounding.target.box
            cv2.rectangle(canvas, (x0, y0), (x1, y1), (0, 255, 0), 2)
            cv2.putText(canvas, f"{grounding.target.label} {grounding.target.score:.2f}",
                        (x0, max(10, y0 - 4)), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 255, 0), 1, cv2.LINE_AA)
    if decision is not None:
        text = f"{decision.action.value} v={decision.linear:+.2f} w={decision.angular:+.2f}"
        cv2.putText(canvas, text, (4, canvas.shape[0] - 6), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 0), 1,
                    cv2.LINE_AA)
    return canvas
