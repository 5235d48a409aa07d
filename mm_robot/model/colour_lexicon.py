"""Colour words in a command -> colour coordinates, from the colour-name tables matplotlib ships.

A frozen sentence encoder knows little about colour: all-MiniLM-L6-v2 puts "scarlet" as near
to blue as to red. A table of colour names knows exactly. The XKCD colour survey (949 names
that people actually typed for sRGB colours) and the CSS4 names give every colour phrase of a
command an sRGB value; the fusion model turns each into one extra command token (sRGB plus
CIELAB, see ``colour_features``). A colour word the model never saw while training then lands
beside the training words of similar colour, and so on the right pixels.

Matching is greedy, longest phrase first ("royal blue" before "blue"), on lower-case words.
"""

from __future__ import annotations

import re
from functools import lru_cache

import numpy as np

from .phrase_match import match_phrases

MAX_PHRASE_WORDS = 4
FEATURE_DIM = 6  # sRGB (3) + CIELAB scaled to about [-1, 1] (3)
_NAME = re.compile(r"[a-z]+( [a-z]+)*")


@lru_cache(maxsize=1)
def survey_colours() -> dict[str, tuple[float, float, float]]:
    """The XKCD colour survey's names -> sRGB in [0, 1], without names commands never say
    ("blue/green", "robin's egg")."""
    from matplotlib.colors import XKCD_COLORS, to_rgb

    names = ((name.removeprefix("xkcd:"), hex_code) for name, hex_code in XKCD_COLORS.items())
    return {name: tuple(float(v) for v in to_rgb(hex_code)) for name, hex_code in names if _NAME.fullmatch(name)}


@lru_cache(maxsize=1)
def colour_table() -> dict[str, tuple[float, float, float]]:
    """Colour name -> sRGB in [0, 1]: the XKCD survey's names, then CSS4 names it lacks."""
    from matplotlib.colors import CSS4_COLORS, to_rgb

    table = dict(survey_colours())
    for name, hex_code in CSS4_COLORS.items():
        table.setdefault(name.lower(), tuple(float(v) for v in to_rgb(hex_code)))
    return table


def find_colours(text: str) -> list[tuple[str, tuple[float, float, float]]]:
    """The colour phrases of ``text`` in order, each with its sRGB, longest match first."""
    return match_phrases(text, colour_table().get, MAX_PHRASE_WORDS)


def srgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """sRGB (..., 3) in [0, 1] -> CIELAB (..., 3) under D65 (L in [0, 100], a/b about [-128, 127])."""
    rgb = np.asarray(rgb, dtype=np.float64)
    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    xyz = linear @ np.array([[0.4124, 0.3576, 0.1805],
                             [0.2126, 0.7152, 0.0722],
                             [0.0193, 0.1192, 0.9505]]).T
    xyz = xyz / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], axis=-1)


def colour_features(rgb: tuple[float, float, float]) -> np.ndarray:
    """One colour as a (6,) float32 vector: sRGB, and CIELAB scaled so each axis spans about [-1, 1]
    (CIELAB distances follow perceived difference, which sRGB distances do not)."""
    lab = srgb_to_lab(np.asarray(rgb)) / np.array([50.0, 100.0, 100.0]) - np.array([1.0, 0.0, 0.0])
    return np.concatenate([np.asarray(rgb, dtype=np.float64), lab]).astype(np.float32)
