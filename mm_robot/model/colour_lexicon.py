"""Colour words in a command -> colour coordinates, from the colour-name tables matplotlib ships.

A frozen sentence encoder knows little about colour: all-MiniLM-L6-v2 puts "scarlet" as near
to blue as to red. A table of colour names knows exactly. The XKCD colour survey (949 names
that people actually typed for sRGB colours) and the CSS4 names give every colour phrase of a
command an sRGB value (``mm_robot.core.lexicon``); the fusion model turns each into one extra
command token (sRGB plus CIELAB, see ``colour_features``). A colour word the model never saw
while training then lands beside the training words of similar colour, and so on the right pixels.
"""

from __future__ import annotations

import numpy as np

from ..core.lexicon import colour_table, find_colours, srgb_to_lab, survey_colours

FEATURE_DIM = 6  # sRGB (3) + CIELAB scaled to about [-1, 1] (3)
__all__ = ["FEATURE_DIM", "colour_features", "colour_table", "find_colours", "srgb_to_lab", "survey_colours"]


def colour_features(rgb: tuple[float, float, float]) -> np.ndarray:
    """One colour as a (6,) float32 vector: sRGB, and CIELAB scaled so each axis spans about [-1, 1]
    (CIELAB distances follow perceived difference, which sRGB distances do not)."""
    lab = srgb_to_lab(np.asarray(rgb)) / np.array([50.0, 100.0, 100.0]) - np.array([1.0, 0.0, 0.0])
    return np.concatenate([np.asarray(rgb, dtype=np.float64), lab]).astype(np.float32)
